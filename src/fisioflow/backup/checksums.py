"""Row counts and content checksums of every table, computed in SQL.

A table's checksum is the sum, over its rows, of the MD5 of the row's text form (two
64-bit halves summed as numerics): independent of row order, sensitive to any changed,
missing or duplicated row. The text form depends on session settings (time zone, date
style, float digits), so they are pinned before reading.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql

from fisioflow.backup.manifest import TableState
from fisioflow.backup.server import Connection, Server

_STABLE_TEXT = (
    "set local timezone = 'UTC'",
    "set local datestyle = 'ISO, YMD'",
    "set local intervalstyle = 'postgres'",
    "set local extra_float_digits = 3",
    "set local bytea_output = 'hex'",
    "set local row_security = off",
)
_TABLES = """
select n.nspname, c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
where c.relkind = 'r' and c.relpersistence = 'p'
  and n.nspname not in ('pg_catalog', 'information_schema')
  and n.nspname not like 'pg\\_%'
  and not exists (select 1 from pg_depend d where d.classid = 'pg_class'::regclass
                  and d.objid = c.oid and d.deptype = 'e')
order by 1, 2
"""
_STATE = """
select count(*),
       coalesce(sum(('x' || substr(h, 1, 16))::bit(64)::bigint::numeric), 0),
       coalesce(sum(('x' || substr(h, 17, 16))::bit(64)::bigint::numeric), 0)
from (select md5(t::text) as h from only {} as t) as rows
"""


def table_states(conn: Connection) -> dict[str, TableState]:
    """Every table's state, inside the caller's transaction (its snapshot)."""
    for statement in _STABLE_TEXT:
        conn.execute(statement)
    states: dict[str, TableState] = {}
    for schema, table in conn.execute(_TABLES).fetchall():
        query = sql.SQL(_STATE).format(sql.Identifier(str(schema), str(table)))
        row = conn.execute(query).fetchone()
        assert row is not None
        digest = hashlib.sha256(f"{row[1]}:{row[2]}".encode()).hexdigest()[:32]
        name = str(table) if schema == "public" else f"{schema}.{table}"
        states[name] = TableState(rows=int(str(row[0])), checksum=digest)
    return states


@contextmanager
def exported_snapshot(server: Server) -> Iterator[tuple[str, Connection]]:
    """A read-only REPEATABLE READ transaction whose snapshot pg_dump can share
    (`--snapshot`); it stays open until the block ends."""
    with server.connect() as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        row = conn.execute("select pg_export_snapshot()").fetchone()
        assert row is not None
        try:
            yield str(row[0]), conn
        finally:
            conn.rollback()


def database_states(server: Server, database: str) -> dict[str, TableState]:
    with server.connect(database) as conn:
        conn.read_only = True
        try:
            return table_states(conn)
        finally:
            conn.rollback()


def compare(
    expected: dict[str, TableState], actual: dict[str, TableState]
) -> list[tuple[str, str, str, bool]]:
    """(table, expected, actual, ok) for every table on either side."""
    rows = []
    for name in sorted(expected.keys() | actual.keys()):
        want, got = expected.get(name), actual.get(name)
        ok = want == got
        rows.append((name, _show(want), _show(got), ok))
    return rows


def _show(state: TableState | None) -> str:
    return "missing" if state is None else f"{state.rows} rows {state.checksum[:12]}"
