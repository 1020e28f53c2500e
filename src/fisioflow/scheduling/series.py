"""Recurring series: all occurrences are checked before anything is written; either
every one is booked, or none is and the answer lists every conflicting date
(`skip_conflicts` books the free ones and reports the rest)."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections import defaultdict
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from fisioflow.auth.permissions import Permission, ensure_allowed
from fisioflow.auth.principal import Principal, Role
from fisioflow.core.errors import Conflict, InvalidInput, NotFound
from fisioflow.core.ids import new_id
from fisioflow.models import Appointment, AppointmentSeries
from fisioflow.notification import service as notifications
from fisioflow.scheduling import booking, lifecycle, repository, service
from fisioflow.scheduling.recurrence import occurrences
from fisioflow.scheduling.repository import Parties
from fisioflow.scheduling.schemas import (
    ConflictOut,
    SeriesCancelIn,
    SeriesIn,
    SeriesOut,
    SkippedOccurrence,
)

Times = list[tuple[dt.datetime, dt.datetime]]


class SeriesConflict(Conflict):
    code = "series_conflict"


def out(
    series: AppointmentSeries,
    appointments: list[Appointment],
    skipped: list[SkippedOccurrence] | None = None,
) -> SeriesOut:
    return SeriesOut.model_validate(
        {
            **{k: getattr(series, k) for k in SeriesOut.model_fields if hasattr(series, k)},
            "appointments": [service.out(a) for a in appointments],
            "skipped": skipped or [],
        }
    )


async def create_series(
    session: AsyncSession, principal: Principal, body: SeriesIn, *, tz: ZoneInfo
) -> SeriesOut:
    ensure_allowed(principal, Permission.AGENDA_WRITE)
    times = _times(body, tz)
    await booking.check_parties(
        session,
        principal.tenant_id,
        patient_id=body.patient_id,
        practitioner_id=body.practitioner_id,
        room_id=body.room_id,
    )
    series = AppointmentSeries(
        tenant_id=principal.tenant_id,
        id=new_id(),
        timezone=tz.key,
        created_by=principal.user_id,
        **body.model_dump(exclude={"skip_conflicts"}),
    )
    await booking.lock_parties(
        session,
        principal.tenant_id,
        Parties(
            practitioner_id=body.practitioner_id,
            room_id=body.room_id,
            patient_id=body.patient_id,
            slot_id=series.id,
        ),
    )
    free, skipped = await _free_occurrences(session, principal, body, times)
    appointments = [_occurrence(series, start, end) for start, end in free]
    session.add(series)
    await session.flush()  # no ORM relationship orders the two inserts
    session.add_all(appointments)
    await session.flush()
    if appointments:
        await notifications.booked(
            session, principal.tenant_id, appointments[0].id, series_count=len(appointments)
        )
    return out(series, appointments, skipped)


def _times(body: SeriesIn, tz: ZoneInfo) -> Times:
    starts = occurrences(body.rrule, first=body.starts_at, tz=tz)
    if starts[0] < booking.now():
        raise InvalidInput("must be in the future", field="starts_at")
    length = dt.timedelta(minutes=body.duration_minutes)
    times = [(start.astimezone(dt.UTC), start.astimezone(dt.UTC) + length) for start in starts]
    for (_, end), (next_start, _) in itertools.pairwise(times):
        if end > next_start:
            raise InvalidInput("occurrences of the rule overlap each other", field="rrule")
    return times


async def _free_occurrences(
    session: AsyncSession, principal: Principal, body: SeriesIn, times: Times
) -> tuple[Times, list[SkippedOccurrence]]:
    parties = Parties(
        practitioner_id=body.practitioner_id,
        room_id=body.room_id,
        patient_id=body.patient_id,
        slot_id=uuid.uuid4(),  # matches no existing slot
    )
    rows = await repository.conflicts(session, principal.tenant_id, parties, times)
    by_position: dict[int, list[ConflictOut]] = defaultdict(list)
    for row in rows:
        by_position[row.position].append(booking.conflict_out(row))
    skipped = [
        SkippedOccurrence(starts_at=times[i][0], ends_at=times[i][1], conflicts=found)
        for i, found in sorted(by_position.items())
    ]
    if skipped and (not body.skip_conflicts or len(skipped) == len(times)):
        raise SeriesConflict(
            f"{len(skipped)} of {len(times)} occurrences conflict with existing appointments;"
            " nothing was booked",
            field="rrule",
            extra={"conflicts": [s.model_dump(mode="json") for s in skipped]},
        )
    free = [t for i, t in enumerate(times) if i not in by_position]
    return free, skipped


def _occurrence(series: AppointmentSeries, start: dt.datetime, end: dt.datetime) -> Appointment:
    appointment_id = new_id()
    return Appointment(
        tenant_id=series.tenant_id,
        id=appointment_id,
        slot_id=appointment_id,
        series_id=series.id,
        patient_id=series.patient_id,
        practitioner_id=series.practitioner_id,
        room_id=series.room_id,
        starts_at=start,
        ends_at=end,
        type=series.type,
        channel=series.channel,
        price=series.price,
        notes=series.notes,
        created_by=series.created_by,
    )


async def get_series(
    session: AsyncSession, principal: Principal, series_id: uuid.UUID
) -> SeriesOut:
    if principal.role != Role.PATIENT:
        ensure_allowed(principal, Permission.AGENDA_READ, on_object=True)
    series = await session.get(AppointmentSeries, (principal.tenant_id, series_id))
    if series is None or (
        principal.role == Role.PATIENT and series.patient_id != principal.patient_id
    ):
        raise NotFound("series not found")
    members = await repository.all_in_series(session, principal.tenant_id, series_id)
    return out(series, members)


async def cancel_series(
    session: AsyncSession,
    principal: Principal,
    series_id: uuid.UUID,
    body: SeriesCancelIn,
    *,
    tz: ZoneInfo,
) -> SeriesOut:
    """Cancels the occurrences not yet attended, from `from_on` (clinic date) or now."""
    ensure_allowed(principal, Permission.AGENDA_WRITE, on_object=True)
    await get_series(session, principal, series_id)
    start = booking.now()
    if body.from_on is not None:
        start = max(start, dt.datetime.combine(body.from_on, dt.time(), tz))
    allowed_from = lifecycle.TRANSITIONS["cancel"][0]
    members = await repository.series_members(
        session, principal.tenant_id, series_id, starting_from=start, statuses=allowed_from
    )
    changed = await repository.transition(
        session,
        principal.tenant_id,
        [m.id for m in members],
        allowed_from=allowed_from,
        values={
            "status": "cancelled",
            "cancel_reason": body.reason,
            "cancelled_by": body.cancelled_by,
        },
    )
    if changed:
        first = min(members, key=lambda m: m.starts_at)
        await notifications.cancelled(session, principal.tenant_id, first.id, count=len(changed))
    session.expire_all()
    return await get_series(session, principal, series_id)
