"""SQL of user management."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fisioflow.auth.principal import TenantId
from fisioflow.models import User


async def list_page(
    session: AsyncSession, tenant: TenantId, *, after: uuid.UUID | None, limit: int
) -> list[User]:
    statement = select(User).where(User.tenant_id == tenant).order_by(User.id).limit(limit + 1)
    if after is not None:
        statement = statement.where(User.id > after)
    return list(await session.scalars(statement))


async def active_admin_count(session: AsyncSession, tenant: TenantId) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.tenant_id == tenant, User.role == "admin", User.is_active.is_(True))
    )
    return int(count or 0)


async def for_patient(
    session: AsyncSession, tenant: TenantId, patient_id: uuid.UUID
) -> User | None:
    return await session.scalar(
        select(User).where(User.tenant_id == tenant, User.patient_id == patient_id)
    )
