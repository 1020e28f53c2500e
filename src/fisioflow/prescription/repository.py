"""SQL of prescriptions, their items and item versions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fisioflow.auth.principal import TenantId
from fisioflow.models import Prescription, PrescriptionItem, PrescriptionItemVersion


async def list_page(
    session: AsyncSession,
    tenant: TenantId,
    patient_id: uuid.UUID,
    *,
    status: str | None,
    before: uuid.UUID | None,
    limit: int,
) -> list[Prescription]:
    """Newest first (UUIDv7 ids)."""
    statement = (
        select(Prescription)
        .where(Prescription.tenant_id == tenant, Prescription.patient_id == patient_id)
        .order_by(Prescription.id.desc())
        .limit(limit + 1)
    )
    if status is not None:
        statement = statement.where(Prescription.status == status)
    if before is not None:
        statement = statement.where(Prescription.id < before)
    return list(await session.scalars(statement))


async def of_patient(
    session: AsyncSession, tenant: TenantId, patient_id: uuid.UUID, *, statuses: Sequence[str]
) -> list[Prescription]:
    statement = select(Prescription).where(
        Prescription.tenant_id == tenant,
        Prescription.patient_id == patient_id,
        Prescription.status.in_(statuses),
    )
    return list(await session.scalars(statement.order_by(Prescription.id)))


async def get(
    session: AsyncSession,
    tenant: TenantId,
    patient_id: uuid.UUID,
    prescription_id: uuid.UUID,
    *,
    for_update: bool = False,
) -> Prescription | None:
    statement = select(Prescription).where(
        Prescription.tenant_id == tenant,
        Prescription.patient_id == patient_id,
        Prescription.id == prescription_id,
    )
    if for_update:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    return await session.scalar(statement)


async def items(
    session: AsyncSession, tenant: TenantId, prescription_ids: Sequence[uuid.UUID]
) -> list[PrescriptionItem]:
    statement = (
        select(PrescriptionItem)
        .where(
            PrescriptionItem.tenant_id == tenant,
            PrescriptionItem.prescription_id.in_(prescription_ids),
        )
        .order_by(PrescriptionItem.prescription_id, PrescriptionItem.position)
    )
    return list(await session.scalars(statement))


async def versions(
    session: AsyncSession, tenant: TenantId, item_ids: Sequence[uuid.UUID]
) -> list[PrescriptionItemVersion]:
    """Every version of these items, oldest first per item."""
    statement = (
        select(PrescriptionItemVersion)
        .where(
            PrescriptionItemVersion.tenant_id == tenant,
            PrescriptionItemVersion.item_id.in_(item_ids),
        )
        .order_by(PrescriptionItemVersion.item_id, PrescriptionItemVersion.version)
    )
    return list(await session.scalars(statement))


async def item(
    session: AsyncSession, tenant: TenantId, prescription_id: uuid.UUID, item_id: uuid.UUID
) -> PrescriptionItem | None:
    return await session.scalar(
        select(PrescriptionItem).where(
            PrescriptionItem.tenant_id == tenant,
            PrescriptionItem.prescription_id == prescription_id,
            PrescriptionItem.id == item_id,
        )
    )


async def current_version(
    session: AsyncSession, tenant: TenantId, item_id: uuid.UUID
) -> PrescriptionItemVersion | None:
    return await session.scalar(
        select(PrescriptionItemVersion)
        .where(
            PrescriptionItemVersion.tenant_id == tenant,
            PrescriptionItemVersion.item_id == item_id,
            PrescriptionItemVersion.superseded_at.is_(None),
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def next_position(session: AsyncSession, tenant: TenantId, prescription_id: uuid.UUID) -> int:
    highest = await session.scalar(
        select(func.max(PrescriptionItem.position)).where(
            PrescriptionItem.tenant_id == tenant,
            PrescriptionItem.prescription_id == prescription_id,
        )
    )
    return (highest or 0) + 1


async def active(session: AsyncSession, tenant: TenantId) -> list[Prescription]:
    statement = select(Prescription).where(
        Prescription.tenant_id == tenant, Prescription.status == "active"
    )
    return list(await session.scalars(statement))
