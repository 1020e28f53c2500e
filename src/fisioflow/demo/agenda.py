"""The demo clinic's agenda: this week and next, with attended, missed and cancelled
visits in the past, a twice-weekly series and a Pilates group, through the services."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from fisioflow.auth.principal import Principal
from fisioflow.models import Appointment
from fisioflow.patient.schemas import PatientOut
from fisioflow.scheduling import lifecycle, resources, series, service
from fisioflow.scheduling.schemas import (
    AppointmentIn,
    CancelIn,
    ParticipantIn,
    RoomIn,
    SeriesIn,
)

HOURS = (8, 9, 10, 14, 15)
VISIT_PATH: tuple[lifecycle.Action, ...] = ("confirm", "check-in", "start", "complete")


async def load_agenda(
    session: AsyncSession,
    principal: Principal,
    *,
    practitioner_ids: Sequence[uuid.UUID],
    patients: Sequence[PatientOut],
    tz: ZoneInfo,
) -> None:
    rooms = [
        (await resources.create_room(session, principal, RoomIn(name=name))).id
        for name in ("Sala 1", "Sala 2", "Ginásio")
    ]
    today = dt.datetime.now(tz).date()
    monday = today - dt.timedelta(days=today.weekday())
    for n, practitioner_id in enumerate(practitioner_ids):
        own = [p for p in patients if p.practitioner_id == practitioner_id]
        room = rooms[n] if n < 2 else None
        await _fortnight(session, principal, practitioner_id, own, room=room, monday=monday, tz=tz)
        await _series(session, principal, practitioner_id, own[0], monday=monday, tz=tz)
    await _group(
        session, principal, practitioner_ids[0], patients, room=rooms[2], monday=monday, tz=tz
    )


async def _fortnight(
    session: AsyncSession,
    principal: Principal,
    practitioner_id: uuid.UUID,
    patients: Sequence[PatientOut],
    *,
    room: uuid.UUID | None,
    monday: dt.date,
    tz: ZoneInfo,
) -> None:
    weekdays = [monday + dt.timedelta(days=d) for d in range(14) if d % 7 < 5]
    for d, day in enumerate(weekdays):
        for s, hour in enumerate(HOURS):
            number = d * len(HOURS) + s
            patient = patients[number % len(patients)]
            start = dt.datetime.combine(day, dt.time(hour), tz)
            appointment = await service.book(
                session,
                principal,
                AppointmentIn(
                    patient_id=patient.id,
                    practitioner_id=practitioner_id,
                    room_id=room,
                    starts_at=start,
                    duration_minutes=50,
                    type="evaluation" if number % 10 == 0 else "session",
                    price=None if number % 4 else 180,
                    backfill=start < dt.datetime.now(tz),
                ),
            )
            await _history(session, principal, appointment, number)


async def _history(
    session: AsyncSession, principal: Principal, appointment: Appointment, number: int
) -> None:
    """Past visits were attended, missed or cancelled; future ones are partly confirmed."""
    if not appointment.backfilled:
        if number % 3 == 0:
            await lifecycle.advance(session, principal, appointment.id, "confirm")
        return
    if number % 11 == 0:
        cancel = CancelIn(reason="Paciente avisou que não poderia vir", cancelled_by="patient")
        await lifecycle.advance(session, principal, appointment.id, "cancel", cancel=cancel)
    elif number % 7 == 0:
        await lifecycle.advance(session, principal, appointment.id, "no-show")
    else:
        for action in VISIT_PATH:
            await lifecycle.advance(session, principal, appointment.id, action)


async def _series(
    session: AsyncSession,
    principal: Principal,
    practitioner_id: uuid.UUID,
    patient: PatientOut,
    *,
    monday: dt.date,
    tz: ZoneInfo,
) -> None:
    next_tuesday = monday + dt.timedelta(days=8)
    body = SeriesIn(
        patient_id=patient.id,
        practitioner_id=practitioner_id,
        starts_at=dt.datetime.combine(next_tuesday, dt.time(16), tz),
        duration_minutes=50,
        rrule="FREQ=WEEKLY;BYDAY=TU,TH;COUNT=8",
    )
    await series.create_series(session, principal, body, tz=tz)


async def _group(
    session: AsyncSession,
    principal: Principal,
    practitioner_id: uuid.UUID,
    patients: Sequence[PatientOut],
    *,
    room: uuid.UUID,
    monday: dt.date,
    tz: ZoneInfo,
) -> None:
    first, *others = patients[-4:]
    group = await service.book(
        session,
        principal,
        AppointmentIn(
            patient_id=first.id,
            practitioner_id=practitioner_id,
            room_id=room,
            starts_at=dt.datetime.combine(monday + dt.timedelta(days=11), dt.time(17), tz),
            duration_minutes=60,
            type="group",
            capacity=6,
            notes="Pilates em grupo",
        ),
    )
    for patient in others:
        await service.join_group(session, principal, group.id, ParticipantIn(patient_id=patient.id))
