"""SQL of the agenda.

Range conditions are written as `starts_at < :end and ends_at > :start` (plus a lower
bound on starts_at from the 4 h maximum duration) rather than `during && range`: plain
timestamptz comparisons are leakproof, so under row-level security they still reach the
btree indexes; the range operator would only be applied after the security filter.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, func, select, text, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from fisioflow.auth.principal import TenantId
from fisioflow.models import Appointment, Patient, Practitioner, Room, TimeOff

MAX_DURATION = dt.timedelta(hours=4)
LIVE = ("scheduled", "confirmed", "checked_in", "in_progress", "completed", "no_show")


@dataclass(frozen=True)
class Filters:
    starts_from: dt.datetime | None = None
    starts_before: dt.datetime | None = None
    practitioner_id: uuid.UUID | None = None
    patient_id: uuid.UUID | None = None
    statuses: tuple[str, ...] = ()


@dataclass(frozen=True)
class Parties:
    """Who an appointment occupies; `slot_id` is shared by the rows of one group."""

    practitioner_id: uuid.UUID
    room_id: uuid.UUID | None
    patient_id: uuid.UUID
    slot_id: uuid.UUID


def _lock_key(tenant: TenantId, kind: str, resource: uuid.UUID) -> int:
    digest = hashlib.blake2b(f"{tenant}:{kind}:{resource}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


async def lock_resources(
    session: AsyncSession, tenant: TenantId, resources: Iterable[tuple[str, uuid.UUID | None]]
) -> None:
    """Holds, until commit, a lock per (kind, id) such as ("practitioner", id).

    Trap: two inserts that conflict on an exclusion constraint each find the other's
    uncommitted row and wait for it; PostgreSQL breaks the cycle only after
    deadlock_timeout with "deadlock detected". Writers that lock the parties first queue
    instead, and the loser meets a committed row: a prompt 409. Keys are taken in sorted
    order, so lockers never wait on each other in a cycle.
    """
    keys = sorted({_lock_key(tenant, kind, rid) for kind, rid in resources if rid is not None})
    if keys:
        calls = ", ".join(f"pg_advisory_xact_lock(:k{n})" for n in range(len(keys)))
        await session.execute(text(f"select {calls}"), {f"k{n}": k for n, k in enumerate(keys)})


async def get(
    session: AsyncSession, tenant: TenantId, appointment_id: uuid.UUID, *, lock: bool = False
) -> Appointment | None:
    statement = select(Appointment).where(
        Appointment.tenant_id == tenant, Appointment.id == appointment_id
    )
    return await session.scalar(statement.with_for_update() if lock else statement)


async def list_page(
    session: AsyncSession,
    tenant: TenantId,
    filters: Filters,
    *,
    after: uuid.UUID | None,
    limit: int,
) -> list[Appointment]:
    statement = (
        select(Appointment)
        .where(Appointment.tenant_id == tenant)
        .order_by(Appointment.starts_at, Appointment.id)
        .limit(limit + 1)
    )
    if after is not None:
        cursor = aliased(Appointment)
        mark = select(cursor.starts_at, cursor.id).where(
            cursor.tenant_id == tenant, cursor.id == after
        )
        statement = statement.where(
            tuple_(Appointment.starts_at, Appointment.id) > mark.scalar_subquery()
        )
    return list(await session.scalars(statement.where(*_conditions(filters))))


def _conditions(filters: Filters) -> list[Any]:
    conditions: list[Any] = []
    if filters.starts_from is not None:
        conditions.append(Appointment.starts_at >= filters.starts_from)
    if filters.starts_before is not None:
        conditions.append(Appointment.starts_at < filters.starts_before)
    if filters.practitioner_id is not None:
        conditions.append(Appointment.practitioner_id == filters.practitioner_id)
    if filters.patient_id is not None:
        conditions.append(Appointment.patient_id == filters.patient_id)
    if filters.statuses:
        conditions.append(Appointment.status.in_(filters.statuses))
    return conditions


_CONFLICTS = text("""
select o.n - 1 as position, a.id, a.starts_at, a.ends_at,
       case when a.practitioner_id = :practitioner and a.slot_id <> :slot then 'practitioner'
            when a.room_id = :room and a.slot_id <> :slot then 'room'
            else 'patient' end as resource
from unnest(cast(:starts as timestamptz[]), cast(:ends as timestamptz[]))
     with ordinality as o(s, e, n)
join appointment a
  on a.tenant_id = :tenant and a.status <> 'cancelled'
 and a.starts_at < o.e and a.ends_at > o.s and a.starts_at > o.s - interval '4 hours'
 and (a.practitioner_id = :practitioner and a.slot_id <> :slot
      or a.room_id = :room and a.slot_id <> :slot
      or a.patient_id = :patient)
 and a.id <> all(cast(:exclude as uuid[]))
order by o.n, a.starts_at, a.id
""")


async def conflicts(
    session: AsyncSession,
    tenant: TenantId,
    parties: Parties,
    times: Sequence[tuple[dt.datetime, dt.datetime]],
    *,
    exclude: Sequence[uuid.UUID] = (),
) -> Sequence[Row[Any]]:
    """Live appointments overlapping each of `times` for the same practitioner, room
    or patient; `position` is the index in `times`."""
    result = await session.execute(
        _CONFLICTS,
        {
            "tenant": tenant,
            "practitioner": parties.practitioner_id,
            "room": parties.room_id,
            "patient": parties.patient_id,
            "slot": parties.slot_id,
            "starts": [start for start, _ in times],
            "ends": [end for _, end in times],
            "exclude": list(exclude),
        },
    )
    return result.all()


_MOVE = text("""
update appointment a
   set starts_at = m.s, ends_at = m.e, version = a.version + 1, updated_at = now(),
       status = case when a.status = 'confirmed' and a.starts_at <> m.s
                     then 'scheduled' else a.status end,
       status_changed_at = case when a.status = 'confirmed' and a.starts_at <> m.s
                                then now() else a.status_changed_at end
  from unnest(cast(:ids as uuid[]), cast(:starts as timestamptz[]), cast(:ends as timestamptz[]))
       as m(id, s, e)
 where a.tenant_id = :tenant and a.id = m.id
""")


async def move(
    session: AsyncSession,
    tenant: TenantId,
    moves: Sequence[tuple[uuid.UUID, dt.datetime, dt.datetime]],
) -> None:
    """One statement, so occurrences of a series can shift past each other: the
    exclusion constraints are DEFERRABLE and checked when the statement ends."""
    await session.execute(
        _MOVE,
        {
            "tenant": tenant,
            "ids": [m[0] for m in moves],
            "starts": [m[1] for m in moves],
            "ends": [m[2] for m in moves],
        },
    )


async def set_fields(
    session: AsyncSession, tenant: TenantId, ids: Sequence[uuid.UUID], values: dict[str, Any]
) -> None:
    await session.execute(
        update(Appointment)
        .where(Appointment.tenant_id == tenant, Appointment.id.in_(ids))
        .values(**values, version=Appointment.version + 1, updated_at=func.now())
        .execution_options(synchronize_session=False)
    )


async def transition(
    session: AsyncSession,
    tenant: TenantId,
    ids: Sequence[uuid.UUID],
    *,
    allowed_from: Sequence[str],
    values: dict[str, Any],
) -> list[uuid.UUID]:
    """Moves the rows still in one of `allowed_from`; returns the ids it changed."""
    result = await session.execute(
        update(Appointment)
        .where(
            Appointment.tenant_id == tenant,
            Appointment.id.in_(ids),
            Appointment.status.in_(allowed_from),
        )
        .values(
            **values,
            status_changed_at=func.now(),
            version=Appointment.version + 1,
            updated_at=func.now(),
        )
        .returning(Appointment.id)
        .execution_options(synchronize_session=False)
    )
    return list(result.scalars())


async def series_members(
    session: AsyncSession,
    tenant: TenantId,
    series_id: uuid.UUID,
    *,
    starting_from: dt.datetime | None,
    statuses: Sequence[str],
) -> list[Appointment]:
    statement = (
        select(Appointment)
        .where(
            Appointment.tenant_id == tenant,
            Appointment.series_id == series_id,
            Appointment.status.in_(statuses),
        )
        .order_by(Appointment.starts_at)
        .with_for_update()
    )
    if starting_from is not None:
        statement = statement.where(Appointment.starts_at >= starting_from)
    return list(await session.scalars(statement))


async def all_in_series(
    session: AsyncSession, tenant: TenantId, series_id: uuid.UUID
) -> list[Appointment]:
    return list(
        await session.scalars(
            select(Appointment)
            .where(Appointment.tenant_id == tenant, Appointment.series_id == series_id)
            .order_by(Appointment.starts_at)
        )
    )


async def group_members(
    session: AsyncSession, tenant: TenantId, slot_id: uuid.UUID
) -> list[Appointment]:
    """Locks the group's rows: joins to the same group queue behind each other, so the
    capacity count cannot be raced."""
    return list(
        await session.scalars(
            select(Appointment)
            .where(Appointment.tenant_id == tenant, Appointment.slot_id == slot_id)
            .order_by(Appointment.id)
            .with_for_update()
        )
    )


async def agenda(
    session: AsyncSession,
    tenant: TenantId,
    *,
    start: dt.datetime,
    end: dt.datetime,
    practitioner_id: uuid.UUID | None,
    statuses: Sequence[str],
) -> Sequence[Row[Appointment, str, str, str]]:
    patient_name = func.coalesce(Patient.social_name, Patient.full_name)
    statement = (
        select(Appointment, patient_name, Practitioner.full_name, Room.name)
        .join(
            Patient,
            (Patient.tenant_id == Appointment.tenant_id) & (Patient.id == Appointment.patient_id),
        )
        .join(
            Practitioner,
            (Practitioner.tenant_id == Appointment.tenant_id)
            & (Practitioner.id == Appointment.practitioner_id),
        )
        .outerjoin(
            Room, (Room.tenant_id == Appointment.tenant_id) & (Room.id == Appointment.room_id)
        )
        .where(
            Appointment.tenant_id == tenant,
            Appointment.starts_at >= start,
            Appointment.starts_at < end,
            Appointment.status.in_(statuses),
        )
        .order_by(Appointment.starts_at, Appointment.id)
    )
    if practitioner_id is not None:
        statement = statement.where(Appointment.practitioner_id == practitioner_id)
    return (await session.execute(statement)).all()


async def busy(
    session: AsyncSession,
    tenant: TenantId,
    practitioner_id: uuid.UUID,
    *,
    start: dt.datetime,
    end: dt.datetime,
) -> list[tuple[dt.datetime, dt.datetime]]:
    """The practitioner's live bookings and time off (theirs and the clinic's) in range."""
    booked = select(Appointment.starts_at, Appointment.ends_at).where(
        Appointment.tenant_id == tenant,
        Appointment.practitioner_id == practitioner_id,
        Appointment.status.in_(LIVE),
        Appointment.starts_at < end,
        Appointment.starts_at > start - MAX_DURATION,
        Appointment.ends_at > start,
    )
    off = select(TimeOff.starts_at, TimeOff.ends_at).where(
        TimeOff.tenant_id == tenant,
        (TimeOff.practitioner_id == practitioner_id) | TimeOff.practitioner_id.is_(None),
        TimeOff.starts_at < end,
        TimeOff.ends_at > start,
    )
    rows = await session.execute(booked.union_all(off))
    return [(row[0], row[1]) for row in rows]


async def attendance(
    session: AsyncSession, tenant: TenantId, patient_id: uuid.UUID
) -> tuple[int, int, int, int]:
    counted = func.count().filter
    statement = select(
        counted(Appointment.status == "no_show"),
        counted(Appointment.status == "cancelled"),
        counted(Appointment.cancelled_by == "patient"),
        counted(Appointment.status == "completed"),
    ).where(Appointment.tenant_id == tenant, Appointment.patient_id == patient_id)
    no_shows, cancelled, by_patient, completed = (await session.execute(statement)).one()
    return no_shows, cancelled, by_patient, completed


async def rooms(session: AsyncSession, tenant: TenantId) -> list[Room]:
    return list(
        await session.scalars(select(Room).where(Room.tenant_id == tenant).order_by(Room.name))
    )


async def time_off(
    session: AsyncSession,
    tenant: TenantId,
    *,
    practitioner_id: uuid.UUID | None,
    start: dt.datetime,
    end: dt.datetime,
) -> list[TimeOff]:
    """Time off overlapping [start, end): the practitioner's own and the clinic's."""
    statement = (
        select(TimeOff)
        .where(TimeOff.tenant_id == tenant, TimeOff.starts_at < end, TimeOff.ends_at > start)
        .order_by(TimeOff.starts_at, TimeOff.id)
    )
    if practitioner_id is not None:
        statement = statement.where(
            (TimeOff.practitioner_id == practitioner_id) | TimeOff.practitioner_id.is_(None)
        )
    return list(await session.scalars(statement))
