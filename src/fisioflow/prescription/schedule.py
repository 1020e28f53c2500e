"""When an item is due: pure functions over item versions and the prescription's status
history, in the clinic's local dates.

A day is due for an item when, on that day, the prescription was active (its last status
change on or before that day, clinic time, says `active`; days before the first change
follow the first status), and the version in effect (the last one whose `effective_on`
is on or before that day, or the first version before that) covers the day: between
`start_on` and `end_on` and on one of its `days_of_week`. It is then due `times_per_day`
times.
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Plan:
    """One item version, as the schedule needs it."""

    id: uuid.UUID
    item_id: uuid.UUID
    version: int
    effective_on: dt.date
    start_on: dt.date
    end_on: dt.date | None
    days_of_week: frozenset[int]
    times_per_day: int

    def due_times(self, day: dt.date) -> int:
        if day < self.start_on or (self.end_on is not None and day > self.end_on):
            return 0
        return self.times_per_day if day.isoweekday() in self.days_of_week else 0


@dataclass(frozen=True)
class StatusTimeline:
    """(local date, status) changes, oldest first."""

    changes: tuple[tuple[dt.date, str], ...]

    @classmethod
    def from_history(cls, history: Sequence[dict[str, Any]], tz: ZoneInfo) -> StatusTimeline:
        changes = tuple(
            (dt.datetime.fromisoformat(entry["at"]).astimezone(tz).date(), entry["status"])
            for entry in history
        )
        return cls(changes=changes)

    def status_on(self, day: dt.date) -> str:
        current = self.changes[0][1] if self.changes else "active"
        for changed_on, status in self.changes:
            if changed_on > day:
                break
            current = status
        return current


def version_on(plans: Sequence[Plan], day: dt.date) -> Plan | None:
    """`plans` of one item ordered by version."""
    chosen = plans[0] if plans else None
    for plan in plans:
        if plan.effective_on <= day:
            chosen = plan
    return chosen


def due_on(
    plans: Sequence[Plan], timeline: StatusTimeline, day: dt.date
) -> tuple[Plan | None, int]:
    if timeline.status_on(day) != "active":
        return None, 0
    plan = version_on(plans, day)
    return plan, plan.due_times(day) if plan is not None else 0


def due_days(
    plans: Sequence[Plan], timeline: StatusTimeline, *, first: dt.date, last: dt.date
) -> dict[dt.date, int]:
    """The days from `first` to `last` on which the item is due, with the times: `due_on`
    of each day, with status and version looked up once per stretch of days between two
    changes (a status change or a version taking effect) instead of once per day."""
    if first > last:
        return {}
    edges = {first, last + ONE_DAY}
    edges.update(changed_on for changed_on, _ in timeline.changes if first < changed_on <= last)
    edges.update(p.effective_on for p in plans if first < p.effective_on <= last)
    due: dict[dt.date, int] = {}
    for start, end in itertools.pairwise(sorted(edges)):
        plan, _ = due_on(plans, timeline, start)
        if plan is None:
            continue
        for day in days(start, end - ONE_DAY):
            times = plan.due_times(day)
            if times:
                due[day] = times
    return due


def days(first: dt.date, last: dt.date) -> Iterator[dt.date]:
    day = first
    while day <= last:
        yield day
        day += ONE_DAY


def local_today(tz: ZoneInfo) -> dt.date:
    return dt.datetime.now(tz).date()


def missed_days(
    items: Sequence[tuple[Sequence[Plan], StatusTimeline]],
    *,
    after: dt.date | None,
    today: dt.date,
    lookback: int = 60,
) -> list[dt.date]:
    """Days before `today` (and after `after`, the last day with a log) on which at
    least one of the items was due, newest first."""
    first = today - dt.timedelta(days=lookback)
    if after is not None:
        first = max(first, after + dt.timedelta(days=1))
    found = [
        day
        for day in days(first, today - dt.timedelta(days=1))
        if any(due_on(plans, timeline, day)[1] for plans, timeline in items)
    ]
    return found[::-1]
