"""The scenario API: what a load scenario declares and what its setup may use.

A scenario has a name, a target taken from the issue text (or none), a default
concurrency, and a `setup` function. `setup` runs once against the live server before
the load starts; it may call the API (sign up a clinic, log in) and returns the request
specs the load generator sends round-robin. It raises `ScenarioSkipped` when the
feature it measures does not exist yet, and the report says so.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx


class ScenarioSkipped(Exception):
    """The scenario cannot run on this build (e.g. its endpoint answers 404)."""


class ScenarioSetupError(RuntimeError):
    """Setup failed in a way that is a bug, not a missing feature."""


@dataclass(frozen=True)
class RequestSpec:
    """One request; `then` are requests pipelined right behind it on the same connection
    (one page that needs several calls): the latency is measured until the last answer,
    and every answer counts as a request. All specs of a scenario need the same length."""

    method: str
    path: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None
    then: tuple[RequestSpec, ...] = ()

    @classmethod
    def json(
        cls, method: str, path: str, payload: Any, *, headers: Mapping[str, str] | None = None
    ) -> RequestSpec:
        merged = {"Content-Type": "application/json", **(headers or {})}
        return cls(method, path, merged, json.dumps(payload).encode())

    @property
    def group(self) -> tuple[RequestSpec, ...]:
        return (self, *self.then)


@dataclass(frozen=True)
class Target:
    """A goal from the issue text; `None` fields are not part of the goal."""

    min_rps: float | None = None
    max_p95_ms: float | None = None
    source: str = ""
    p95_inclusive: bool = False  # "p95 ≤ X" rather than "p95 under X"

    def describe(self) -> str:
        parts = []
        if self.min_rps is not None:
            parts.append(f"≥ {self.min_rps:,.0f} req/s")
        if self.max_p95_ms is not None:
            parts.append(f"p95 {'≤' if self.p95_inclusive else '<'} {self.max_p95_ms:g} ms")
        return ", ".join(parts) or "—"

    def met_by(self, *, rps: float, p95_ms: float) -> bool:
        rps_ok = self.min_rps is None or rps >= self.min_rps
        limit = self.max_p95_ms
        p95_ok = limit is None or p95_ms < limit or (self.p95_inclusive and p95_ms == limit)
        return rps_ok and p95_ok


@dataclass
class SetupContext:
    """Handed to `setup`: an HTTP client on the server and a per-run shared cache.

    `owner_dsn` reaches the server's database as the schema owner (for bulk data, see
    datagen.py); `data_profile` names the data set to use; `planned_s` is how long the
    load will run (warmup plus measurement), for scenarios whose requests are single-use.
    Lines a setup appends to `notes` are printed under the scenario in RESULTS.md.
    """

    client: httpx.Client
    run_id: str
    shared: dict[str, Any] = field(default_factory=dict)
    owner_dsn: str | None = None
    data_profile: str = "full"
    planned_s: float = 12.0
    notes: list[str] = field(default_factory=list)


SetupFn = Callable[[SetupContext], Sequence[RequestSpec]]
TeardownFn = Callable[[SetupContext], None]


@dataclass(frozen=True)
class Timing:
    """What a `measure` function reports: `units` things done in `seconds_each` runs."""

    units_per_run: int
    seconds_each: tuple[float, ...]
    failures: int = 0
    failure_detail: str = ""


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    setup: SetupFn
    target: Target | None = None
    concurrency: int = 32
    # Each spec may be sent once (e.g. creates with unique fields): warmup and measurement
    # get disjoint slices of the specs, and a run stops when its slice is used up.
    single_use: bool = False
    # Runs after the load (or a failed one), e.g. to undo what setup changed on the server.
    teardown: TeardownFn | None = None
    # Not an HTTP load: timed by this function instead (e.g. a CLI command over a data
    # set); "requests" in the report are then its units (events verified) and req/s units/s.
    measure: Callable[[SetupContext], Timing] | None = None

    def __post_init__(self) -> None:
        if not self.name.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"scenario name {self.name!r}: use letters, digits, - and _")


@dataclass(frozen=True)
class Comparison:
    """Two scenarios' p95 compared in RESULTS.md (e.g. with and without a feature)."""

    label: str
    baseline: str
    measured: str
    # the target: measured p95 at most baseline p95 x (1 + max_added); None: recorded only
    max_added: float | None
    source: str = ""


def require_endpoint(response: httpx.Response, what: str) -> None:
    """Skip when the route is missing (404/405 before any domain logic ran)."""
    if response.status_code in (404, 405):
        raise ScenarioSkipped(f"{what} answered {response.status_code}: endpoint not available")


def expect_status(response: httpx.Response, what: str, *statuses: int) -> None:
    if response.status_code not in statuses:
        raise ScenarioSetupError(
            f"{what} answered {response.status_code} (expected {statuses}): {response.text[:300]}"
        )
