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
    method: str
    path: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None

    @classmethod
    def json(
        cls, method: str, path: str, payload: Any, *, headers: Mapping[str, str] | None = None
    ) -> RequestSpec:
        merged = {"Content-Type": "application/json", **(headers or {})}
        return cls(method, path, merged, json.dumps(payload).encode())


@dataclass(frozen=True)
class Target:
    """A goal from the issue text; `None` fields are not part of the goal."""

    min_rps: float | None = None
    max_p95_ms: float | None = None
    source: str = ""

    def describe(self) -> str:
        parts = []
        if self.min_rps is not None:
            parts.append(f"≥ {self.min_rps:,.0f} req/s")
        if self.max_p95_ms is not None:
            parts.append(f"p95 < {self.max_p95_ms:g} ms")
        return ", ".join(parts) or "—"

    def met_by(self, *, rps: float, p95_ms: float) -> bool:
        rps_ok = self.min_rps is None or rps >= self.min_rps
        p95_ok = self.max_p95_ms is None or p95_ms < self.max_p95_ms
        return rps_ok and p95_ok


@dataclass
class SetupContext:
    """Handed to `setup`: an HTTP client on the server and a per-run shared cache."""

    client: httpx.Client
    run_id: str
    shared: dict[str, Any] = field(default_factory=dict)


SetupFn = Callable[[SetupContext], Sequence[RequestSpec]]


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    setup: SetupFn
    target: Target | None = None
    concurrency: int = 32

    def __post_init__(self) -> None:
        if not self.name.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"scenario name {self.name!r}: use letters, digits, - and _")


def require_endpoint(response: httpx.Response, what: str) -> None:
    """Skip when the route is missing (404/405 before any domain logic ran)."""
    if response.status_code in (404, 405):
        raise ScenarioSkipped(f"{what} answered {response.status_code}: endpoint not available")


def expect_status(response: httpx.Response, what: str, *statuses: int) -> None:
    if response.status_code not in statuses:
        raise ScenarioSetupError(
            f"{what} answered {response.status_code} (expected {statuses}): {response.text[:300]}"
        )
