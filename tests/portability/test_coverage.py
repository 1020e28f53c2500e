"""Every table is either exported with its clinic or declared global, and a tenant table
added later is exported and imported without touching the portability code."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import psycopg
import pytest

from fisioflow.core.database import DatabaseLocation
from fisioflow.portability.catalog import GLOBAL_TABLES, CatalogError, tenant_tables
from fisioflow.portability.exporter import export_clinic
from fisioflow.portability.importer import import_clinic
from fisioflow.portability.keys import Secret
from tests.portability.conftest import assert_moved, clinic_rows, superuser

ALL_TABLES = """
select c.relname, exists (select 1 from pg_attribute a where a.attrelid = c.oid
                          and a.attname = 'tenant_id' and not a.attisdropped)
from pg_class c
where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
  and not c.relispartition
"""


def test_every_table_is_exported_or_global(database: DatabaseLocation) -> None:
    with psycopg.connect(superuser(database.owner_url)) as conn:
        tables = dict(conn.execute(ALL_TABLES).fetchall())
        exported = {t.name for t in tenant_tables(conn)}
    owned = {name for name, has_tenant in tables.items() if has_tenant} | {"clinic"}
    assert exported == owned
    assert set(tables) - owned == GLOBAL_TABLES, "GLOBAL_TABLES must list exactly the rest"


def test_a_table_that_is_neither_stops_the_export(database: DatabaseLocation) -> None:
    with psycopg.connect(superuser(database.owner_url)) as conn:
        conn.execute("create table stray (note text)")
        with pytest.raises(CatalogError, match="stray has no tenant_id"):
            tenant_tables(conn)


def test_cycles_are_broken_at_a_nullable_column(database: DatabaseLocation) -> None:
    with psycopg.connect(superuser(database.owner_url)) as conn:
        tables = {t.name: t for t in tenant_tables(conn)}
    deferred = {name: t.deferred for name, t in tables.items() if t.deferred}
    assert len(deferred) == 1  # user_account -> patient -> practitioner -> user_account
    assert [fk.name for fk in tables["record_entry"].self_references] == [
        "fk_record_entry_tenant_id_patient_id_parent_id_record_entry"
    ]


def test_a_tenant_table_added_later_moves_with_its_clinic(
    database: DatabaseLocation, second_database: DatabaseLocation, tmp_path: Path
) -> None:
    clinic_id = uuid.uuid4()
    create = """
        create table wellness_note (
            tenant_id uuid not null references clinic (id),
            id uuid not null, body text not null, parent_id uuid,
            primary key (tenant_id, id),
            foreign key (tenant_id, parent_id) references wellness_note (tenant_id, id))
    """
    for location in (database, second_database):
        with psycopg.connect(superuser(location.owner_url)) as conn:
            conn.execute(create)
            conn.execute("alter table wellness_note owner to fisioflow_owner")
    with psycopg.connect(superuser(database.owner_url)) as conn:
        conn.execute(
            "insert into clinic (id, name, slug, timezone, locale)"
            " values (%s, 'Nova', 'nova', 'UTC', 'pt-BR')",
            [clinic_id],
        )
        root, child = uuid.uuid4(), uuid.uuid4()
        # The child's id sorts first: only the depth order puts its parent before it.
        child, root = sorted([root, child])
        conn.execute(
            "insert into wellness_note values (%s, %s, 'raiz', null), (%s, %s, 'filha', %s)",
            [clinic_id, root, clinic_id, child, root],
        )
    secret = Secret(key=os.urandom(32))
    path = tmp_path / "nova.ffclinic"
    export_clinic(database.owner_url, "nova", output=path, secret=secret)
    manifest = import_clinic(second_database.owner_url, path, secret=secret)
    assert manifest.rows()["wellness_note"] == 2
    assert_moved(
        clinic_rows(database.owner_url, clinic_id),
        clinic_rows(second_database.owner_url, clinic_id),
    )
