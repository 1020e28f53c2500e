"""Bulk loading as the owner role, inside one clinic's tenancy.

Row-level security is FORCEd on tenant tables, and PostgreSQL refuses `COPY FROM` on a
table whose RLS applies to the caller ("COPY FROM not supported with row-level
security"), even for the owner. So rows are copied into a temporary staging table (no
RLS) and moved with one `INSERT ... SELECT`, which the tenant policies check like any
insert: a row for another clinic would fail the transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from fisioflow.core.database import OWNER_ROLE
from fisioflow.core.embedded import EmbeddedPostgres

Connection = psycopg.Connection[tuple[Any, ...]]
PROGRESS_EVERY = 2_000


def owner_dsn(fisioflow_data_dir: Path, *, database: str = "fisioflow") -> str:
    """libpq DSN of the embedded server in FISIOFLOW_DATA_DIR, as the schema owner."""
    url = EmbeddedPostgres(fisioflow_data_dir).url(user=OWNER_ROLE, database=database)
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def connect(dsn: str) -> Connection:
    """Autocommit, so each `conn.transaction()` block is a real transaction of its own."""
    return psycopg.connect(dsn, autocommit=True)


@contextmanager
def tenant_transaction(conn: Connection, tenant_id: uuid.UUID) -> Iterator[Connection]:
    """One transaction with app.tenant_id set (transaction-local, as the app does)."""
    with conn.transaction():
        conn.execute("select set_config('app.tenant_id', %s, true)", [str(tenant_id)])
        yield conn


def clinic_id(conn: Connection, slug: str) -> uuid.UUID | None:
    """The clinic policy shows one row to whoever names its slug in app.clinic_slug."""
    with conn.transaction():
        conn.execute("select set_config('app.clinic_slug', %s, true)", [slug])
        row = conn.execute("select id from clinic where slug = %s", [slug]).fetchone()
    return None if row is None else row[0]


def table_columns(conn: Connection, table: str) -> dict[str, bool]:
    """Column name -> required (NOT NULL without a default); empty if the table is absent."""
    rows = conn.execute(
        "select column_name, is_nullable = 'NO' and column_default is null "
        "from information_schema.columns where table_schema = 'public' and table_name = %s",
        [table],
    ).fetchall()
    return {name: bool(required) for name, required in rows}


@contextmanager
def audit_paused(conn: Connection, tables: Sequence[str]) -> Iterator[None]:
    """Back-filled bench history without audit events: the `audit_row` triggers of
    `tables` are off inside the caller's transaction only (ALTER TABLE is transactional,
    no other session ever sees them off). Live requests on the data stay audited."""
    audited = [
        row[0]
        for row in conn.execute(
            "select c.relname from pg_trigger t join pg_class c on c.oid = t.tgrelid"
            " where t.tgname = 'audit_row' and c.relname = any(%s)",
            [list(tables)],
        ).fetchall()
    ]
    for table in audited:
        conn.execute(
            sql.SQL("alter table {} disable trigger audit_row").format(sql.Identifier(table))
        )
    yield
    for table in audited:
        conn.execute(
            sql.SQL("alter table {} enable trigger audit_row").format(sql.Identifier(table))
        )


def count(conn: Connection, table: str) -> int:
    row = conn.execute(sql.SQL("select count(*) from {}").format(sql.Identifier(table))).fetchone()
    return int(row[0]) if row else 0


def staged_insert(
    conn: Connection,
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    advance: Callable[[int], None] = lambda _: None,
    batches: Sequence[str] = ("true",),
) -> int:
    """COPY `rows` into a temporary copy of `table`, then insert them; returns the count.

    `batches` are SQL conditions over the staged rows, inserted in that order as separate
    statements, for rows whose triggers must see rows inserted before them. The table is
    analyzed between batches: with statistics that have not seen this clinic yet, the
    planner estimates one row for `tenant_id = X`, ties pk_record_entry with
    ix_record_entry_tenant_id_author_id and may take the latter, so the addendum trigger's
    parent lookup scans the clinic's whole timeline per row.
    """
    stage = sql.Identifier(f"stage_{table}")
    cols = sql.SQL(", ").join(map(sql.Identifier, columns))
    conn.execute(
        sql.SQL(
            "create temp table {} (like {} including defaults including generated) on commit drop"
        ).format(stage, sql.Identifier(table))
    )
    copied = _copy(conn, sql.SQL("copy {} ({}) from stdin").format(stage, cols), rows, advance)
    for n, condition in enumerate(batches):
        if n > 0:
            conn.execute(sql.SQL("analyze {}").format(sql.Identifier(table)))
        conn.execute(
            sql.SQL("insert into {} ({}) select {} from {} where {}").format(
                sql.Identifier(table), cols, cols, stage, sql.SQL(condition)
            )
        )
    return copied


def _copy(
    conn: Connection,
    statement: sql.Composed,
    rows: Iterable[Sequence[Any]],
    advance: Callable[[int], None],
) -> int:
    copied = 0
    with conn.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
            copied += 1
            if copied % PROGRESS_EVERY == 0:
                advance(PROGRESS_EVERY)
    advance(copied % PROGRESS_EVERY)
    return copied


def vacuum_analyze(dsn: str, tables: Sequence[str]) -> None:
    """Set hint bits and the visibility map as a settled database would have them."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        for table in tables:
            conn.execute(sql.SQL("vacuum (analyze) {}").format(sql.Identifier(table)))
