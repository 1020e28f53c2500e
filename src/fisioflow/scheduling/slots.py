"""Free slots: weekly working hours in the clinic's zone, minus time off and bookings.

Pure functions, no I/O. Working hours are wall-clock times; each day's intervals are
placed on the calendar with zoneinfo, so a 08:00–12:00 morning is 08:00–12:00 local on
both sides of a daylight-saving change (and its UTC instants differ).
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from zoneinfo import ZoneInfo

Interval = tuple[dt.datetime, dt.datetime]
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def working_intervals(
    hours: Mapping[str, Sequence[Mapping[str, str]]], *, days: Iterable[dt.date], tz: ZoneInfo
) -> list[Interval]:
    result: list[Interval] = []
    for day in days:
        for interval in hours.get(WEEKDAYS[day.weekday()], ()):
            start = dt.datetime.combine(day, dt.time.fromisoformat(interval["start"]), tz)
            end = dt.datetime.combine(day, dt.time.fromisoformat(interval["end"]), tz)
            result.append((start, end))
    return sorted(result)


def free_slots(
    working: Sequence[Interval],
    busy: Iterable[Interval],
    *,
    duration: dt.timedelta,
    step: dt.timedelta,
    not_before: dt.datetime,
) -> list[Interval]:
    """Slots of `duration`, starting every `step` from each working interval's start,
    that overlap nothing in `busy` (half-open intervals)."""
    blocked = _merge(busy)
    starts = [b[0] for b in blocked]
    slots: list[Interval] = []
    for work_start, work_end in working:
        start = work_start
        while start + duration <= work_end:
            end = start + duration
            if start >= not_before and not _overlaps(blocked, starts, start, end):
                slots.append((start, end))
            start += step
    return slots


def _merge(intervals: Iterable[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _overlaps(
    blocked: Sequence[Interval], starts: Sequence[dt.datetime], start: dt.datetime, end: dt.datetime
) -> bool:
    # The merged blocks are disjoint and sorted: only the last one starting before
    # `end` can reach into [start, end).
    index = bisect.bisect_left(starts, end) - 1
    return index >= 0 and blocked[index][1] > start
