"""The embedded PostgreSQL manager, against real servers, each in its own data folder.

Starting a server costs about a second, so each test starts as few as it can.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

import fisioflow
from fisioflow.core.bootstrap import libpq_dsn
from fisioflow.core.embedded import EmbeddedPostgres

UNPRIVILEGED_USER = "nobody"
SRC_DIR = Path(fisioflow.__file__).resolve().parents[1]


def postmaster_pid(server: EmbeddedPostgres) -> int:
    return int(server.pgdata.joinpath("postmaster.pid").read_text().splitlines()[0])


def query(server: EmbeddedPostgres, statement: str) -> list[tuple[object, ...]]:
    with psycopg.connect(libpq_dsn(make_url(server.url())), autocommit=True) as conn:
        cursor = conn.execute(statement)
        return cursor.fetchall() if cursor.description else []


@pytest.fixture
def pg_tmp_path() -> Iterator[Path]:
    """A private folder directly in /tmp rather than under pytest's tmp_path.

    As root the server runs as another OS user that must traverse every parent folder,
    and pytest resets /tmp/pytest-of-<user> to 0700 whenever another pytest session
    starts, which would cut that user off mid-run. Short paths suit unix sockets too.
    """
    folder = Path(tempfile.mkdtemp(prefix="fisioflow-test-"))
    folder.chmod(0o711)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def server(pg_tmp_path: Path) -> Iterator[EmbeddedPostgres]:
    handle = EmbeddedPostgres(pg_tmp_path / "data", fast_unsafe=True)
    yield handle
    if handle.is_running():
        handle.stop()


class TestSharedServer:
    def test_two_handles_share_one_postmaster_and_the_last_one_out_stops_it(
        self, server: EmbeddedPostgres
    ) -> None:
        other = EmbeddedPostgres(server.data_dir)
        server.acquire()
        pid = postmaster_pid(server)
        other.acquire()
        assert postmaster_pid(other) == pid

        server.release()
        assert other.is_running()
        assert postmaster_pid(other) == pid
        assert query(other, "select 1") == [(1,)]

        other.release()
        assert not server.is_running()
        assert not server.pgdata.joinpath("postmaster.pid").exists()


class TestReuse:
    def test_next_start_reuses_the_folder_and_its_data(self, server: EmbeddedPostgres) -> None:
        server.acquire()
        query(server, "create table kept (id int)")
        server.release()
        assert not server.is_running()

        server.acquire()
        assert query(server, "select count(*) from kept") == [(0,)]
        server.release()

    def test_server_left_by_a_killed_process_is_adopted_then_stopped(
        self, server: EmbeddedPostgres
    ) -> None:
        leave_running = f"""
            import os
            from pathlib import Path
            from fisioflow.core.embedded import EmbeddedPostgres
            EmbeddedPostgres(Path({str(server.data_dir)!r})).acquire()
            os._exit(0)  # like SIGKILL: no release
        """
        subprocess.run([sys.executable, "-c", textwrap.dedent(leave_running)], check=True)
        pid = postmaster_pid(server)

        server.acquire()
        assert postmaster_pid(server) == pid
        server.release()
        assert not server.is_running()


class TestLongFolderPath:
    def test_socket_falls_back_to_tmp_and_the_server_answers(self, pg_tmp_path: Path) -> None:
        deep = pg_tmp_path / ("nested-" * 8) / ("deeper-" * 8)
        server = EmbeddedPostgres(deep, fast_unsafe=True)
        assert server.socket_dir.parent == Path("/tmp")  # noqa: S108
        try:
            server.acquire()
            assert query(server, "show unix_socket_directories") == [(str(server.socket_dir),)]
        finally:
            server.release()
            shutil.rmtree(server.socket_dir, ignore_errors=True)


# -- folders the current user cannot use --------------------------------------------------


def clean_environment() -> dict[str, str]:
    """This process's environment without any FisioFlow or database setting."""
    own = ("FISIOFLOW_", "DATABASE_URL", "APP_DATABASE_URL", "REDIS_URL", "PG")
    return {key: value for key, value in os.environ.items() if not key.startswith(own)}


def run_unprivileged(
    args: list[str], *, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run Python code as an ordinary user: `nobody` when the tests run as root."""
    full_env = {**clean_environment(), **(env or {})}
    if os.geteuid() != 0:
        return subprocess.run(
            [sys.executable, *args], cwd=cwd, env=full_env, capture_output=True, text=True
        )
    python = _python_for(UNPRIVILEGED_USER)
    for parent in cwd.parents:  # the same traversal right the embedded server gets as root
        parent.chmod(parent.stat().st_mode | 0o001)
    cwd.chmod(0o755)
    site_packages = sysconfig.get_paths()["purelib"]
    full_env |= {"PYTHONPATH": f"{SRC_DIR}{os.pathsep}{site_packages}", "HOME": str(cwd)}
    return subprocess.run(
        [python, *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        user=UNPRIVILEGED_USER,
    )


def _python_for(user: str) -> str:
    """An interpreter of this Python version that `user` may execute."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    candidates = [sys.executable, shutil.which(f"python{version}"), "/usr/bin/python3"]
    probe = "import sys; print(f'{sys.version_info.major}.{sys.version_info.minor}')"
    for candidate in filter(None, candidates):
        try:
            found = subprocess.run(
                [candidate, "-c", probe], capture_output=True, text=True, user=user
            )
        except OSError:
            continue
        if found.returncode == 0 and found.stdout.strip() == version:
            return candidate
    pytest.skip(f"no Python {version} interpreter that user {user} can run")


ACQUIRE = """
import sys
from pathlib import Path
from fisioflow.core.embedded import EmbeddedPostgres, EmbeddedPostgresError
try:
    EmbeddedPostgres(Path(sys.argv[1])).acquire()
except EmbeddedPostgresError as exc:
    print(exc)
    sys.exit(3)
print("acquired")
"""


def foreign_folder(pg_tmp_path: Path) -> Path:
    """A folder that belongs to someone other than the unprivileged user."""
    if os.geteuid() == 0:
        folder = pg_tmp_path / "theirs"
        folder.mkdir(mode=0o755)
        return folder
    return Path("/")


class TestUnusableDataFolder:
    def test_folder_of_another_user_is_refused(self, pg_tmp_path: Path) -> None:
        folder = foreign_folder(pg_tmp_path)
        result = run_unprivileged(["-c", ACQUIRE, str(folder)], cwd=pg_tmp_path)
        assert result.returncode == 3, result.stderr
        assert result.stdout.strip() == (
            f"data folder {folder} belongs to user root; run as that user "
            "or set FISIOFLOW_DATA_DIR to a folder you own"
        )

    def test_folder_that_cannot_be_created_is_refused(self, pg_tmp_path: Path) -> None:
        parent = pg_tmp_path / "read-only"
        parent.mkdir(mode=0o555)
        folder = parent / "data"
        result = run_unprivileged(["-c", ACQUIRE, str(folder)], cwd=pg_tmp_path)
        assert result.returncode == 3, result.stderr
        assert result.stdout.strip() == (
            f"cannot create data folder {folder}: permission denied; "
            "set FISIOFLOW_DATA_DIR to a folder you own"
        )

    def test_own_folder_without_write_permission_is_refused(self, pg_tmp_path: Path) -> None:
        folder = pg_tmp_path / "mine"
        folder.mkdir()
        if os.geteuid() == 0:
            shutil.chown(folder, user=UNPRIVILEGED_USER)
        folder.chmod(0o555)
        result = run_unprivileged(["-c", ACQUIRE, str(folder)], cwd=pg_tmp_path)
        folder.chmod(0o755)
        assert result.returncode == 3, result.stderr
        assert result.stdout.strip() == (
            f"data folder {folder} is not writable; fix its permissions "
            "or set FISIOFLOW_DATA_DIR to another folder"
        )

    def test_cli_says_it_in_one_line_without_traceback(self, pg_tmp_path: Path) -> None:
        folder = foreign_folder(pg_tmp_path)
        result = run_unprivileged(
            ["-m", "fisioflow", "migrate"],
            cwd=pg_tmp_path,
            env={"FISIOFLOW_DATA_DIR": str(folder), "NO_COLOR": "1", "COLUMNS": "200"},
        )
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        assert result.stderr.strip().splitlines() == [
            f"error: data folder {folder} belongs to user root; run as that user "
            "or set FISIOFLOW_DATA_DIR to a folder you own"
        ]
