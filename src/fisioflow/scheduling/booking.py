"""What every booking path shares: who takes part, when it may start, and turning the
database's exclusion-constraint refusal into a 409 that names the appointment in the way.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from fisioflow.auth.principal import Principal, Role, TenantId
from fisioflow.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from fisioflow.models import Appointment, Room
from fisioflow.patient import repository as patient_repository
from fisioflow.practitioner import repository as practitioner_repository
from fisioflow.scheduling import repository
from fisioflow.scheduling.repository import Parties
from fisioflow.scheduling.schemas import ConflictOut

OVERLAP_CONSTRAINTS = {
    "appointment_practitioner_overlap": "practitioner",
    "appointment_room_overlap": "room",
    "appointment_patient_overlap": "patient",
}


class SlotTaken(Conflict):
    code = "slot_taken"


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def conflict_out(row: Any) -> ConflictOut:
    return ConflictOut(
        appointment_id=row.id, starts_at=row.starts_at, ends_at=row.ends_at, resource=row.resource
    )


async def check_parties(
    session: AsyncSession,
    tenant: TenantId,
    *,
    patient_id: uuid.UUID | None,
    practitioner_id: uuid.UUID | None,
    room_id: uuid.UUID | None,
) -> None:
    """Unknown ids answer 404 naming the field; inactive ones 422."""
    if patient_id is not None:
        patient = await patient_repository.get(session, tenant, patient_id)
        if patient is None:
            raise NotFound("patient not found", field="patient_id")
        if patient.archived_at is not None:
            raise InvalidInput("the patient is archived", field="patient_id")
    if practitioner_id is not None:
        practitioner = await practitioner_repository.get(session, tenant, practitioner_id)
        if practitioner is None:
            raise NotFound("practitioner not found", field="practitioner_id")
        if practitioner.status != "active":
            raise InvalidInput("the practitioner is inactive", field="practitioner_id")
    if room_id is not None:
        room = await session.get(Room, (tenant, room_id))
        if room is None:
            raise NotFound("room not found", field="room_id")
        if room.status != "active":
            raise InvalidInput("the room is inactive", field="room_id")


def check_start(principal: Principal, starts_at: dt.datetime, *, backfill: bool) -> bool:
    """Whether this is a back-filled booking; new bookings start in the future unless an
    admin is recording a past visit."""
    if starts_at >= now():
        return False
    if not backfill:
        raise InvalidInput("must be in the future", field="starts_at")
    if principal.role != Role.ADMIN:
        raise Forbidden("only admins may back-fill past appointments", code="backfill_forbidden")
    return True


def overlap_resource(exc: IntegrityError) -> str | None:
    constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", None)
    return OVERLAP_CONSTRAINTS.get(constraint or "")


def parties_of(appointment: Appointment) -> Parties:
    return Parties(
        practitioner_id=appointment.practitioner_id,
        room_id=appointment.room_id,
        patient_id=appointment.patient_id,
        slot_id=appointment.slot_id,
    )


async def conflicts_of(
    session: AsyncSession, tenant: TenantId, appointment: Appointment
) -> list[ConflictOut]:
    rows = await repository.conflicts(
        session,
        tenant,
        parties_of(appointment),
        [(appointment.starts_at, appointment.ends_at)],
        exclude=[appointment.id],
    )
    return [conflict_out(row) for row in rows]


def slot_taken(found: Sequence[ConflictOut], *, fallback: str = "practitioner") -> SlotTaken:
    if not found:
        return SlotTaken(f"the {fallback} is already booked at that time; try again")
    first = found[0]
    return SlotTaken(
        f"the {first.resource} is already booked from {first.starts_at.isoformat()}"
        f" to {first.ends_at.isoformat()} (appointment {first.appointment_id})",
        field="starts_at",
        extra={"conflicts": [c.model_dump(mode="json") for c in found]},
    )


def party_resources(parties: Parties) -> list[tuple[str, uuid.UUID | None]]:
    return [
        ("practitioner", parties.practitioner_id),
        ("room", parties.room_id),
        ("patient", parties.patient_id),
    ]


async def lock_parties(session: AsyncSession, tenant: TenantId, *parties: Parties) -> None:
    """Serializes bookings that share a practitioner, room or patient (see
    repository.lock_resources); every path that inserts or moves appointments takes it."""
    resources = [r for p in parties for r in party_resources(p)]
    await repository.lock_resources(session, tenant, resources)


async def insert(session: AsyncSession, tenant: TenantId, appointment: Appointment) -> None:
    """Insert in a savepoint: when an exclusion constraint refuses it, the transaction
    stays usable to look up the appointment in the way."""
    # In a race for one slot most losers arrive after the winner committed: they answer
    # here, without queueing on the party locks. The constraints stay the guard.
    if found := await conflicts_of(session, tenant, appointment):
        raise slot_taken(found)
    await lock_parties(session, tenant, parties_of(appointment))
    try:
        async with session.begin_nested():
            session.add(appointment)
            await session.flush()
    except IntegrityError as exc:
        resource = overlap_resource(exc)
        if resource is None:
            raise
        found = await conflicts_of(session, tenant, appointment)
        raise slot_taken(found, fallback=resource) from exc
