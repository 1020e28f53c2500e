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
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from fisioflow.adherence.schemas import AdherenceOut, Counts, ItemAdherence, PainDay, Week
from fisioflow.auth.principal import Principal
from fisioflow.core.errors import InvalidInput
from fisioflow.exercise import repository as exercise_repository
from fisioflow.prescription.schedule import days, due_on, local_today
from fisioflow.prescription.service import exercise_of, patient_access
from fisioflow.program import repository, schedules
from fisioflow.program.pain import day_start
from fisioflow.program.repository import DayRow
from fisioflow.program.schedules import ItemSchedule

MAX_DAYS = 732
DEFAULT_DAYS = 28


@dataclass
class Tally:
    due: int = 0
    done: int = 0
    logged: int = 0
    weeks: dict[dt.date, Tally] = field(default_factory=dict)

    def add(self, day: dt.date, *, due: int, sessions: int) -> None:
        week = self.weeks.setdefault(day - dt.timedelta(days=day.weekday()), Tally())
        for tally in (self, week):
            tally.due += due
            tally.done += min(due, sessions)
            tally.logged += sessions

    def counts(self) -> Counts:
        ratio = round(self.done / self.due, 4) if self.due else None
        return Counts(due=self.due, done=self.done, logged=self.logged, adherence=ratio)

    def week_list(self) -> list[Week]:
        return [
            Week(week_start=start, **tally.counts().model_dump())
            for start, tally in sorted(self.weeks.items())
        ]


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
    sessions: dict[tuple[uuid.UUID, dt.date], int] = {
        (row.item_id, row.day): row.sessions for row in rows
    }
    overall, per_item = _tally(items, sessions, first=first, last=min(last, local_today(tz)))
    names = await _names(session, principal, items)
    return AdherenceOut(
        patient_id=patient_id,
        from_=first,
        to=last,
        timezone=tz.key,
        overall=overall.counts(),
        weeks=overall.week_list(),
        items=[
            ItemAdherence(
                item_id=schedule.item.id,
                prescription_id=schedule.prescription.id,
                prescription_title=schedule.prescription.title,
                exercise_name=names[schedule.item.id],
                weeks=tally.week_list(),
                **tally.counts().model_dump(),
            )
            for schedule, tally in zip(items, per_item, strict=True)
        ],
        pain=_pain(rows),
    )


def _tally(
    items: list[ItemSchedule],
    sessions: dict[tuple[uuid.UUID, dt.date], int],
    *,
    first: dt.date,
    last: dt.date,
) -> tuple[Tally, list[Tally]]:
    overall, per_item = Tally(), []
    for schedule in items:
        tally = Tally()
        for day in days(first, last):
            _, due = due_on(schedule.plans, schedule.timeline, day)
            done = sessions.get((schedule.item.id, day), 0)
            if due or done:
                tally.add(day, due=due, sessions=done)
                overall.add(day, due=due, sessions=done)
        per_item.append(tally)
    return overall, per_item


async def _names(
    session: AsyncSession, principal: Principal, items: Iterable[ItemSchedule]
) -> dict[uuid.UUID, str]:
    current = {s.item.id: exercise_of(s.versions[-1]) for s in items}
    found = await exercise_repository.summaries(session, principal.tenant_id, current.values())
    return {item_id: found[exercise_id]["name"] for item_id, exercise_id in current.items()}


def _pain(rows: Iterable[DayRow]) -> list[PainDay]:
    by_day: dict[dt.date, list[int]] = defaultdict(lambda: [0, 0, 0])
    for row in rows:
        totals = by_day[row.day]
        totals[0] += row.sessions
        totals[1] += row.pain_before
        totals[2] += row.pain_after
    return [
        PainDay(
            date=day,
            sessions=n,
            pain_before=round(before / n, 2),
            pain_after=round(after / n, 2),
        )
        for day, (n, before, after) in sorted(by_day.items())
    ]
