"""Every SQL statement of the audit module (reads only: events are written by triggers
and by audit/access.py)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from fisioflow.models import AuditEvent


@dataclass(frozen=True)
class EventFilters:
    patient_id: uuid.UUID | None = None
    actor_id: uuid.UUID | None = None
    table: str | None = None
    operation: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


async def events(
    session: AsyncSession,
    tenant: uuid.UUID,
    filters: EventFilters,
    *,
    before: uuid.UUID | None,
    limit: int,
) -> Sequence[AuditEvent]:
    """Newest first (ids are time-ordered); `from`/`to` prune monthly partitions."""
    query = select(AuditEvent).where(AuditEvent.tenant_id == tenant)
    conditions = {
        AuditEvent.patient_id: filters.patient_id,
        AuditEvent.actor_user_id: filters.actor_id,
        AuditEvent.table_name: filters.table,
        AuditEvent.operation: filters.operation,
    }
    for column, value in conditions.items():
        if value is not None:
            query = query.where(column == value)
    if filters.since is not None:
        query = query.where(AuditEvent.occurred_at >= filters.since)
    if filters.until is not None:
        query = query.where(AuditEvent.occurred_at < filters.until)
    if before is not None:
        query = query.where(AuditEvent.id < before)
    return (await session.scalars(query.order_by(AuditEvent.id.desc()).limit(limit))).all()


async def clinics(session: AsyncSession, *, slug: str | None) -> list[tuple[uuid.UUID, str]]:
    """Every clinic (or the one with `slug`), read through the system_directory policy."""
    query = "select id, slug::text from clinic"
    if slug is not None:
        query += " where slug = :slug"
    rows = await session.execute(text(query + " order by slug"), {"slug": slug})
    return [(row[0], row[1]) for row in rows]


async def ensure_partitions(session: AsyncSession, *, months_ahead: int) -> int:
    """Create the monthly partitions up to `months_ahead` months from now (idempotent)."""
    created = await session.scalar(
        text("select audit_ensure_partitions(:months)"), {"months": months_ahead}
    )
    return int(created or 0)
