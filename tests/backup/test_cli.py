"""`fisioflow backup ...` as real processes, against the test's database (DATABASE_URL as
the test server's superuser, so no embedded server starts per command)."""

from __future__ import annotations

import resource
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from fisioflow.backup.keys import create_key_file
from fisioflow.backup.service import DUMP_NAME, Backups
from fisioflow.core.bootstrap import libpq_dsn
from fisioflow.core.database import DatabaseLocation, locate
from fisioflow.settings import Settings
from tests.backup.conftest import drop, states
from tests.core.test_cli import FISIOFLOW, WAIT_S, assert_one_error_line, clean_environment

Run = Callable[..., subprocess.CompletedProcess[str]]


def superuser_url(database: DatabaseLocation) -> str:
    assert database.superuser_url is not None
    return libpq_dsn(database.superuser_url.set(database=database.owner_url.database))


@pytest.fixture
def external(database: DatabaseLocation, tmp_path: Path) -> Backups:
    """What the commands below see, in process: arranging through it saves a process."""
    key_file = tmp_path / "backup.key"
    create_key_file(key_file)
    settings = Settings(
        database_url=superuser_url(database),
        data_dir=tmp_path / "data",
        backup_dir=tmp_path / "backups",
        backup_key_file=key_file,
    )
    return Backups.open(settings, locate(settings))


@pytest.fixture
def backup_cli(database: DatabaseLocation, tmp_path: Path, external: Backups) -> Run:
    url = superuser_url(database)
    key_file = tmp_path / "backup.key"

    def run(
        *args: str, limit_file_size: int | None = None, **extra: str
    ) -> subprocess.CompletedProcess[str]:
        env = {
            **clean_environment(),
            "DATABASE_URL": url,
            "FISIOFLOW_DATA_DIR": str(tmp_path / "data"),
            "FISIOFLOW_BACKUP_DIR": str(tmp_path / "backups"),
            "FISIOFLOW_BACKUP_KEY_FILE": str(key_file),
            "NO_COLOR": "1",
            "COLUMNS": "200",
            **extra,
        }
        return subprocess.run(
            [*FISIOFLOW, "backup", *args],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=WAIT_S * 2,
            preexec_fn=_file_size_limit(limit_file_size) if limit_file_size else None,
        )

    return run


def _file_size_limit(size: int) -> Callable[[], None]:
    """A real failing write, like a full disk: past `size` bytes write() fails (EFBIG)."""

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    return apply


def created_id(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


class TestCommands:
    def test_list_verify_restore(
        self, backup_cli: Run, external: Backups, database: DatabaseLocation
    ) -> None:
        backup_id = external.create(label="before-upgrade").id
        listed = backup_cli("list")
        assert listed.returncode == 0, listed.stderr
        assert backup_id in listed.stdout
        assert "before-upgrade" in listed.stdout

        verified = backup_cli("verify", "latest")
        assert verified.returncode == 0, verified.stderr
        assert "table patient" in verified.stdout
        assert "FAIL" not in verified.stdout
        assert f"backup {backup_id} verified" in verified.stderr

        restored = backup_cli("restore", backup_id, "--target-db", "cli_restored")
        try:
            assert restored.returncode == 0, restored.stderr
            assert restored.stdout.strip() == "cli_restored"
            live = states(database)
            copy = states(database, "cli_restored")
            assert copy.keys() == live.keys()
            assert copy["patient"] == live["patient"]
        finally:
            drop(database, "cli_restored")

    def test_replace_needs_a_confirmation(self, backup_cli: Run, external: Backups) -> None:
        backup_id = external.create().id
        result = backup_cli("restore", backup_id, "--replace")  # no terminal: no "yes"
        assert result.returncode == 1
        assert "Replace the live database?" in result.stderr
        assert [i.manifest.id for i in external.list_all()] == [backup_id]  # no safety backup


class TestDamage:
    def test_one_corrupt_byte_fails_verification_naming_the_file(
        self, backup_cli: Run, external: Backups, tmp_path: Path
    ) -> None:
        backup_id = external.create().id
        dump = tmp_path / "backups" / backup_id / DUMP_NAME
        data = bytearray(dump.read_bytes())
        data[len(data) // 2] ^= 0x01
        dump.write_bytes(bytes(data))

        result = backup_cli("verify", backup_id)
        assert result.returncode == 1
        assert f"file {DUMP_NAME}" in result.stdout
        assert "FAIL" in result.stdout
        assert_one_error_line(result, f"failed verification: file {DUMP_NAME}")

    def test_a_wrong_key_fails_with_one_clear_line(
        self, backup_cli: Run, external: Backups, tmp_path: Path
    ) -> None:
        backup_id = external.create().id
        other = tmp_path / "other.key"
        create_key_file(other)
        result = backup_cli("restore", backup_id, FISIOFLOW_BACKUP_KEY_FILE=str(other))
        assert_one_error_line(result, "wrong backup key", backup_id)

    def test_no_key_for_an_external_database_is_refused(self, backup_cli: Run) -> None:
        result = backup_cli("create", FISIOFLOW_BACKUP_KEY_FILE="")
        assert_one_error_line(result, "FISIOFLOW_BACKUP_KEY_FILE")


class TestFaults:
    def test_a_write_failure_midway_leaves_no_backup(
        self, backup_cli: Run, external: Backups, tmp_path: Path
    ) -> None:
        result = backup_cli("create", limit_file_size=4096)
        assert_one_error_line(result, "cannot write backup to", "File too large")
        assert [p.name for p in (tmp_path / "backups").iterdir()] == []
        assert external.list_all() == []

    def test_create_prints_the_new_id(self, backup_cli: Run, external: Backups) -> None:
        backup_id = created_id(backup_cli("create"))
        assert [i.manifest.id for i in external.list_all()] == [backup_id]

    def test_an_unwritable_target_is_one_clear_line(self, backup_cli: Run, tmp_path: Path) -> None:
        blocker = tmp_path / "not-a-folder"
        blocker.write_text("a file where the backup folder should be")
        result = backup_cli("create", FISIOFLOW_BACKUP_DIR=str(blocker / "backups"))
        assert_one_error_line(result, "cannot write backup to")
