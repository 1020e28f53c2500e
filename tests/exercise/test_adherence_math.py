"""The adherence arithmetic against the plain day-by-day definition.

`due_days` looks the status and version up once per stretch of days and the report sums
per week from it; both must give exactly what asking `due_on` for every single day gives
(the reference below is the report's earlier day-by-day tally), whatever the versions,
pauses, weekdays, date bounds and logged sessions.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from typing import Any, cast

from hypothesis import given, settings
from hypothesis import strategies as st

from fisioflow.adherence.service import item_weeks, merge, pain_days
from fisioflow.prescription.schedule import Plan, StatusTimeline, days, due_days, due_on
from fisioflow.program.repository import DayRow
from fisioflow.program.schedules import ItemSchedule

BASE = dt.date(2026, 2, 1)
SPAN = 80  # days of the generated calendars

day_strategy = st.integers(0, SPAN).map(lambda n: BASE + dt.timedelta(days=n))


@st.composite
def plans(draw: st.DrawFn, item_id: uuid.UUID) -> tuple[Plan, ...]:
    found = []
    for version in range(1, draw(st.integers(1, 3)) + 1):
        start = draw(day_strategy)
        found.append(
            Plan(
                id=uuid.uuid4(),
                item_id=item_id,
                version=version,
                effective_on=draw(day_strategy),
                start_on=start,
                end_on=draw(st.none() | day_strategy),
                days_of_week=frozenset(draw(st.sets(st.integers(1, 7), min_size=1))),
                times_per_day=draw(st.integers(1, 3)),
            )
        )
    return tuple(found)


timelines = st.lists(
    st.tuples(day_strategy, st.sampled_from(["active", "paused", "completed"])), max_size=4
).map(lambda changes: StatusTimeline(changes=tuple(changes)))


@st.composite
def ranges(draw: st.DrawFn) -> tuple[dt.date, dt.date]:
    first = draw(day_strategy)
    return first, first + dt.timedelta(days=draw(st.integers(0, SPAN)))


class TestDueDays:
    @settings(max_examples=300, deadline=None)
    @given(data=st.data())
    def test_same_as_due_on_every_day(self, data: st.DataObject) -> None:
        versions = data.draw(plans(uuid.UUID(int=1)))
        timeline = data.draw(timelines)
        first, last = data.draw(ranges())
        expected = {
            day: times for day in days(first, last) if (times := due_on(versions, timeline, day)[1])
        }
        assert due_days(versions, timeline, first=first, last=last) == expected
        assert due_days(versions, timeline, first=last + dt.timedelta(days=2), last=last) == {}

    def test_pause_and_new_version_inside_the_range(self) -> None:
        monday = dt.date(2026, 11, 2)
        old = Plan(uuid.uuid4(), uuid.UUID(int=1), 1, monday, monday, None, frozenset({1, 3}), 1)
        new = Plan(uuid.uuid4(), uuid.UUID(int=1), 2, monday + dt.timedelta(days=7), monday,
                   None, frozenset({1, 2, 3}), 2)  # fmt: skip
        timeline = StatusTimeline(
            changes=((monday, "active"), (monday + dt.timedelta(days=2), "paused"),
                     (monday + dt.timedelta(days=8), "active"))
        )  # fmt: skip
        due = due_days([old, new], timeline, first=monday, last=monday + dt.timedelta(days=9))
        # Mon due; Wed paused; next Mon paused (v2 in effect); Tue and Wed active again, v2
        assert due == {
            monday: 1,
            monday + dt.timedelta(days=8): 2,
            monday + dt.timedelta(days=9): 2,
        }


def _schedule(item_id: uuid.UUID, versions: tuple[Plan, ...], timeline: StatusTimeline) -> Any:
    item = cast(Any, type("Item", (), {"id": item_id}))
    return ItemSchedule(
        prescription=cast(Any, None), item=item, versions=(), plans=versions, timeline=timeline
    )


def reference(
    items: list[ItemSchedule], rows: list[DayRow], *, first: dt.date, last: dt.date
) -> tuple[list[dict[dt.date, list[int]]], dict[dt.date, list[int]]]:
    """The report's earlier computation: every day of every item through `due_on`."""
    sessions = {(row.item_id, row.day): row.sessions for row in rows}
    overall: dict[dt.date, list[int]] = defaultdict(lambda: [0, 0, 0])
    per_item = []
    for schedule in items:
        weeks: dict[dt.date, list[int]] = defaultdict(lambda: [0, 0, 0])
        for day in days(first, last):
            due = due_on(schedule.plans, schedule.timeline, day)[1]
            done = sessions.get((schedule.item.id, day), 0)
            if due or done:
                monday = day - dt.timedelta(days=day.weekday())
                for sums in (weeks[monday], overall[monday]):
                    sums[0] += due
                    sums[1] += min(due, done)
                    sums[2] += done
        per_item.append(dict(weeks))
    return per_item, dict(overall)


@st.composite
def programs(draw: st.DrawFn) -> tuple[list[ItemSchedule], list[DayRow]]:
    items, rows = [], []
    for n in range(draw(st.integers(1, 3))):
        item_id = uuid.UUID(int=n + 1)
        items.append(_schedule(item_id, draw(plans(item_id)), draw(timelines)))
        logged = draw(st.dictionaries(day_strategy, st.integers(1, 4), max_size=SPAN))
        rows += [DayRow(item_id, day, count, count * 3, count * 2) for day, count in logged.items()]
    return items, rows


class TestWeeks:
    @settings(max_examples=200, deadline=None)
    @given(program=programs(), period=ranges())
    def test_same_as_the_day_by_day_tally(
        self, program: tuple[list[ItemSchedule], list[DayRow]], period: tuple[dt.date, dt.date]
    ) -> None:
        items, rows = program
        first, last = period
        # The query only returns the period's logs.
        shown = [row for row in rows if first <= row.day <= last]
        per_item = item_weeks(items, shown, first=first, last=last)
        expected_items, expected_overall = reference(items, shown, first=first, last=last)
        assert per_item == expected_items
        assert merge(per_item) == expected_overall

    def test_days_after_the_last_one_are_not_counted(self) -> None:
        monday = dt.date(2026, 11, 2)
        daily = Plan(uuid.uuid4(), uuid.UUID(int=1), 1, monday, monday, None,
                     frozenset(range(1, 8)), 1)  # fmt: skip
        item = _schedule(uuid.UUID(int=1), (daily,), StatusTimeline(changes=()))
        rows = [DayRow(uuid.UUID(int=1), monday + dt.timedelta(days=n), 1, 0, 0) for n in (0, 5)]
        (weeks,) = item_weeks([item], rows, first=monday, last=monday + dt.timedelta(days=2))
        assert weeks == {monday: [3, 1, 1]}
        # A period that starts after today (the report's last day): nothing owed yet.
        later = monday + dt.timedelta(days=10)
        assert item_weeks([item], [], first=later, last=monday) == [{}]


class TestPain:
    def test_mean_per_day_over_items(self) -> None:
        day = dt.date(2026, 11, 2)
        rows = [
            DayRow(uuid.UUID(int=1), day, 2, 7, 9),
            DayRow(uuid.UUID(int=2), day, 1, 2, 0),
            DayRow(uuid.UUID(int=1), day - dt.timedelta(days=1), 1, 4, 5),
        ]
        assert pain_days(rows) == [
            {"date": day - dt.timedelta(days=1), "sessions": 1, "pain_before": 4.0,
             "pain_after": 5.0},
            {"date": day, "sessions": 3, "pain_before": 3.0, "pain_after": 3.0},
        ]  # fmt: skip
