"""Adherence and pain trend of one patient over a date range (clinic time).

Due sessions come from `prescription.schedule` (frequency, dates, versions, pauses);
done sessions are the logs of each day, counted up to what was due that day (a second
session on a once-a-day item is `logged`, not extra adherence). Days after today owe
nothing yet.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from fisioflow.adherence.schemas import AdherenceOut
from fisioflow.auth.principal import Principal
from fisioflow.core.errors import InvalidInput
from fisioflow.exercise import repository as exercise_repository
from fisioflow.prescription.schedule import due_days, local_today
from fisioflow.prescription.service import exercise_of, patient_access
from fisioflow.program import repository, schedules
from fisioflow.program.pain import day_start
from fisioflow.program.repository import DayRow
from fisioflow.program.schedules import ItemSchedule

MAX_DAYS = 732
DEFAULT_DAYS = 28
# due, done and logged sessions of one ISO week (keyed by its Monday)
Sums = list[int]
Weeks = dict[dt.date, Sums]


def _range(first: dt.date | None, last: dt.date | None, tz: ZoneInfo) -> tuple[dt.date, dt.date]:
    last = last or local_today(tz)
    first = first or last - dt.timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise InvalidInput("from must not be after to", field="from")
    if (last - first).days >= MAX_DAYS:
        raise InvalidInput(f"the range may span at most {MAX_DAYS} days", field="from")
    return first, last


async def adherence(
    session: AsyncSession,
    principal: Principal,
    patient_id: uuid.UUID,
    *,
    first: dt.date | None,
    last: dt.date | None,
    tz: ZoneInfo,
) -> AdherenceOut:
    await patient_access(session, principal, patient_id)
    first, last = _range(first, last, tz)
    tenant = principal.tenant_id
    items = await schedules.load(session, tenant, patient_id, tz=tz)
    rows = await repository.daily(
        session,
        tenant,
        patient_id,
        since=day_start(first, tz),
        until=day_start(last + dt.timedelta(days=1), tz),
        tz=tz.key,
    )
    names = await _names(session, principal, items)
    per_item = item_weeks(items, rows, first=first, last=min(last, local_today(tz)))
    overall = merge(per_item)
    body = {
        "patient_id": patient_id,
        "from": first,
        "to": last,
        "timezone": tz.key,
        "overall": _counts(_total(overall)),
        "weeks": _week_list(overall),
        "items": _items(items, per_item, names),
        "pain": pain_days(rows),
    }
    # One validation of plain data (in pydantic-core), not a model built per week and day.
    return AdherenceOut.model_validate(body)


def _items(
    items: list[ItemSchedule], per_item: list[Weeks], names: dict[uuid.UUID, str]
) -> list[dict[str, Any]]:
    return [
        {
            "item_id": schedule.item.id,
            "prescription_id": schedule.prescription.id,
            "prescription_title": schedule.prescription.title,
            "exercise_name": names[schedule.item.id],
            "weeks": _week_list(weeks),
            **_counts(_total(weeks)),
        }
        for schedule, weeks in zip(items, per_item, strict=True)
    ]


def item_weeks(
    items: list[ItemSchedule], rows: Iterable[DayRow], *, first: dt.date, last: dt.date
) -> list[Weeks]:
    """Due, done and logged sessions per ISO week of each item, from `first` to `last`."""
    sessions: dict[uuid.UUID, dict[dt.date, int]] = defaultdict(dict)
    for row in rows:
        sessions[row.item_id][row.day] = row.sessions
    return [
        _weeks(schedule, sessions.get(schedule.item.id, {}), first=first, last=last)
        for schedule in items
    ]


def _weeks(
    schedule: ItemSchedule, sessions: dict[dt.date, int], *, first: dt.date, last: dt.date
) -> Weeks:
    """Per week of one item; days with nothing due and nothing logged leave no trace."""
    due = due_days(schedule.plans, schedule.timeline, first=first, last=last)
    logged_days = (day for day in sessions if first <= day <= last)
    weeks: Weeks = {}
    for day in due.keys() | logged_days:
        times, logged = due.get(day, 0), sessions.get(day, 0)
        sums = weeks.setdefault(day - dt.timedelta(days=day.weekday()), [0, 0, 0])
        sums[0] += times
        sums[1] += min(times, logged)
        sums[2] += logged
    return weeks


def merge(per_item: Iterable[Weeks]) -> Weeks:
    merged: Weeks = {}
    for weeks in per_item:
        for start, (due, done, logged) in weeks.items():
            sums = merged.setdefault(start, [0, 0, 0])
            sums[0] += due
            sums[1] += done
            sums[2] += logged
    return merged


def _total(weeks: Weeks) -> Sums:
    return [sum(column) for column in zip(*weeks.values(), strict=True)] or [0, 0, 0]


def _counts(sums: Sums) -> dict[str, Any]:
    due, done, logged = sums
    ratio = round(done / due, 4) if due else None
    return {"due": due, "done": done, "logged": logged, "adherence": ratio}


def _week_list(weeks: Weeks) -> list[dict[str, Any]]:
    return [{"week_start": start, **_counts(sums)} for start, sums in sorted(weeks.items())]


async def _names(
    session: AsyncSession, principal: Principal, items: Iterable[ItemSchedule]
) -> dict[uuid.UUID, str]:
    current = {s.item.id: exercise_of(s.versions[-1]) for s in items}
    found = await exercise_repository.summaries(session, principal.tenant_id, current.values())
    return {item_id: found[exercise_id]["name"] for item_id, exercise_id in current.items()}


def pain_days(rows: Iterable[DayRow]) -> list[dict[str, Any]]:
    """Mean pain before and after per day, over every item's sessions."""
    by_day: dict[dt.date, Sums] = {}
    for row in rows:
        sums = by_day.setdefault(row.day, [0, 0, 0])
        sums[0] += row.sessions
        sums[1] += row.pain_before
        sums[2] += row.pain_after
    return [
        {
            "date": day,
            "sessions": n,
            "pain_before": round(before / n, 2),
            "pain_after": round(after / n, 2),
        }
        for day, (n, before, after) in sorted(by_day.items())
    ]
