"""Create -> verify -> restore on a populated database (the service in process, the real
pg_dump/pg_restore, real files); restores never touch the live database."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import os

import httpx
import pytest
from rich.console import Console

from fisioflow.backup.server import BackupError
from fisioflow.backup.service import DUMP_NAME, Backups
from fisioflow.core.database import DatabaseLocation
from fisioflow.core.migrations import head_revisions, upgrade
from fisioflow.demo.loader import load_demo
from fisioflow.settings import Settings
from tests.backup.conftest import drop, states, superuser
from tests.fixtures.clinical import create_patient
from tests.fixtures.records import create_team, signed_entry

RARE_NAME = "Zuleica Quintanilha Borges"


@pytest.fixture
async def populated(
    client: httpx.AsyncClient, settings: Settings, database: DatabaseLocation
) -> DatabaseLocation:
    """The demo clinic, plus a clinic with a signed record entry and a rare name."""
    await asyncio.to_thread(load_demo, settings, database, console=Console(file=io.StringIO()))
    team = await create_team(client)
    await signed_entry(client, team)
    await create_patient(client, team.admin, full_name=RARE_NAME)
    return database


class TestRoundTrip:
    async def test_every_table_comes_back_identical(
        self, populated: DatabaseLocation, backups: Backups
    ) -> None:
        manifest = await asyncio.to_thread(backups.create)
        live = states(populated)
        assert manifest.tables == live
        assert manifest.tables["patient"].rows >= 31
        assert manifest.tables["record_entry"].rows == 1

        report = await asyncio.to_thread(backups.verify, manifest.id)
        assert report.ok, report.failures
        assert {c.item for c in report.checks} >= {f"file {DUMP_NAME}", "table patient"}

        result = await asyncio.to_thread(backups.restore, manifest.id)
        try:
            assert result.migrated_from is None
            assert states(populated, result.database) == live
        finally:
            drop(populated, result.database)

    async def test_backup_files_hold_no_plaintext_names(
        self, populated: DatabaseLocation, backups: Backups, settings: Settings
    ) -> None:
        await asyncio.to_thread(backups.create)
        files = [p for p in settings.backup_folder.rglob("*") if p.is_file()]
        assert files
        for path in files:
            content = path.read_bytes()
            for needle in (RARE_NAME, "Quintanilha", "Marta Paciente", "Lombalgia"):
                assert needle.encode() not in content, path
                assert needle.encode("utf-16-le") not in content, path

    async def test_verification_is_recorded_and_listed(
        self, populated: DatabaseLocation, backups: Backups
    ) -> None:
        manifest = await asyncio.to_thread(backups.create)
        await asyncio.to_thread(backups.verify, manifest.id)
        listed = await asyncio.to_thread(backups.list_all)
        assert [(item.manifest.id, item.verified) for item in listed] == [(manifest.id, True)]


class TestRestoreNeverTouchesTheLiveDatabase:
    def test_the_live_database_name_is_refused(
        self, database: DatabaseLocation, backups: Backups
    ) -> None:
        manifest = backups.create()
        with pytest.raises(BackupError, match="is the live database"):
            backups.restore(manifest.id, target_db=database.owner_url.database)

    def test_an_existing_database_is_refused(
        self, database: DatabaseLocation, backups: Backups
    ) -> None:
        manifest = backups.create()
        first = backups.restore(manifest.id)
        try:
            with pytest.raises(BackupError, match="already exists"):
                backups.restore(manifest.id, target_db=first.database)
        finally:
            drop(database, first.database)

    def test_a_failed_restore_leaves_no_database_behind(
        self, database: DatabaseLocation, backups: Backups, settings: Settings
    ) -> None:
        manifest = backups.create()
        dump = settings.backup_folder / manifest.id / DUMP_NAME
        data = bytearray(dump.read_bytes())
        data[-100] ^= 0xFF
        dump.write_bytes(bytes(data))
        with pytest.raises(Exception, match="fails authentication"):
            backups.restore(manifest.id, target_db="restore_should_vanish")
        with superuser(database, "postgres") as conn:
            found = conn.execute(
                "select 1 from pg_database where datname = 'restore_should_vanish'"
            )
            assert found.fetchone() is None

    def test_replace_takes_a_safety_backup_and_keeps_the_old_database(
        self, database: DatabaseLocation, backups: Backups
    ) -> None:
        manifest = backups.create()
        with superuser(database) as conn:
            conn.execute("create table written_after_backup (id int)")
        result = backups.restore(manifest.id, replace=True)
        assert result.previous_kept_as is not None
        try:
            assert result.database == database.owner_url.database
            assert result.safety_backup in {i.manifest.id for i in backups.list_all()}
            assert "written_after_backup" not in states(database)
            assert "written_after_backup" in states(database, result.previous_kept_as)
        finally:
            drop(database, result.previous_kept_as)


class TestOlderBackups:
    def test_an_older_schema_is_migrated_to_head(
        self, database: DatabaseLocation, settings: Settings
    ) -> None:
        older = "0008_patient_search_knn"
        with superuser(database, "postgres") as conn:
            conn.execute("create database backup_older owner fisioflow_owner template template0")
        try:
            location = DatabaseLocation(
                owner_url=database.owner_url.set(database="backup_older"),
                app_url=database.app_url.set(database="backup_older"),
                superuser_url=database.superuser_url,
            )
            with superuser(database, "backup_older") as conn:
                for extension in ("pg_trgm", "unaccent", "btree_gist", "btree_gin", "citext"):
                    conn.execute(f"create extension {extension}")
            upgrade(location.owner_url, app_role=settings.app_db_role, revision=older)
            backups = Backups.open(settings, location)
            manifest = backups.create()
            assert manifest.alembic_revision == older
            result = backups.restore(manifest.id)
            assert result.migrated_from == older
            with superuser(database, result.database) as conn:
                row = conn.execute("select version_num from alembic_version").fetchone()
                assert row is not None
                assert {row[0]} == set(head_revisions())
            drop(database, result.database)
        finally:
            drop(database, "backup_older")


class TestPrune:
    def test_prune_keeps_by_policy_and_removes_stale_partials(
        self, backups: Backups, settings: Settings
    ) -> None:
        first, second = backups.create(), backups.create()
        stale = settings.backup_folder / ".partial-20200101T000000Z-dead00"
        stale.mkdir()
        (stale / DUMP_NAME).write_bytes(b"half")
        old = dt.datetime(2020, 1, 1).timestamp()
        for path in (stale / DUMP_NAME, stale):
            os.utime(path, (old, old))
        deleted = backups.prune()
        # Two the same day: only the newest of the day stays.
        assert deleted == [first.id]
        assert [i.manifest.id for i in backups.list_all()] == [second.id]
        assert not stale.exists()
