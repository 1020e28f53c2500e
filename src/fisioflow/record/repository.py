"""SQL of the clinical record."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from fisioflow.auth.principal import TenantId
from fisioflow.models import Clinic, RecordEntry


@dataclass(frozen=True)
class Timeline:
    kinds: Sequence[str] = ()
    status: str | None = None
    signed_only: bool = False


async def patients_read_records(session: AsyncSession, tenant: TenantId) -> bool:
    enabled = await session.scalar(select(Clinic.patients_read_records).where(Clinic.id == tenant))
    return bool(enabled)


def _of_patient(tenant: TenantId, patient_id: uuid.UUID) -> Select[RecordEntry]:
    return select(RecordEntry).where(
        RecordEntry.tenant_id == tenant, RecordEntry.patient_id == patient_id
    )


async def timeline(
    session: AsyncSession,
    tenant: TenantId,
    patient_id: uuid.UUID,
    filters: Timeline,
    *,
    before: uuid.UUID | None,
    limit: int,
) -> list[RecordEntry]:
    """Newest first: ids are UUIDv7, so id order is creation order."""
    statement = _of_patient(tenant, patient_id).order_by(RecordEntry.id.desc()).limit(limit + 1)
    if filters.kinds:
        statement = statement.where(RecordEntry.kind.in_(filters.kinds))
    if filters.signed_only:
        statement = statement.where(RecordEntry.status == "signed")
    if filters.status is not None:
        statement = statement.where(RecordEntry.status == filters.status)
    if before is not None:
        statement = statement.where(RecordEntry.id < before)
    return list(await session.scalars(statement))


async def get(
    session: AsyncSession,
    tenant: TenantId,
    patient_id: uuid.UUID,
    record_id: uuid.UUID,
    *,
    signed_only: bool = False,
    for_update: bool = False,
) -> RecordEntry | None:
    statement = _of_patient(tenant, patient_id).where(RecordEntry.id == record_id)
    if signed_only:
        statement = statement.where(RecordEntry.status == "signed")
    if for_update:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    return await session.scalar(statement)


async def addenda(
    session: AsyncSession, tenant: TenantId, parent_id: uuid.UUID
) -> list[RecordEntry]:
    statement = (
        select(RecordEntry)
        .where(RecordEntry.tenant_id == tenant, RecordEntry.parent_id == parent_id)
        .order_by(RecordEntry.id)
    )
    return list(await session.scalars(statement))
