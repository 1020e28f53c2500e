"""Point-in-time recovery on an embedded server of its own that archives WAL: rows
written at t1, t2, t3; `fisioflow backup restore --to` a moment between t2 and t3 (a real
process) brings back exactly t1 and t2, while the live database keeps all three."""

from __future__ import annotations

import datetime as dt
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from fisioflow.backup.pitr import base_backup
from fisioflow.backup.service import Backups
from fisioflow.core.bootstrap import libpq_dsn
from fisioflow.core.database import DatabaseLocation
from fisioflow.core.runtime import database, migrate
from fisioflow.settings import Settings
from tests.core.test_cli import FISIOFLOW, environment

BRT = dt.timezone(dt.timedelta(hours=-3))


@pytest.fixture
def archiving(pg_tmp_path: Path) -> Iterator[tuple[Settings, DatabaseLocation]]:
    """A migrated embedded server with WAL archiving, held by this process."""
    settings = Settings(data_dir=pg_tmp_path / "data", environment="test")
    with database(settings) as location:
        migrate(location, settings)
        yield settings, location


def su(location: DatabaseLocation, name: str | None = None) -> psycopg.Connection:
    assert location.superuser_url is not None
    url = location.superuser_url.set(database=name or location.owner_url.database)
    return psycopg.connect(libpq_dsn(url), autocommit=True)


def add_clinic(location: DatabaseLocation, slug: str) -> None:
    with su(location) as conn:
        conn.execute(
            "insert into clinic (id, name, slug, timezone, locale)"
            " values (gen_random_uuid(), %s, %s, 'America/Sao_Paulo', 'pt-BR')",
            [f"Clínica {slug}", slug],
        )


def slugs(location: DatabaseLocation, name: str | None = None) -> set[str]:
    with su(location, name) as conn:
        return {str(row[0]) for row in conn.execute("select slug from clinic")}


class TestPointInTimeRecovery:
    def test_restore_to_between_t2_and_t3(
        self, archiving: tuple[Settings, DatabaseLocation]
    ) -> None:
        settings, location = archiving
        assert base_backup(Backups.open(settings, location), required=True) is not None
        add_clinic(location, "pitr-t1")
        add_clinic(location, "pitr-t2")
        time.sleep(0.5)
        between = dt.datetime.now(BRT)
        time.sleep(0.5)
        add_clinic(location, "pitr-t3")

        moment = between.strftime("%Y-%m-%d %H:%M:%S.%f") + "-03"
        result = subprocess.run(
            [*FISIOFLOW, "backup", "restore", "--to", moment, "--target-db", "recovered"],
            env=environment(settings.data_dir),
            cwd=settings.data_dir.parent,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "recovered"
        assert slugs(location, "recovered") == {"pitr-t1", "pitr-t2"}
        assert slugs(location) == {"pitr-t1", "pitr-t2", "pitr-t3"}
        assert not list(settings.data_dir.glob("pitr-*"))  # the recovered copy is gone

        sealed = list((settings.backup_folder / "wal").glob("*.zst.enc"))
        assert sealed
        for path in sealed:
            assert b"pitr-t2" not in path.read_bytes()

    def test_restore_to_a_moment_after_the_last_write(
        self, archiving: tuple[Settings, DatabaseLocation]
    ) -> None:
        settings, location = archiving
        assert base_backup(Backups.open(settings, location), required=True) is not None
        add_clinic(location, "pitr-last")
        time.sleep(0.5)
        moment = dt.datetime.now(BRT).strftime("%Y-%m-%d %H:%M:%S.%f") + "-03"
        result = subprocess.run(
            [*FISIOFLOW, "backup", "restore", "--to", moment, "--target-db", "idle"],
            env=environment(settings.data_dir),
            cwd=settings.data_dir.parent,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, result.stderr
        assert slugs(location, "idle") == {"pitr-last"}

    def test_a_time_without_offset_is_refused(
        self, archiving: tuple[Settings, DatabaseLocation]
    ) -> None:
        from fisioflow.backup.pitr import recover_to
        from fisioflow.backup.server import BackupError

        settings, location = archiving
        with pytest.raises(BackupError, match="UTC offset"):
            recover_to(Backups.open(settings, location), "2026-11-24 10:15:00")
        with pytest.raises(BackupError, match="no base backup"):
            recover_to(Backups.open(settings, location), "2020-01-01 10:15:00-03")
