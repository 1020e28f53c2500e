"""SQL of the clinic module."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fisioflow.auth.principal import TenantId
from fisioflow.models import Clinic


async def get(session: AsyncSession, tenant: TenantId) -> Clinic | None:
    return await session.scalar(select(Clinic).where(Clinic.id == tenant))


async def add(session: AsyncSession, clinic: Clinic) -> None:
    session.add(clinic)
    await session.flush()
