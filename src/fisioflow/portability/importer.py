"""`fisioflow clinic import`: load an archive into this database, all or nothing.

Order of work: decrypt and verify the whole archive (`archive.open_archive`), refuse a
schema revision other than this database's or a clinic that already exists here, then
in ONE transaction as the table owner:

1. set the clinic's tenancy settings: tenant tables FORCE row-level security on their
   owner too, so inserts are checked against the clinic like any other write;
2. `ALTER TABLE ... DISABLE TRIGGER USER` on every table of the clinic. Imported rows are
   history: an audit trigger must not log them as new events, the signed-record guard
   must not reject the late fill of a deferred column, and derived tables maintained by
   trigger (patient_search) are loaded from the archive as they were. Foreign keys and
   check constraints are *not* triggers of that kind and keep checking every row. The
   DDL is transactional and re-enabled before commit, so other sessions never see a table
   without its triggers, but they wait on its lock (SHARE ROW EXCLUSIVE) until the import
   commits: import in a quiet hour;
3. insert each table's rows with `jsonb_populate_recordset` in catalog order (parents
   first, cycles broken at deferred columns, then filled);
4. compare each table's row count with the manifest, re-enable triggers;
5. record the import itself as one audit event (actor `command:clinic import`), written
   by the chain trigger on top of the imported chain head, then commit.

The audit trail moves verbatim: `audit_event` rows keep their id, seq, time, actor and
hash (their trigger is off during the load, so nothing is rewritten or added), and
`audit_chain_head` comes along, so `fisioflow audit verify` passes at the new home and
the next event continues the same chain.

COPY is not an option: PostgreSQL refuses COPY FROM into a table with row-level security.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb
from sqlalchemy.engine import URL

from fisioflow.core.bootstrap import libpq_dsn
from fisioflow.portability.archive import ArchiveError, Manifest, OpenArchive, open_archive
from fisioflow.portability.catalog import Table, tenant_tables
from fisioflow.portability.exporter import schema_revision, set_tenancy
from fisioflow.portability.keys import Secret

BATCH = 1000
ACTOR = "command:clinic import"


class ImportRefusedError(RuntimeError):
    """The archive does not fit this database; nothing was written."""


def import_clinic(owner_url: URL, path: Path, *, secret: Secret) -> Manifest:
    with open_archive(path, secret) as archive:
        manifest = archive.manifest
        try:
            with psycopg.connect(libpq_dsn(owner_url)) as conn:
                _load(conn, archive)
        except psycopg.errors.IntegrityError as exc:
            raise ImportRefusedError(
                f"the archive does not fit this database: {_why(exc)}"
            ) from exc
        except psycopg.errors.InsufficientPrivilege as exc:
            raise ImportRefusedError(
                f"import must run as the owner of the tables (DATABASE_URL): {_why(exc)}"
            ) from exc
    return manifest


def _load(conn: psycopg.Connection[Any], archive: OpenArchive) -> None:
    manifest = archive.manifest
    _check_revision(conn, manifest)
    clinic_id = manifest.clinic["id"]
    set_tenancy(conn, clinic_id, actor=ACTOR)
    _check_absent(conn, manifest)
    tables = tenant_tables(conn, weights=manifest.rows())
    _check_tables(tables, manifest)
    _set_triggers(conn, tables, enabled=False)
    for table in tables:
        _insert(conn, table, archive.lines(table.name))
    for table in tables:
        if table.deferred:
            _fill_deferred(conn, table, archive.lines(table.name))
    _check_counts(conn, tables, manifest)
    _set_triggers(conn, tables, enabled=True)
    _record_import(conn, manifest)


def _check_revision(conn: psycopg.Connection[Any], manifest: Manifest) -> None:
    here = schema_revision(conn)
    if here != sorted(manifest.schema_revision):
        theirs = ", ".join(manifest.schema_revision)
        raise ImportRefusedError(
            f"the archive is at schema revision {theirs} and this database at "
            f"{', '.join(here) or 'none'}: bring both to the same revision "
            "(fisioflow migrate, then export again if the archive is older)"
        )


def _check_absent(conn: psycopg.Connection[Any], manifest: Manifest) -> None:
    slug = manifest.clinic["slug"]
    conn.execute("select set_config('app.clinic_slug', %s, true)", [slug])
    found = conn.execute(
        "select slug::text from clinic where id = %s or slug = %s", [manifest.clinic["id"], slug]
    ).fetchone()
    if found is not None:
        raise ImportRefusedError(f"clinic {found[0]!r} already exists in this database")


def _check_tables(tables: list[Table], manifest: Manifest) -> None:
    here = {t.name for t in tables}
    theirs = set(manifest.rows())
    if here != theirs:
        odd = sorted(here ^ theirs)
        raise ImportRefusedError(f"the archive's tables differ from this database's: {odd}")


def _set_triggers(conn: psycopg.Connection[Any], tables: list[Table], *, enabled: bool) -> None:
    action = sql.SQL("enable" if enabled else "disable")
    for table in tables:
        conn.execute(
            sql.SQL("alter table {} {} trigger user").format(sql.Identifier(table.name), action)
        )


def _insert(conn: psycopg.Connection[Any], table: Table, lines: Iterator[bytes]) -> None:
    name = sql.Identifier(table.name)
    values = sql.SQL(", ").join(
        sql.NULL if c in table.deferred else sql.Identifier("d", c) for c in table.insertable
    )
    statement = sql.SQL(
        "insert into {name} ({columns}) overriding system value"
        " select {values} from jsonb_populate_recordset(null::{name}, %s::jsonb) d"
    ).format(name=name, columns=_names(table.insertable), values=values)
    for batch in batched(lines, BATCH):
        conn.execute(statement, [_json_array(batch)])


def _fill_deferred(conn: psycopg.Connection[Any], table: Table, lines: Iterator[bytes]) -> None:
    name = sql.Identifier(table.name)
    statement = sql.SQL(
        "update {name} t set {assign} from jsonb_populate_recordset(null::{name}, %s::jsonb) d"
        " where {match} and ({any_set})"
    ).format(
        name=name,
        assign=sql.SQL(", ").join(
            sql.SQL("{} = {}").format(sql.Identifier(c), sql.Identifier("d", c))
            for c in table.deferred
        ),
        match=sql.SQL(" and ").join(
            sql.SQL("{} = {}").format(sql.Identifier("t", c), sql.Identifier("d", c))
            for c in table.key
        ),
        any_set=sql.SQL(" or ").join(
            sql.SQL("{} is not null").format(sql.Identifier("d", c)) for c in table.deferred
        ),
    )
    for batch in batched(lines, BATCH):
        conn.execute(statement, [_json_array(batch)])


def _check_counts(conn: psycopg.Connection[Any], tables: list[Table], manifest: Manifest) -> None:
    expected = manifest.rows()
    for table in tables:
        query = sql.SQL("select count(*) from {} where {} = %s").format(
            sql.Identifier(table.name), sql.Identifier(table.tenant_column)
        )
        row = conn.execute(query, [manifest.clinic["id"]]).fetchone()
        if row is None or row[0] != expected[table.name]:
            raise ArchiveError(
                f"{table.name}: {row[0] if row else 0} rows loaded, the manifest says "
                f"{expected[table.name]}; nothing was imported"
            )


def _record_import(conn: psycopg.Connection[Any], manifest: Manifest) -> None:
    clinic_id = manifest.clinic["id"]
    detail = {
        "import": {
            "exported_at": manifest.created_at,
            "fisioflow_version": manifest.fisioflow_version,
            "rows": manifest.rows(),
        }
    }
    conn.execute(
        "insert into audit_event (tenant_id, operation, table_name, record_id, detail)"
        " values (%s, 'INSERT', 'clinic', %s, %s)",
        [clinic_id, clinic_id, Jsonb(detail)],
    )


def batched(lines: Iterable[bytes], size: int) -> Iterator[tuple[bytes, ...]]:
    iterator = iter(lines)
    while batch := tuple(islice(iterator, size)):
        yield batch


def _names(columns: tuple[str, ...]) -> sql.Composed:
    return sql.SQL(", ").join(sql.Identifier(c) for c in columns)


def _json_array(lines: tuple[bytes, ...]) -> str:
    return "[" + ",".join(line.decode().rstrip("\n") for line in lines) + "]"


def _why(exc: psycopg.Error) -> str:
    diag = exc.diag
    where = f" ({diag.constraint_name})" if diag.constraint_name else ""
    return f"{diag.message_primary or str(exc).splitlines()[0]}{where}"
