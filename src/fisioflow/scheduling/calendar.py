"""Calendar reads: free slots and the day/week agenda, in the clinic's time zone."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from fisioflow.auth.permissions import Permission, ensure_allowed
from fisioflow.auth.principal import Principal
from fisioflow.core.errors import InvalidInput, NotFound
from fisioflow.practitioner import repository as practitioner_repository
from fisioflow.scheduling import booking, repository
from fisioflow.scheduling.schemas import AgendaDay, AgendaItem, AgendaOut, AvailabilityOut, Slot
from fisioflow.scheduling.slots import free_slots, working_intervals

MAX_AVAILABILITY_DAYS = 31


def midnight(day: dt.date, tz: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tz)


def _days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


async def availability(
    session: AsyncSession,
    principal: Principal,
    practitioner_id: uuid.UUID,
    *,
    first: dt.date,
    last: dt.date,
    duration: int,
    step: int | None,
    tz: ZoneInfo,
) -> AvailabilityOut:
    ensure_allowed(principal, Permission.AGENDA_READ)
    if last < first:
        raise InvalidInput("must not be before from", field="to")
    if (last - first).days >= MAX_AVAILABILITY_DAYS:
        raise InvalidInput(f"at most {MAX_AVAILABILITY_DAYS} days at once", field="to")
    practitioner = await practitioner_repository.get(session, principal.tenant_id, practitioner_id)
    if practitioner is None:
        raise NotFound("practitioner not found", field="practitioner_id")
    start, end = midnight(first, tz), midnight(last + dt.timedelta(days=1), tz)
    busy = await repository.busy(
        session, principal.tenant_id, practitioner_id, start=start, end=end
    )
    slots = free_slots(
        working_intervals(practitioner.working_hours, days=_days(first, last), tz=tz),
        busy,
        duration=dt.timedelta(minutes=duration),
        step=dt.timedelta(minutes=step or duration),
        not_before=booking.now(),
    )
    if practitioner.status != "active":
        slots = []
    return AvailabilityOut(
        practitioner_id=practitioner_id,
        timezone=tz.key,
        duration_minutes=duration,
        slots=[Slot(starts_at=s.astimezone(tz), ends_at=e.astimezone(tz)) for s, e in slots],
    )


async def agenda(
    session: AsyncSession,
    principal: Principal,
    *,
    day: dt.date,
    view: Literal["day", "week"],
    practitioner_id: uuid.UUID | None,
    include_cancelled: bool,
    tz: ZoneInfo,
) -> AgendaOut:
    ensure_allowed(principal, Permission.AGENDA_READ)
    first = day - dt.timedelta(days=day.weekday()) if view == "week" else day
    last = first + dt.timedelta(days=6 if view == "week" else 0)
    statuses = (*repository.LIVE, "cancelled") if include_cancelled else repository.LIVE
    rows = await repository.agenda(
        session,
        principal.tenant_id,
        start=midnight(first, tz),
        end=midnight(last + dt.timedelta(days=1), tz),
        practitioner_id=practitioner_id,
        statuses=statuses,
    )
    by_day: dict[dt.date, list[AgendaItem]] = defaultdict(list)
    for appointment, patient_name, practitioner_name, room_name in rows:
        starts_at = appointment.starts_at.astimezone(tz)
        by_day[starts_at.date()].append(
            AgendaItem(
                id=appointment.id,
                starts_at=starts_at,
                ends_at=appointment.ends_at.astimezone(tz),
                status=appointment.status,
                type=appointment.type,
                channel=appointment.channel,
                patient_id=appointment.patient_id,
                patient_name=patient_name,
                practitioner_id=appointment.practitioner_id,
                practitioner_name=practitioner_name,
                room_id=appointment.room_id,
                room_name=room_name,
                series_id=appointment.series_id,
                slot_id=appointment.slot_id,
            )
        )
    return AgendaOut(
        view=view,
        timezone=tz.key,
        starts_on=first,
        ends_on=last,
        days=[AgendaDay(date=d, appointments=by_day[d]) for d in _days(first, last)],
    )
