"""SQL of exercise logs: the hot paths (log a session, one patient's time range)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Date, cast, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from fisioflow.auth.principal import TenantId
from fisioflow.models import ExerciseLog, Patient, Prescription, PrescriptionItem
from fisioflow.models import PrescriptionItemVersion as Version


@dataclass(frozen=True)
class DayRow:
    """One item's sessions on one local day."""

    item_id: uuid.UUID
    day: dt.date
    sessions: int
    pain_before: int  # sums: divide by sessions for the mean
    pain_after: int


@dataclass(frozen=True)
class Target:
    """What a log points at, read in one round trip."""

    item_id: uuid.UUID
    prescription_id: uuid.UUID
    prescription_status: str
    practitioner_id: uuid.UUID | None  # the patient's, for alerts


async def target(
    session: AsyncSession, tenant: TenantId, patient_id: uuid.UUID, version_id: uuid.UUID
) -> Target | None:
    statement = (
        select(
            Version.item_id,
            PrescriptionItem.prescription_id,
            Prescription.status.label("prescription_status"),
            Patient.practitioner_id,
        )
        .join(
            PrescriptionItem,
            (PrescriptionItem.tenant_id == Version.tenant_id)
            & (PrescriptionItem.id == Version.item_id),
        )
        .join(
            Prescription,
            (Prescription.tenant_id == PrescriptionItem.tenant_id)
            & (Prescription.id == PrescriptionItem.prescription_id),
        )
        .join(
            Patient, (Patient.tenant_id == Version.tenant_id) & (Patient.id == Version.patient_id)
        )
        .where(
            Version.tenant_id == tenant,
            Version.patient_id == patient_id,
            Version.id == version_id,
        )
    )
    row = (await session.execute(statement)).mappings().first()
    return None if row is None else Target(**row)


async def insert_log(session: AsyncSession, values: dict[str, Any]) -> ExerciseLog | None:
    """The new log, or None when a log with the same Idempotency-Key exists (also one
    that a concurrent request committed while this insert waited on the unique index)."""
    statement = (
        insert(ExerciseLog)
        .values(**values)
        .on_conflict_do_nothing(constraint="uq_exercise_log_tenant_id_patient_id_idempotency_key")
        .returning(ExerciseLog)
    )
    return await session.scalar(statement)


async def by_key(
    session: AsyncSession, tenant: TenantId, patient_id: uuid.UUID, key: str
) -> ExerciseLog | None:
    return await session.scalar(
        select(ExerciseLog).where(
            ExerciseLog.tenant_id == tenant,
            ExerciseLog.patient_id == patient_id,
            ExerciseLog.idempotency_key == key,
        )
    )


async def get(
    session: AsyncSession,
    tenant: TenantId,
    patient_id: uuid.UUID,
    log_id: uuid.UUID,
    *,
    for_update: bool = False,
) -> ExerciseLog | None:
    statement = select(ExerciseLog).where(
        ExerciseLog.tenant_id == tenant,
        ExerciseLog.patient_id == patient_id,
        ExerciseLog.id == log_id,
    )
    if for_update:
        statement = statement.with_for_update()
    return await session.scalar(statement.execution_options(populate_existing=True))


async def list_page(
    session: AsyncSession,
    tenant: TenantId,
    patient_id: uuid.UUID,
    *,
    before: uuid.UUID | None,
    limit: int,
) -> list[ExerciseLog]:
    """Newest logged first."""
    statement = (
        select(ExerciseLog)
        .where(ExerciseLog.tenant_id == tenant, ExerciseLog.patient_id == patient_id)
        .order_by(ExerciseLog.id.desc())
        .limit(limit + 1)
    )
    if before is not None:
        statement = statement.where(ExerciseLog.id < before)
    return list(await session.scalars(statement))


async def daily(
    session: AsyncSession,
    tenant: TenantId,
    patient_id: uuid.UUID,
    *,
    since: dt.datetime,
    until: dt.datetime,
    tz: str,
) -> list[DayRow]:
    """Per item and local day: sessions, and the sums of pain before and after.

    Reads the (tenant_id, patient_id, performed_at) index range, one version lookup per
    log (primary key)."""
    day = cast(func.timezone(tz, ExerciseLog.performed_at), Date).label("day")
    statement = (
        select(
            Version.item_id,
            day,
            func.count().label("sessions"),
            func.sum(ExerciseLog.pain_before).label("pain_before"),
            func.sum(ExerciseLog.pain_after).label("pain_after"),
        )
        .join(
            Version,
            (Version.tenant_id == ExerciseLog.tenant_id)
            & (Version.id == ExerciseLog.item_version_id),
        )
        .where(
            ExerciseLog.tenant_id == tenant,
            ExerciseLog.patient_id == patient_id,
            ExerciseLog.performed_at >= since,
            ExerciseLog.performed_at < until,
        )
        .group_by(Version.item_id, day)
    )
    return [DayRow(*row) for row in await session.execute(statement)]


async def last_performed(
    session: AsyncSession, tenant: TenantId, patient_id: uuid.UUID, item_ids: list[uuid.UUID]
) -> dt.datetime | None:
    """When the patient last did any of these items."""
    statement = (
        select(func.max(ExerciseLog.performed_at))
        .join(
            Version,
            (Version.tenant_id == ExerciseLog.tenant_id)
            & (Version.id == ExerciseLog.item_version_id),
        )
        .where(
            ExerciseLog.tenant_id == tenant,
            ExerciseLog.patient_id == patient_id,
            Version.item_id.in_(item_ids),
        )
    )
    return await session.scalar(statement)
