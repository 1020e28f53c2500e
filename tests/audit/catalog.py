"""Reads the catalog and lists every table that holds clinic or patient data without the
audit trigger (core.migration_helpers.attach_audit)."""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

# Tables with a tenant_id (or patient data) that are deliberately not audited. Adding one
# here is a decision reviewed with the table's migration.
EXEMPT = {
    # The audit trail itself: events are its content; the chain head is its index.
    "audit_event": "the audit trail itself (append-only, hash-chained)",
    "audit_chain_head": "the audit chain's last seq and hash per clinic, derived",
    # A copy of patient names for search, maintained by a trigger on patient: its every
    # change is a patient change, audited there. The application role cannot touch it.
    "patient_search": "derived search copy of patient, written only by its trigger",
    "patient_search_word": "words of the clinic's patient names (search vocabulary), derived",
}
# The job queue has no tenant_id and holds ids, not health data (tests/tenancy/catalog.py).
PATIENT_COLUMN = "patient_id"
SECRET_COLUMN = re.compile(r"password_hash|token_hash|secret")

_TABLES = text(
    """
    select c.relname as name,
           array(select a.attname::text from pg_attribute a
                 where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped) as columns,
           (select t.tgargs from pg_trigger t join pg_proc p on p.oid = t.tgfoid
            where t.tgrelid = c.oid and p.proname = 'audit_row_change'
              and t.tgenabled <> 'D' and not t.tgisinternal
              and t.tgtype & 28 = 28  -- INSERT (4) + DELETE (8) + UPDATE (16)
            limit 1) as audit_args
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relispartition
    order by c.relname
    """
)


def _holds_clinic_or_patient_data(name: str, columns: list[str]) -> bool:
    return name in ("clinic", "patient") or "tenant_id" in columns or PATIENT_COLUMN in columns


async def audited_tables(conn: AsyncConnection) -> set[str]:
    rows = (await conn.execute(_TABLES)).mappings()
    return {row["name"] for row in rows if row["audit_args"] is not None}


async def audit_problems(conn: AsyncConnection) -> list[str]:
    problems = []
    for row in (await conn.execute(_TABLES)).mappings():
        name, columns = row["name"], list(row["columns"])
        if name in EXEMPT or not _holds_clinic_or_patient_data(name, columns):
            continue
        if row["audit_args"] is None:
            problems.append(f"{name}: no audit trigger (call attach_audit in its migration)")
            continue
        args = bytes(row["audit_args"]).split(b"\x00")
        secrets = {a.decode() for a in args[2:] if a}
        for column in columns:
            if SECRET_COLUMN.search(column) and column not in secrets:
                problems.append(f"{name}.{column}: looks secret but is audited in clear")
    return problems
