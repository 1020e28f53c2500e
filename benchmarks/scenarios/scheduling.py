"""Agenda scenarios (issue 5) on two years of history for 10 practitioners
(benchmarks/agenda_data.py) in the 100,000-patient clinic: the day view, a week of
availability, booking, and the 50-way contention burst.

The burst is not a rate: it is measured in the booking scenario's setup (50 concurrent
POSTs for one slot, repeated), and its figures are the notes under that row.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import statistics
import time
from collections import Counter
from collections.abc import Sequence

import httpx

from benchmarks import agenda_data
from benchmarks.agenda_data import TZ, AgendaData
from benchmarks.scenario import (
    RequestSpec,
    Scenario,
    ScenarioSetupError,
    SetupContext,
    Target,
    expect_status,
    require_endpoint,
)
from benchmarks.scenarios.patients import AT_ONE, auth, dataset, rows

__all__ = ["AT_ONE", "BOOKING", "booking_specs"]

ISSUE = "issue 5 (scheduling): 2 cores, 2 years of history for 10 practitioners"
REQUESTS = 2_000
BOOKINGS_PER_SECOND_CAP = 300
BURST, BURSTS = 50, 20


def _agenda(ctx: SetupContext) -> AgendaData:
    cached: AgendaData | None = ctx.shared.get("agenda")
    if cached is None:
        if ctx.owner_dsn is None:
            raise ScenarioSetupError("no owner connection to the bench database")
        cached = agenda_data.ensure_agenda(ctx.owner_dsn, dataset(ctx).largest)
        ctx.shared["agenda"] = cached
    return cached


def _note(ctx: SetupContext, data: AgendaData) -> None:
    ctx.notes.append(
        f"{data.rows:,} appointments for {len(data.practitioners)} practitioners of the "
        f"100,000-patient clinic, {data.first_day} to {data.last_day} (8 a weekday each)."
    )


def _day_setup(ctx: SetupContext) -> Sequence[RequestSpec]:
    data = _agenda(ctx)
    headers = auth(ctx, dataset(ctx).largest)
    rng = random.Random(2026)
    span = (data.last_day - data.first_day).days
    paths = [
        f"/api/v1/agenda?date={data.first_day + dt.timedelta(days=rng.randrange(span))}"
        f"&practitioner_id={rng.choice(data.practitioners)}"
        for _ in range(REQUESTS)
    ]
    probe = ctx.client.get(paths[0], headers=headers)
    require_endpoint(probe, "GET /api/v1/agenda")
    expect_status(probe, "GET /api/v1/agenda", 200)
    _note(ctx, data)
    return [RequestSpec("GET", p, headers) for p in paths]


def _availability_setup(ctx: SetupContext) -> Sequence[RequestSpec]:
    data = _agenda(ctx)
    headers = auth(ctx, dataset(ctx).largest)
    rng = random.Random(2026)
    today = dt.datetime.now(TZ).date()
    monday = today - dt.timedelta(days=today.weekday())
    paths = []
    for _ in range(REQUESTS):
        first = monday + dt.timedelta(weeks=rng.randrange(1, 24))
        paths.append(
            f"/api/v1/availability?practitioner_id={rng.choice(data.practitioners)}"
            f"&from={first}&to={first + dt.timedelta(days=6)}&duration=50&step=30"
        )
    probe = ctx.client.get(paths[0], headers=headers)
    require_endpoint(probe, "GET /api/v1/availability")
    expect_status(probe, "GET /api/v1/availability", 200)
    _note(ctx, data)
    ctx.notes.append("A week (Monday to Sunday) 1–23 weeks ahead, 50-minute slots every 30.")
    return [RequestSpec("GET", p, headers) for p in paths]


def _free_start(ctx: SetupContext, data: AgendaData) -> dt.datetime:
    """After everything bench bookings ever took: single-use slots stay free across runs."""
    clinic = dataset(ctx).largest
    [(latest,)] = rows(ctx, clinic, "select max(ends_at) from appointment")
    start: dt.datetime = max(latest, dt.datetime.now(dt.UTC)) + dt.timedelta(days=1)
    return start.replace(minute=0, second=0, microsecond=0)


def _booking_bodies(ctx: SetupContext, data: AgendaData, count: int) -> list[dict[str, object]]:
    start = _free_start(ctx, data)
    width = len(data.practitioners)
    return [
        {
            "patient_id": str(data.patients[n % len(data.patients)]),
            "practitioner_id": str(data.practitioners[n % width]),
            "starts_at": (start + dt.timedelta(hours=n // width)).isoformat(),
            "duration_minutes": 50,
        }
        for n in range(count)
    ]


def _booking_setup(ctx: SetupContext) -> Sequence[RequestSpec]:
    return booking_specs(ctx, burst=True)


def booking_specs(ctx: SetupContext, *, burst: bool) -> Sequence[RequestSpec]:
    """Single-use bookings into free slots; `burst` also measures the contention burst."""
    data = _agenda(ctx)
    headers = auth(ctx, dataset(ctx).largest)
    bodies = _booking_bodies(ctx, data, int(ctx.planned_s * BOOKINGS_PER_SECOND_CAP) + 1)
    probe = ctx.client.post("/api/v1/appointments", json=bodies[0], headers=headers)
    require_endpoint(probe, "POST /api/v1/appointments")
    expect_status(probe, "POST /api/v1/appointments", 201)
    _note(ctx, data)
    ctx.notes.append("Each booking is a free slot (single-use bodies, 10 practitioners).")
    if burst:
        ctx.notes += _burst(ctx, data, headers)
    return [
        RequestSpec.json("POST", "/api/v1/appointments", b, headers=headers) for b in bodies[1:]
    ]


def _burst(ctx: SetupContext, data: AgendaData, headers: dict[str, str]) -> list[str]:
    """BURSTS times: BURST concurrent bookings of one practitioner slot (distinct patients)."""
    start = _free_start(ctx, data) + dt.timedelta(days=30)
    base_url = str(ctx.client.base_url)
    results = asyncio.run(_bursts(base_url, headers, data, start))
    slowest = [max(times) for _, times in results]
    outcomes = Counter(tuple(sorted(Counter(codes).items())) for codes, _ in results)
    expected = ((201, 1), (409, BURST - 1))
    return [
        f"Contention burst: {BURSTS} bursts of {BURST} concurrent POST /api/v1/appointments "
        f"for one practitioner slot (separate connections). Outcomes: "
        + ", ".join(f"{dict(o)} × {n}" for o, n in outcomes.items())
        + f" ({'as required' if set(outcomes) == {expected} else 'NOT as required'}). "
        f"Slowest answer of a burst: median {statistics.median(slowest):.0f} ms, "
        f"max {max(slowest):.0f} ms (target: all answered within 1,000 ms: "
        f"{'pass' if max(slowest) <= 1000 else 'FAIL'})."
    ]


async def _bursts(
    base_url: str, headers: dict[str, str], data: AgendaData, start: dt.datetime
) -> list[tuple[list[int], list[float]]]:
    limits = httpx.Limits(max_connections=BURST, max_keepalive_connections=BURST)
    async with httpx.AsyncClient(
        base_url=base_url, headers=headers, limits=limits, timeout=30
    ) as client:
        await asyncio.gather(*(client.get("/health/live") for _ in range(BURST)))  # open them
        results = []
        for b in range(BURSTS):
            slot = (start + dt.timedelta(hours=b)).isoformat()
            results.append(await _one_burst(client, data, slot, offset=b * BURST))
        return results


async def _one_burst(
    client: httpx.AsyncClient, data: AgendaData, slot: str, *, offset: int
) -> tuple[list[int], list[float]]:
    async def attempt(n: int) -> tuple[int, float]:
        started = time.perf_counter()
        response = await client.post(
            "/api/v1/appointments",
            json={
                "patient_id": str(data.patients[(offset + n) % len(data.patients)]),
                "practitioner_id": str(data.practitioners[0]),
                "starts_at": slot,
                "duration_minutes": 50,
            },
        )
        return response.status_code, (time.perf_counter() - started) * 1000

    answers = await asyncio.gather(*(attempt(n) for n in range(BURST)))
    return [code for code, _ in answers], [ms for _, ms in answers]


AGENDA_DAY = Scenario(
    name="agenda-day",
    description="GET /api/v1/agenda?date=&practitioner_id= (day view with patient names) on "
    "random days of two years of history." + AT_ONE,
    setup=_day_setup,
    target=Target(max_p95_ms=20, source=ISSUE, p95_inclusive=True),
    concurrency=1,
)

AVAILABILITY_WEEK = Scenario(
    name="availability-week",
    description="GET /api/v1/availability for one practitioner and a week: working hours minus "
    "bookings and time off, in the clinic's time zone." + AT_ONE,
    setup=_availability_setup,
    target=Target(max_p95_ms=30, source=ISSUE, p95_inclusive=True),
    concurrency=1,
)

BOOKING = Scenario(
    name="booking",
    description="POST /api/v1/appointments into free slots (exclusion constraints checked "
    "on every insert)." + AT_ONE,
    setup=_booking_setup,
    target=Target(max_p95_ms=30, source=ISSUE, p95_inclusive=True),
    concurrency=1,
    single_use=True,
)

SCHEDULING_SCENARIOS = (AGENDA_DAY, AVAILABILITY_WEEK, BOOKING)
