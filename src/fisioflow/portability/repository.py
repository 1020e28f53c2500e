"""SQL of the patient export: the tables that hold a patient's rows, read from the
catalog as the application role, and those rows under the caller's row-level security."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from fisioflow.auth.principal import TenantId

# Columns never handed out, whatever table they are in (credentials, token digests).
REDACTED_COLUMNS = r"password|secret|token_hash"

_PATIENT_TABLES = text(
    """
    select c.relname,
           exists (select 1 from pg_attribute a where a.attrelid = c.oid
                   and a.attname = 'id' and not a.attisdropped) as has_id,
           array(select a.attname::text from pg_attribute a where a.attrelid = c.oid
                 and a.attnum > 0 and not a.attisdropped and a.attname ~ :secret) as secret
    from pg_class c
    where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
      and not c.relispartition and has_table_privilege(c.oid, 'SELECT')
      and exists (select 1 from pg_attribute a where a.attrelid = c.oid
                  and a.attname = 'patient_id' and not a.attisdropped)
      and exists (select 1 from pg_attribute a where a.attrelid = c.oid
                  and a.attname = 'tenant_id' and not a.attisdropped)
    order by c.relname
    """
)


@dataclass(frozen=True)
class PatientTable:
    name: str
    has_id: bool
    secret: tuple[str, ...]


async def patient_tables(session: AsyncSession) -> list[PatientTable]:
    rows = await session.execute(_PATIENT_TABLES, {"secret": REDACTED_COLUMNS})
    return [PatientTable(name, has_id, tuple(secret)) for name, has_id, secret in rows]


async def patient_row(
    session: AsyncSession, tenant: TenantId, patient_id: uuid.UUID
) -> dict[str, Any] | None:
    row = await session.execute(
        text("select to_jsonb(p) from patient p where p.tenant_id = :t and p.id = :id"),
        {"t": tenant, "id": patient_id},
    )
    found: dict[str, Any] | None = row.scalar_one_or_none()
    return found


async def rows_of(
    session: AsyncSession, table: PatientTable, tenant: TenantId, patient_id: uuid.UUID
) -> list[dict[str, Any]]:
    name = '"' + table.name.replace('"', '""') + '"'
    order = " order by t.id" if table.has_id else ""
    statement = text(
        f"select to_jsonb(t) - cast(:secret as text[]) from {name} t"  # noqa: S608 - catalog name, quoted
        f" where t.tenant_id = :t and t.patient_id = :p{order}"
    )
    result = await session.execute(
        statement, {"secret": list(table.secret), "t": tenant, "p": patient_id}
    )
    return list(result.scalars())
