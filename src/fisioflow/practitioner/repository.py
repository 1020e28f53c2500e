"""SQL of the practitioner module."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fisioflow.auth.principal import TenantId
from fisioflow.models import Practitioner


async def list_page(
    session: AsyncSession,
    tenant: TenantId,
    *,
    after: uuid.UUID | None,
    limit: int,
    status: str | None,
) -> list[Practitioner]:
    statement = (
        select(Practitioner)
        .where(Practitioner.tenant_id == tenant)
        .order_by(Practitioner.id)
        .limit(limit + 1)
    )
    if after is not None:
        statement = statement.where(Practitioner.id > after)
    if status is not None:
        statement = statement.where(Practitioner.status == status)
    return list(await session.scalars(statement))


async def get(
    session: AsyncSession, tenant: TenantId, practitioner_id: uuid.UUID
) -> Practitioner | None:
    return await session.scalar(
        select(Practitioner).where(
            Practitioner.tenant_id == tenant, Practitioner.id == practitioner_id
        )
    )


async def id_for_user(
    session: AsyncSession, tenant: TenantId, user_id: uuid.UUID
) -> uuid.UUID | None:
    return await session.scalar(
        select(Practitioner.id).where(
            Practitioner.tenant_id == tenant, Practitioner.user_id == user_id
        )
    )


async def for_user(
    session: AsyncSession, tenant: TenantId, user_id: uuid.UUID
) -> Practitioner | None:
    return await session.scalar(
        select(Practitioner).where(
            Practitioner.tenant_id == tenant, Practitioner.user_id == user_id
        )
    )
