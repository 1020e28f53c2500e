"""Registered scenarios, run in this order. Add yours to `SCENARIOS`."""

from __future__ import annotations

from benchmarks.scenario import Comparison, Scenario
from benchmarks.scenarios.audit import AUDIT_SCENARIOS
from benchmarks.scenarios.audit import COMPARISONS as AUDIT_COMPARISONS
from benchmarks.scenarios.exercise import COMPARISONS as EXERCISE_COMPARISONS
from benchmarks.scenarios.exercise import EXERCISE_SCENARIOS
from benchmarks.scenarios.health import HEALTH_LIVE, HEALTH_READY
from benchmarks.scenarios.identity import AUTHENTICATED_READ, LOGIN
from benchmarks.scenarios.notification import COMPARISONS as NOTIFICATION_COMPARISONS
from benchmarks.scenarios.notification import NOTIFICATION_SCENARIOS
from benchmarks.scenarios.patients import PATIENT_SCENARIOS
from benchmarks.scenarios.scheduling import SCHEDULING_SCENARIOS

SCENARIOS: tuple[Scenario, ...] = (
    HEALTH_LIVE,
    HEALTH_READY,
    LOGIN,
    AUTHENTICATED_READ,
    *PATIENT_SCENARIOS,
    *SCHEDULING_SCENARIOS,
    *AUDIT_SCENARIOS,
    *EXERCISE_SCENARIOS,
    *NOTIFICATION_SCENARIOS,
)
# p95 of one scenario against another, in the "Overheads" table of RESULTS.md
COMPARISONS: tuple[Comparison, ...] = (
    *AUDIT_COMPARISONS,
    *EXERCISE_COMPARISONS,
    *NOTIFICATION_COMPARISONS,
)


def by_name(name: str) -> Scenario:
    for scenario in SCENARIOS:
        if scenario.name == name:
            return scenario
    known = ", ".join(s.name for s in SCENARIOS)
    raise KeyError(f"unknown scenario {name!r}; known: {known}")
