"""`fisioflow clinic export`: every row a clinic owns, from one consistent snapshot, into an
encrypted archive (`archive.py`).

Runs as the owner (DATABASE_URL, or the embedded owner) in one REPEATABLE READ, READ ONLY
transaction. Tenant tables FORCE row-level security on their owner too, so the clinic's
tenancy settings are set first, as for any command (`app.role` empty: a system actor that
the record policies let read every entry); tables outside RLS (patient_search) are
filtered by tenant_id in the same statement.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL

from fisioflow import __version__
from fisioflow.core.bootstrap import libpq_dsn
from fisioflow.portability.archive import Manifest, TableSpool, write_archive
from fisioflow.portability.catalog import Table, tenant_tables
from fisioflow.portability.keys import Secret

FETCH = 2000
MAX_DEPTH = 64


class ClinicNotFoundError(LookupError):
    def __str__(self) -> str:
        return f"no clinic with slug {self.args[0]!r} in this database"


def export_clinic(owner_url: URL, slug: str, *, output: Path, secret: Secret) -> Manifest:
    with psycopg.connect(libpq_dsn(owner_url)) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        clinic = _clinic(conn, slug)
        set_tenancy(conn, clinic["id"], actor="command:clinic export")
        spools = [_dump(conn, table, clinic["id"]) for table in tenant_tables(conn)]
        manifest = Manifest(
            clinic=clinic,
            schema_revision=schema_revision(conn),
            postgres_version=str(conn.info.server_version),
            fisioflow_version=__version__,
        )
    write_archive(output, manifest, spools, secret)
    return manifest


def set_tenancy(conn: psycopg.Connection[Any], clinic_id: str, *, actor: str) -> None:
    conn.execute(
        "select set_config('app.tenant_id', %s, true), set_config('app.role', '', true),"
        " set_config('app.user_id', '', true), set_config('app.patient_id', '', true),"
        " set_config('app.actor', %s, true), set_config('app.request_id', %s, true)",
        [clinic_id, actor, str(uuid.uuid4())],
    )


def schema_revision(conn: psycopg.Connection[Any]) -> list[str]:
    return sorted(row[0] for row in conn.execute("select version_num from alembic_version"))


def _clinic(conn: psycopg.Connection[Any], slug: str) -> dict[str, str]:
    conn.execute("select set_config('app.clinic_slug', %s, true)", [slug])
    row = conn.execute("select id::text, slug::text, name from clinic where slug = %s", [slug])
    found = row.fetchone()
    if found is None:
        raise ClinicNotFoundError(slug)
    return {"id": found[0], "slug": found[1], "name": found[2]}


def _dump(conn: psycopg.Connection[Any], table: Table, clinic_id: str) -> TableSpool:
    spool = TableSpool(table.name)
    with conn.cursor(name=f"export_{table.name}") as cursor:
        cursor.itersize = FETCH
        cursor.execute(_rows_query(table), {"tenant": clinic_id})
        for (line,) in cursor:
            spool.write(line)
    return spool


def _rows_query(table: Table) -> sql.Composed:
    name = sql.Identifier(table.name)
    tenant = sql.Identifier(table.tenant_column)
    key = sql.SQL(", ").join(sql.Identifier(c) for c in table.key)
    if not table.self_references:
        return sql.SQL(
            "select to_jsonb(t)::text from {} t where t.{} = %(tenant)s order by {}"
        ).format(name, tenant, key)
    # Rows that reference rows of their own table come after them (depth in the tree).
    return sql.SQL(
        "with recursive walk as ("
        " select {t_key}, 0 as depth from {name} t where t.{tenant} = %(tenant)s"
        " union all"
        " select {c_key}, w.depth + 1 from walk w join {name} p on {p_is_w}"
        " join {name} c on {c_refs_p} where c.{tenant} = %(tenant)s and w.depth < {max_depth})"
        " select to_jsonb(t)::text from {name} t"
        " join (select {key}, max(depth) as depth from walk group by {key}) d using ({key})"
        " order by d.depth, {key}"
    ).format(
        name=name,
        tenant=tenant,
        key=key,
        t_key=_prefixed("t", table.key),
        c_key=_prefixed("c", table.key),
        p_is_w=_equal("p", table.key, "w", table.key),
        c_refs_p=sql.SQL(" or ").join(
            sql.SQL("({})").format(_equal("c", fk.child_columns, "p", fk.parent_columns))
            for fk in table.self_references
        ),
        max_depth=sql.Literal(MAX_DEPTH),
    )


def _prefixed(alias: str, columns: tuple[str, ...]) -> sql.Composed:
    return sql.SQL(", ").join(sql.Identifier(alias, c) for c in columns)


def _equal(
    left: str, left_columns: tuple[str, ...], right: str, right_columns: tuple[str, ...]
) -> sql.Composed:
    return sql.SQL(" and ").join(
        sql.SQL("{} = {}").format(sql.Identifier(left, a), sql.Identifier(right, b))
        for a, b in zip(left_columns, right_columns, strict=True)
    )
