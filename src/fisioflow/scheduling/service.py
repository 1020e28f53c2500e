"""Appointment rules: booking, group sessions, reading, rescheduling."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import replace
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from fisioflow.auth.permissions import Permission, ensure_allowed
from fisioflow.auth.principal import Principal, Role
from fisioflow.core.errors import Conflict, Forbidden, InvalidInput, NotFound, PreconditionFailed
from fisioflow.core.ids import new_id
from fisioflow.core.pagination import Page, PageParams, build_page
from fisioflow.models import Appointment
from fisioflow.notification import service as notifications
from fisioflow.scheduling import booking, repository
from fisioflow.scheduling.repository import Filters, Parties
from fisioflow.scheduling.schemas import (
    AppointmentIn,
    AppointmentOut,
    AppointmentUpdate,
    Attendance,
    ParticipantIn,
)

MOVABLE = ("scheduled", "confirmed")


class InvalidTransition(Conflict):
    code = "invalid_transition"


def out(appointment: Appointment) -> AppointmentOut:
    return AppointmentOut.model_validate(appointment, from_attributes=True)


async def book(session: AsyncSession, principal: Principal, body: AppointmentIn) -> Appointment:
    ensure_allowed(principal, Permission.AGENDA_WRITE)
    backfilled = booking.check_start(principal, body.starts_at, backfill=body.backfill)
    await booking.check_parties(
        session,
        principal.tenant_id,
        patient_id=body.patient_id,
        practitioner_id=body.practitioner_id,
        room_id=body.room_id,
    )
    appointment_id = new_id()
    appointment = Appointment(
        tenant_id=principal.tenant_id,
        id=appointment_id,
        slot_id=appointment_id,
        ends_at=body.end,
        backfilled=backfilled,
        created_by=principal.user_id,
        **body.model_dump(exclude={"ends_at", "duration_minutes", "backfill"}),
    )
    await booking.insert(session, principal.tenant_id, appointment)
    await notifications.booked(session, principal.tenant_id, appointment.id)
    return appointment


async def join_group(
    session: AsyncSession, principal: Principal, appointment_id: uuid.UUID, body: ParticipantIn
) -> Appointment:
    """Adds a patient to the group session `appointment_id` belongs to, within capacity."""
    ensure_allowed(principal, Permission.AGENDA_WRITE, on_object=True)
    group = await get(session, principal, appointment_id)
    if group.type != "group" or group.capacity is None:
        raise Conflict("not a group session", code="not_a_group")
    # Locked before counting: two patients joining at once cannot both take the last place.
    await booking.lock_parties(
        session,
        principal.tenant_id,
        replace(booking.parties_of(group), patient_id=body.patient_id),
    )
    members = await repository.group_members(session, principal.tenant_id, group.slot_id)
    live = [m for m in members if m.status != "cancelled"]
    if len(live) >= group.capacity:
        raise Conflict(f"the group is full ({group.capacity} participants)", code="group_full")
    if group.status not in MOVABLE or group.starts_at < booking.now():
        raise Conflict("the group session is no longer open", code="group_closed")
    await booking.check_parties(
        session, principal.tenant_id, patient_id=body.patient_id, practitioner_id=None, room_id=None
    )
    joined = Appointment(
        tenant_id=principal.tenant_id,
        id=new_id(),
        created_by=principal.user_id,
        **{k: getattr(group, k) for k in _GROUP_FIELDS},
        **body.model_dump(),
    )
    await booking.insert(session, principal.tenant_id, joined)
    await notifications.booked(session, principal.tenant_id, joined.id)
    return joined


_GROUP_FIELDS = (
    "practitioner_id",
    "room_id",
    "slot_id",
    "capacity",
    "starts_at",
    "ends_at",
    "type",
    "channel",
)


async def get(
    session: AsyncSession, principal: Principal, appointment_id: uuid.UUID, *, lock: bool = False
) -> Appointment:
    """Staff read the clinic's agenda; a patient reads their own appointments only."""
    if principal.role != Role.PATIENT:
        ensure_allowed(principal, Permission.AGENDA_READ, on_object=True)
    appointment = await repository.get(session, principal.tenant_id, appointment_id, lock=lock)
    if appointment is None or (
        principal.role == Role.PATIENT and appointment.patient_id != principal.patient_id
    ):
        raise NotFound("appointment not found")
    return appointment


async def list_appointments(
    session: AsyncSession, principal: Principal, page: PageParams, filters: Filters
) -> Page[AppointmentOut]:
    if principal.role == Role.PATIENT:
        filters = Filters(
            filters.starts_from, filters.starts_before, None, principal.patient_id, filters.statuses
        )
    else:
        ensure_allowed(principal, Permission.AGENDA_READ)
    rows = await repository.list_page(
        session, principal.tenant_id, filters, after=page.after, limit=page.limit
    )
    return build_page([out(a) for a in rows], limit=page.limit)


async def list_own(
    session: AsyncSession, principal: Principal, page: PageParams, filters: Filters
) -> Page[AppointmentOut]:
    if principal.role != Role.PATIENT:
        raise Forbidden("the portal lists a patient's own appointments", code="forbidden")
    return await list_appointments(session, principal, page, filters)


async def reschedule(
    session: AsyncSession,
    principal: Principal,
    appointment_id: uuid.UUID,
    body: AppointmentUpdate,
    *,
    tz: ZoneInfo,
    if_match: int | None,
) -> Appointment:
    ensure_allowed(principal, Permission.AGENDA_WRITE, on_object=True)
    current = await get(session, principal, appointment_id)
    # Party locks before the row lock, the order every booking path takes them in.
    await booking.lock_parties(session, principal.tenant_id, *_parties_after(current, body))
    appointment = await get(session, principal, appointment_id, lock=True)
    if if_match is not None and if_match != appointment.version:
        raise PreconditionFailed(
            f"the appointment changed (version {appointment.version}); reload it",
            code="stale_version",
        )
    if appointment.status not in MOVABLE:
        raise InvalidTransition(
            f"a {appointment.status} appointment cannot be changed",
            extra={"current_status": appointment.status},
        )
    members = await _scope(session, principal, appointment, body)
    for member in members:
        await booking.lock_parties(session, principal.tenant_id, *_parties_after(member, body))
    await booking.check_parties(
        session,
        principal.tenant_id,
        patient_id=None,
        practitioner_id=body.practitioner_id,
        room_id=body.room_id,
    )
    moves = _moves(appointment, members, body, tz=tz)
    await _apply(session, principal, appointment, members, body=body, moves=moves)
    await session.refresh(appointment)
    if moves:
        await notifications.moved(session, principal.tenant_id, appointment.id)
    return appointment


def _parties_after(appointment: Appointment, body: AppointmentUpdate) -> list[Parties]:
    """The appointment's parties now and once the change applies."""
    before = booking.parties_of(appointment)
    after = replace(
        before,
        practitioner_id=body.practitioner_id or before.practitioner_id,
        room_id=body.room_id if "room_id" in body.model_fields_set else before.room_id,
    )
    return [before, after]


async def _scope(
    session: AsyncSession, principal: Principal, appointment: Appointment, body: AppointmentUpdate
) -> list[Appointment]:
    moves_time = body.starts_at is not None or body.duration_minutes is not None
    resources = body.practitioner_id is not None or "room_id" in body.model_fields_set
    if appointment.type == "group" and (moves_time or resources):
        raise Conflict(
            "a group session's time and resources are shared; cancel and re-book instead",
            code="group_session",
        )
    if body.scope == "this":
        return [appointment]
    if appointment.series_id is None:
        raise InvalidInput("the appointment is not part of a series", field="scope")
    start = appointment.starts_at if body.scope == "following" else booking.now()
    members = await repository.series_members(
        session, principal.tenant_id, appointment.series_id, starting_from=start, statuses=MOVABLE
    )
    return [m for m in members if m.starts_at >= booking.now() or m.id == appointment.id]


def _moves(
    appointment: Appointment,
    members: list[Appointment],
    body: AppointmentUpdate,
    *,
    tz: ZoneInfo,
) -> list[tuple[uuid.UUID, dt.datetime, dt.datetime]]:
    """Each member keeps its date offset from the anchor; the shift is in wall-clock
    time, so a series moved from 09:00 to 10:00 stays at 10:00 across DST changes."""
    if body.starts_at is None and body.duration_minutes is None:
        return []
    new_start = body.starts_at or appointment.starts_at
    if new_start < booking.now() and new_start != appointment.starts_at:
        raise InvalidInput("must be in the future", field="starts_at")
    shift = _wall(new_start, tz) - _wall(appointment.starts_at, tz)
    moves = []
    for member in members:
        start = (_wall(member.starts_at, tz) + shift).replace(tzinfo=tz)
        length = (
            dt.timedelta(minutes=body.duration_minutes)
            if body.duration_minutes is not None
            else member.ends_at - member.starts_at
        )
        moves.append((member.id, start, start + length))
    return moves


def _wall(moment: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    return moment.astimezone(tz).replace(tzinfo=None)


async def _apply(
    session: AsyncSession,
    principal: Principal,
    appointment: Appointment,
    members: list[Appointment],
    *,
    body: AppointmentUpdate,
    moves: list[tuple[uuid.UUID, dt.datetime, dt.datetime]],
) -> None:
    fields: dict[str, Any] = body.model_dump(
        exclude={"starts_at", "duration_minutes", "scope"}, exclude_unset=True
    )
    for required in ("practitioner_id", "channel"):
        if required in fields and fields[required] is None:
            raise InvalidInput(f"{required} cannot be removed", field=required)
    ids = [m.id for m in members]
    try:
        async with session.begin_nested():
            if fields:
                await repository.set_fields(session, principal.tenant_id, ids, fields)
            if moves:
                await repository.move(session, principal.tenant_id, moves)
    except IntegrityError as exc:
        if booking.overlap_resource(exc) is None:
            raise
        raise await _move_conflict(session, principal, members, fields, moves) from exc


async def _move_conflict(
    session: AsyncSession,
    principal: Principal,
    members: list[Appointment],
    fields: dict[str, Any],
    moves: list[tuple[uuid.UUID, dt.datetime, dt.datetime]],
) -> booking.SlotTaken:
    """Names every occurrence that cannot move and what is in its way."""
    targets = {m[0]: (m[1], m[2]) for m in moves}
    found: list[dict[str, Any]] = []
    for member in members:
        parties = Parties(
            practitioner_id=fields.get("practitioner_id", member.practitioner_id),
            room_id=fields.get("room_id", member.room_id),
            patient_id=member.patient_id,
            slot_id=member.slot_id,
        )
        times = targets.get(member.id, (member.starts_at, member.ends_at))
        rows = await repository.conflicts(
            session, principal.tenant_id, parties, [times], exclude=[m.id for m in members]
        )
        found += [
            {"moving": str(member.id), **booking.conflict_out(r).model_dump(mode="json")}
            for r in rows
        ]
    return booking.SlotTaken(
        "the new time is already booked" + (f" ({len(found)} conflicts)" if found else ""),
        field="starts_at",
        extra={"conflicts": found},
    )


async def attendance(
    session: AsyncSession, principal: Principal, patient_id: uuid.UUID
) -> Attendance:
    no_shows, cancellations, by_patient, completed = await repository.attendance(
        session, principal.tenant_id, patient_id
    )
    return Attendance(
        no_shows=no_shows,
        cancellations=cancellations,
        cancelled_by_patient=by_patient,
        completed=completed,
    )
