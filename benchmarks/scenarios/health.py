"""Infrastructure probes: the framework floor (live) and the database round trip (ready)."""

from __future__ import annotations

from collections.abc import Sequence

from benchmarks.scenario import RequestSpec, Scenario, SetupContext, expect_status


def _live_setup(ctx: SetupContext) -> Sequence[RequestSpec]:
    expect_status(ctx.client.get("/health/live"), "GET /health/live", 200)
    return [RequestSpec("GET", "/health/live")]


def _ready_setup(ctx: SetupContext) -> Sequence[RequestSpec]:
    expect_status(ctx.client.get("/health/ready"), "GET /health/ready", 200)
    return [RequestSpec("GET", "/health/ready")]


HEALTH_LIVE = Scenario(
    name="health-live",
    description="GET /health/live: no database; the floor of the HTTP stack and middleware.",
    setup=_live_setup,
    concurrency=32,
)

HEALTH_READY = Scenario(
    name="health-ready",
    description="GET /health/ready: pooled connection, `select 1` and the schema-revision check.",
    setup=_ready_setup,
    concurrency=32,
)
