"""A wrong DATABASE_URL password ends `fisioflow migrate` with one clear line. The embedded
server trusts local connections, so this test starts a second server from the same
binaries that demands a SCRAM password, on a loopback port."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from fisioflow.core.embedded import PG_OS_USER_WHEN_ROOT, POSTGRES_BIN_PATH
from tests.core.test_cli import assert_one_error_line, cli, free_port


def _as_pg_user() -> dict[str, object]:
    return {"user": PG_OS_USER_WHEN_ROOT} if os.geteuid() == 0 else {}


@pytest.fixture
def password_server() -> Iterator[int]:
    root = Path(tempfile.mkdtemp(prefix="ff-scram-", dir="/tmp"))
    pgdata, pwfile = root / "pgdata", root / "pw"
    pwfile.write_text("the-right-password\n")
    if os.geteuid() == 0:
        entry = pwd.getpwnam(PG_OS_USER_WHEN_ROOT)
        for path in (root, pwfile):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    port = free_port()
    run = {"check": True, "capture_output": True, "cwd": "/", **_as_pg_user()}
    subprocess.run(  # type: ignore[call-overload]
        [
            POSTGRES_BIN_PATH / "initdb",
            "-D",
            pgdata,
            "-U",
            "postgres",
            "--auth=scram-sha-256",
            f"--pwfile={pwfile}",
        ],
        **run,
    )
    subprocess.run(  # type: ignore[call-overload]
        [
            POSTGRES_BIN_PATH / "pg_ctl",
            "-D",
            pgdata,
            "-w",
            "-l",
            root / "log",
            "-o",
            f"-h 127.0.0.1 -p {port} -k {root}",
            "start",
        ],
        **run,
    )
    try:
        yield port
    finally:
        subprocess.run(  # type: ignore[call-overload]
            [POSTGRES_BIN_PATH / "pg_ctl", "-D", pgdata, "-m", "immediate", "-w", "stop"],
            **{**run, "check": False},
        )
        shutil.rmtree(root, ignore_errors=True)


def test_wrong_password_is_one_line(password_server: int, tmp_path: Path) -> None:
    url = f"postgresql://postgres:wrong@127.0.0.1:{password_server}/postgres"
    result = cli("migrate", data_dir=tmp_path / "data", DATABASE_URL=url)
    assert_one_error_line(result, "wrong password", "DATABASE_URL")


def test_right_password_gets_past_the_login(password_server: int, tmp_path: Path) -> None:
    """Control: the same URL with the right password connects (and migrates)."""
    url = f"postgresql://postgres:the-right-password@127.0.0.1:{password_server}/postgres"
    result = cli("migrate", data_dir=tmp_path / "data", DATABASE_URL=url)
    assert result.returncode == 0, result.stderr
