"""Rooms (bookable resources) and time off (holidays, vacations, blocked times)."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from fisioflow.auth.permissions import Permission, ensure_allowed
from fisioflow.auth.principal import Principal
from fisioflow.core.errors import Conflict, InvalidInput, NotFound
from fisioflow.core.ids import new_id
from fisioflow.models import Room, TimeOff
from fisioflow.scheduling import booking, repository
from fisioflow.scheduling.schemas import RoomIn, RoomOut, RoomUpdate, TimeOffIn, TimeOffOut

MAX_TIME_OFF_RANGE = dt.timedelta(days=366)


async def list_rooms(session: AsyncSession, principal: Principal) -> list[RoomOut]:
    ensure_allowed(principal, Permission.AGENDA_READ)
    rooms = await repository.rooms(session, principal.tenant_id)
    return [RoomOut.model_validate(r, from_attributes=True) for r in rooms]


async def create_room(session: AsyncSession, principal: Principal, body: RoomIn) -> RoomOut:
    ensure_allowed(principal, Permission.CLINIC_MANAGE)
    room = Room(tenant_id=principal.tenant_id, id=new_id(), **body.model_dump())
    session.add(room)
    await _flush(session)
    return RoomOut.model_validate(room, from_attributes=True)


async def update_room(
    session: AsyncSession, principal: Principal, room_id: uuid.UUID, body: RoomUpdate
) -> RoomOut:
    ensure_allowed(principal, Permission.CLINIC_MANAGE, on_object=True)
    room = await session.get(Room, (principal.tenant_id, room_id))
    if room is None:
        raise NotFound("room not found")
    for field, value in body.model_dump(exclude_unset=True).items():
        if value is None:
            raise InvalidInput(f"{field} cannot be removed", field=field)
        setattr(room, field, value)
    await _flush(session)
    return RoomOut.model_validate(room, from_attributes=True)


async def _flush(session: AsyncSession) -> None:
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise Conflict("a room with this name already exists", field="name") from exc


async def list_time_off(
    session: AsyncSession,
    principal: Principal,
    *,
    practitioner_id: uuid.UUID | None,
    start: dt.datetime,
    end: dt.datetime,
) -> list[TimeOffOut]:
    ensure_allowed(principal, Permission.AGENDA_READ)
    if end <= start or end - start > MAX_TIME_OFF_RANGE:
        raise InvalidInput("the range must be positive and at most a year", field="to")
    rows = await repository.time_off(
        session, principal.tenant_id, practitioner_id=practitioner_id, start=start, end=end
    )
    return [TimeOffOut.model_validate(t, from_attributes=True) for t in rows]


async def create_time_off(
    session: AsyncSession, principal: Principal, body: TimeOffIn
) -> TimeOffOut:
    """Blocking time does not cancel what is already booked in it: the clinic decides."""
    ensure_allowed(principal, Permission.AGENDA_WRITE)
    if body.practitioner_id is None:
        ensure_allowed(principal, Permission.CLINIC_MANAGE)
    await booking.check_parties(
        session,
        principal.tenant_id,
        patient_id=None,
        practitioner_id=body.practitioner_id,
        room_id=None,
    )
    entry = TimeOff(tenant_id=principal.tenant_id, id=new_id(), **body.model_dump())
    session.add(entry)
    await session.flush()
    return TimeOffOut.model_validate(entry, from_attributes=True)


async def delete_time_off(
    session: AsyncSession, principal: Principal, time_off_id: uuid.UUID
) -> None:
    ensure_allowed(principal, Permission.AGENDA_WRITE, on_object=True)
    entry = await session.get(TimeOff, (principal.tenant_id, time_off_id))
    if entry is None:
        raise NotFound("time off not found")
    if entry.practitioner_id is None:
        ensure_allowed(principal, Permission.CLINIC_MANAGE, on_object=True)
    await session.delete(entry)
    await session.flush()
