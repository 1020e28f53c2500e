"""The `fisioflow` command as a real process, each with its own data folder and port."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy.engine import make_url

import fisioflow
from fisioflow.core.bootstrap import libpq_dsn
from fisioflow.core.embedded import EmbeddedPostgres

_SCRIPT = Path(sys.executable).with_name("fisioflow")
FISIOFLOW = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "fisioflow"]
WAIT_S = 60.0  # an upper bound for slow machines, never a speed assertion


def clean_environment() -> dict[str, str]:
    """This process's environment without any FisioFlow or database setting."""
    own = ("FISIOFLOW_", "DATABASE_URL", "APP_DATABASE_URL", "REDIS_URL", "PG")
    return {key: value for key, value in os.environ.items() if not key.startswith(own)}


def environment(data_dir: Path, **extra: str) -> dict[str, str]:
    return {**clean_environment(), "FISIOFLOW_DATA_DIR": str(data_dir), "NO_COLOR": "1", **extra}


def cli(*args: str, data_dir: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*FISIOFLOW, *args],
        env=environment(data_dir, **extra),
        cwd=data_dir.parent,  # away from the repository's .env
        capture_output=True,
        text=True,
        timeout=WAIT_S,
    )


def assert_one_error_line(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.1)


class Server:
    """A `fisioflow serve`/`run` process in the background, its output in files."""

    def __init__(self, command: str, *, data_dir: Path, port: int) -> None:
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.stderr_path = data_dir.parent / f"{command}-{port}.stderr"
        with self.stderr_path.open("w") as stderr:
            self.process = subprocess.Popen(
                [*FISIOFLOW, command, "--port", str(port)],
                env=environment(data_dir),
                cwd=data_dir.parent,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )

    def ready(self) -> bool:
        if self.process.poll() is not None:
            pytest.fail(f"server exited with {self.process.returncode}:\n{self.stderr()}")
        try:
            return httpx.get(f"{self.base_url}/health/ready", timeout=5).status_code == 200
        except httpx.TransportError:
            return False

    def accepts_connections(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=5):
                return True
        except OSError:
            return False

    def terminate(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=WAIT_S)

    def stderr(self) -> str:
        return self.stderr_path.read_text()


@pytest.fixture
def start_server() -> Iterator[Callable[..., Server]]:
    started: list[Server] = []

    def start(command: str, *, data_dir: Path) -> Server:
        server = Server(command, data_dir=data_dir, port=free_port())
        started.append(server)
        wait_until(server.ready, f"{command} to answer /health/ready")
        return server

    yield start
    for server in started:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait()


def stop_leftover_postgres(data_dir: Path) -> None:
    embedded = EmbeddedPostgres(data_dir)
    if embedded.is_running():
        embedded.stop()


@contextmanager
def server_data_dir() -> Iterator[Path]:
    """A data folder directly in /tmp rather than under pytest's tmp_path.

    As root the embedded server runs as another OS user that must traverse every parent
    folder, and pytest resets /tmp/pytest-of-<user> to 0700 whenever another pytest
    session starts, which would cut that user off mid-run.
    """
    folder = Path(tempfile.mkdtemp(prefix="fisioflow-test-"))
    folder.chmod(0o711)
    try:
        yield folder / "data"
    finally:
        stop_leftover_postgres(folder / "data")
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def migrated_data_dir() -> Iterator[Path]:
    with server_data_dir() as data_dir:
        result = cli("migrate", data_dir=data_dir)
        assert result.returncode == 0, result.stderr
        yield data_dir


@pytest.fixture
def fresh_data_dir() -> Iterator[Path]:
    with server_data_dir() as data_dir:
        yield data_dir


class TestVersion:
    def test_prints_the_package_version(self, tmp_path: Path) -> None:
        result = cli("version", data_dir=tmp_path / "data")
        assert result.returncode == 0
        assert result.stdout.strip() == fisioflow.__version__


class TestUnusableDatabaseUrl:
    def test_unknown_host(self, tmp_path: Path) -> None:
        url = "postgresql://u:p@no-such-host.invalid/db"
        result = cli("migrate", data_dir=tmp_path / "data", DATABASE_URL=url)
        assert_one_error_line(result, "no-such-host.invalid", "DATABASE_URL")

    def test_refused_port(self, tmp_path: Path) -> None:
        port = free_port()
        url = f"postgresql://u:p@127.0.0.1:{port}/db"
        result = cli("migrate", data_dir=tmp_path / "data", DATABASE_URL=url)
        assert_one_error_line(result, f"127.0.0.1:{port}", "DATABASE_URL")

    def test_not_a_url(self, tmp_path: Path) -> None:
        result = cli("migrate", data_dir=tmp_path / "data", DATABASE_URL="not a url")
        assert_one_error_line(result, "DATABASE_URL", "not a valid URL")

    def test_missing_role_on_a_real_server(
        self, tmp_path: Path, embedded_pg: EmbeddedPostgres
    ) -> None:
        url = f"postgresql://no_such_role@/postgres?host={embedded_pg.socket_dir}"
        result = cli("migrate", data_dir=tmp_path / "data", DATABASE_URL=url)
        assert_one_error_line(result, 'role "no_such_role" does not exist', "DATABASE_URL")


class TestInvalidSetting:
    def test_names_the_variable_in_one_line(self, tmp_path: Path) -> None:
        result = cli("migrate", data_dir=tmp_path / "data", FISIOFLOW_PORT="eighty")
        assert_one_error_line(result, "invalid configuration", "FISIOFLOW_PORT")


class TestServeBeforeMigrate:
    def test_refuses_and_names_the_migrate_command(self, fresh_data_dir: Path) -> None:
        result = cli("serve", "--port", str(free_port()), data_dir=fresh_data_dir)
        assert_one_error_line(result, "`fisioflow migrate`")
        assert not EmbeddedPostgres(fresh_data_dir).is_running()


class TestPortTaken:
    def test_second_server_refuses_and_the_first_keeps_serving(
        self, migrated_data_dir: Path, start_server: Callable[..., Server]
    ) -> None:
        first = start_server("serve", data_dir=migrated_data_dir)
        result = cli("serve", "--port", str(first.port), data_dir=migrated_data_dir)
        assert_one_error_line(result, f"port {first.port}", "--port")
        # the second process shared the embedded PostgreSQL and left it running
        assert first.ready()
        assert first.terminate() == 0


class TestGracefulShutdown:
    def test_sigterm_finishes_the_request_in_flight_then_stops_postgres(
        self, migrated_data_dir: Path, start_server: Callable[..., Server]
    ) -> None:
        server = start_server("serve", data_dir=migrated_data_dir)
        embedded = EmbeddedPostgres(migrated_data_dir)
        superuser = libpq_dsn(make_url(embedded.url(database="fisioflow")))
        with (
            psycopg.connect(superuser) as blocker,
            psycopg.connect(superuser, autocommit=True) as observer,
            ThreadPoolExecutor(1) as pool,
        ):
            # /health/ready reads alembic_version: hold it so the request stays in flight
            blocker.execute("lock table alembic_version in access exclusive mode")
            in_flight = pool.submit(httpx.get, f"{server.base_url}/health/ready", timeout=WAIT_S)
            wait_until(lambda: _waiting_on_lock(observer), "the request to block")

            server.process.send_signal(signal.SIGTERM)
            wait_until(lambda: not server.accepts_connections(), "the listener to close")
            assert server.process.poll() is None
            blocker.commit()
            assert in_flight.result(timeout=WAIT_S).status_code == 200

        assert server.process.wait(timeout=WAIT_S) == 0
        assert not embedded.is_running()


def _waiting_on_lock(observer: psycopg.Connection[tuple[object, ...]]) -> bool:
    row = observer.execute(
        "select count(*) from pg_stat_activity"
        " where wait_event_type = 'Lock' and query ilike '%from alembic_version%'"
    ).fetchone()
    return row is not None and row[0] == 1


class TestRun:
    def test_starts_everything_from_an_empty_folder(
        self, fresh_data_dir: Path, start_server: Callable[..., Server]
    ) -> None:
        server = start_server("run", data_dir=fresh_data_dir)
        docs = httpx.get(f"{server.base_url}/docs", timeout=5)
        assert docs.status_code == 200
        assert "swagger" in docs.text.lower()
        assert server.terminate() == 0
        assert not EmbeddedPostgres(fresh_data_dir).is_running()
