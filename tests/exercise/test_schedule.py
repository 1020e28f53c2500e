"""Due-day computation: versions, weekdays, dates and pauses, in the clinic's timezone."""

from __future__ import annotations

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

from fisioflow.prescription.schedule import Plan, StatusTimeline, due_on, missed_days

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
MON = dt.date(2026, 11, 2)  # a Monday


def plan(version: int = 1, *, effective_on: dt.date = MON, **overrides: object) -> Plan:
    values: dict[str, object] = {
        "id": uuid.uuid4(),
        "item_id": uuid.UUID(int=1),
        "version": version,
        "effective_on": effective_on,
        "start_on": MON,
        "end_on": None,
        "days_of_week": frozenset({1, 3, 5}),
        "times_per_day": 2,
        **overrides,
    }
    return Plan(**values)  # type: ignore[arg-type]


ALWAYS = StatusTimeline(changes=())


class TestPlan:
    def test_weekdays_and_dates(self) -> None:
        p = plan(end_on=MON + dt.timedelta(days=7))
        week = [p.due_times(MON + dt.timedelta(days=n)) for n in range(9)]
        assert week == [2, 0, 2, 0, 2, 0, 0, 2, 0]  # Mon..Mon, then past end_on
        assert p.due_times(MON - dt.timedelta(days=7)) == 0  # before start_on

    def test_versions_apply_from_their_effective_day(self) -> None:
        first = plan(1, effective_on=MON + dt.timedelta(days=10))
        second = plan(2, effective_on=MON + dt.timedelta(days=14), times_per_day=3)
        plans = [first, second]
        assert due_on(plans, ALWAYS, MON) == (first, 2)  # before any version: the first
        assert due_on(plans, ALWAYS, MON + dt.timedelta(days=12)) == (first, 0)  # Saturday
        assert due_on(plans, ALWAYS, MON + dt.timedelta(days=14)) == (second, 3)


class TestStatusTimeline:
    def test_pause_counts_on_the_clinic_day(self) -> None:
        # Paused at 01:30 UTC on Wednesday = 22:30 on Tuesday in São Paulo.
        history = [
            {"status": "active", "at": "2026-11-01T12:00:00+00:00"},
            {"status": "paused", "at": "2026-11-04T01:30:00+00:00"},
            {"status": "active", "at": "2026-11-09T15:00:00+00:00"},
        ]
        timeline = StatusTimeline.from_history(history, SAO_PAULO)
        assert timeline.status_on(MON + dt.timedelta(days=1)) == "paused"  # Tuesday local
        assert timeline.status_on(MON) == "active"
        assert due_on([plan()], timeline, MON + dt.timedelta(days=2)) == (None, 0)
        resumed = MON + dt.timedelta(days=7)
        assert due_on([plan()], timeline, resumed)[1] == 2
        utc = StatusTimeline.from_history(history, ZoneInfo("UTC"))
        assert utc.status_on(MON + dt.timedelta(days=1)) == "active"

    def test_days_before_the_first_change_follow_it(self) -> None:
        timeline = StatusTimeline.from_history(
            [{"status": "active", "at": "2026-11-20T12:00:00+00:00"}], SAO_PAULO
        )
        assert timeline.status_on(MON) == "active"


class TestMissedDays:
    def test_due_days_after_the_last_log(self) -> None:
        today = MON + dt.timedelta(days=14)  # Monday
        missed = missed_days([([plan()], ALWAYS)], after=MON + dt.timedelta(days=7), today=today)
        assert missed == [MON + dt.timedelta(days=d) for d in (11, 9)]  # Fri, Wed
        never = missed_days([([plan()], ALWAYS)], after=None, today=today)
        assert len(never) == 6
