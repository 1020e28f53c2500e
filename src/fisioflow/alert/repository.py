"""SQL of alerts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from fisioflow.auth.principal import TenantId
from fisioflow.core.ids import new_id
from fisioflow.models import Alert, Patient

DEDUPE = "uq_alert_tenant_id_dedupe_key"


def constraint_name(exc: IntegrityError) -> str | None:
    diag = getattr(exc.orig, "diag", None)
    return getattr(diag, "constraint_name", None)


@dataclass(frozen=True)
class Filters:
    status: str | None = None
    patient_id: uuid.UUID | None = None
    kind: str | None = None
    treated_by: uuid.UUID | None = None  # a practitioner sees their own patients' alerts


async def insert_once(session: AsyncSession, tenant: uuid.UUID, **values: Any) -> uuid.UUID | None:
    """The new alert's id; None when an alert with the same dedupe_key already there wins.

    A plain INSERT in a savepoint: a patient may raise an alert (their own log, SOS) but
    never read one, and both RETURNING and ON CONFLICT would need the SELECT policy."""
    alert_id = new_id()
    try:
        async with session.begin_nested():
            await session.execute(insert(Alert).values(tenant_id=tenant, id=alert_id, **values))
    except IntegrityError as exc:
        if constraint_name(exc) != DEDUPE:
            raise
        return None
    return alert_id


def _visible(tenant: TenantId, filters: Filters) -> Select[Alert, str]:
    statement = (
        select(Alert, Patient.full_name)
        .join(Patient, (Patient.tenant_id == Alert.tenant_id) & (Patient.id == Alert.patient_id))
        .where(Alert.tenant_id == tenant)
    )
    if filters.treated_by is not None:
        statement = statement.where(Patient.practitioner_id == filters.treated_by)
    if filters.status is not None:
        statement = statement.where(Alert.status == filters.status)
    if filters.patient_id is not None:
        statement = statement.where(Alert.patient_id == filters.patient_id)
    if filters.kind is not None:
        statement = statement.where(Alert.kind == filters.kind)
    return statement


async def list_page(
    session: AsyncSession,
    tenant: TenantId,
    filters: Filters,
    *,
    before: uuid.UUID | None,
    limit: int,
) -> list[tuple[Alert, str]]:
    statement = _visible(tenant, filters).order_by(Alert.id.desc()).limit(limit + 1)
    if before is not None:
        statement = statement.where(Alert.id < before)
    return [(alert, name) for alert, name in (await session.execute(statement)).all()]


async def is_visible(
    session: AsyncSession, tenant: TenantId, alert_id: uuid.UUID, filters: Filters
) -> bool:
    statement = _visible(tenant, filters).where(Alert.id == alert_id)
    return (await session.execute(statement)).first() is not None


async def get(
    session: AsyncSession, tenant: TenantId, alert_id: uuid.UUID, filters: Filters
) -> tuple[Alert, str] | None:
    statement = (
        _visible(tenant, filters)
        .where(Alert.id == alert_id)
        .with_for_update(of=Alert)
        .execution_options(populate_existing=True)
    )
    row = (await session.execute(statement)).first()
    return None if row is None else (row[0], row[1])
