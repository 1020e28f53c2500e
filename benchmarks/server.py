"""Start the real server as subprocesses (`fisioflow migrate`, then `fisioflow serve`).

The server gets its own data folder under benchmarks/.data/ (embedded PostgreSQL lives
there and is reused across runs), WARNING-level logs, and rate limits raised so the
load itself is not throttled. It runs with that folder as its working directory so a
developer's `.env` in the repository does not redirect it to another database.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

BENCH_ENV = {
    "FISIOFLOW_LOG_LEVEL": "WARNING",
    "FISIOFLOW_IP_RATE_LIMIT": "1000000/minute",
    "FISIOFLOW_SIGNUP_RATE_LIMIT": "1000/minute",
    # One API process per core, as in production.
    "FISIOFLOW_WORKERS": str(os.cpu_count() or 1),
    "PYTHONUNBUFFERED": "1",
}
_UNSET = ("DATABASE_URL", "APP_DATABASE_URL")
MIGRATE_TIMEOUT_S = 300.0
READY_TIMEOUT_S = 300.0  # a busy shared machine can take minutes to start two workers
STOP_TIMEOUT_S = 40.0


class ServerError(RuntimeError):
    pass


def free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def fisioflow_command() -> list[str]:
    script = Path(sys.executable).parent / "fisioflow"
    return [str(script)] if script.exists() else [sys.executable, "-m", "fisioflow"]


class BenchServer:
    def __init__(self, data_dir: Path, *, host: str = "127.0.0.1") -> None:
        self.data_dir = data_dir.resolve()
        self.host = host
        self.port = 0
        self.log_path = self.data_dir / "server.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int:
        return self._process.pid if self._process is not None else -1

    @property
    def fisioflow_data_dir(self) -> Path:
        """FISIOFLOW_DATA_DIR of the server: its embedded PostgreSQL lives in there."""
        return self.data_dir / "fisioflow"

    @property
    def postmaster_pid_file(self) -> Path:
        return self.fisioflow_data_dir / "pgdata" / "postmaster.pid"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _UNSET}
        return {**env, **BENCH_ENV, "FISIOFLOW_DATA_DIR": str(self.fisioflow_data_dir)}

    def __enter__(self) -> BenchServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path.write_bytes(b"")
        self._migrate()
        self.port = free_port(self.host)
        self._start()
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _migrate(self) -> None:
        with self.log_path.open("ab") as log:
            try:
                done = subprocess.run(
                    [*fisioflow_command(), "migrate"],
                    env=self.env(),
                    cwd=self.data_dir,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    timeout=MIGRATE_TIMEOUT_S,
                    check=False,
                )
            except subprocess.TimeoutExpired as exc:
                raise ServerError(f"fisioflow migrate timed out; see {self.log_path}") from exc
        if done.returncode != 0:
            raise ServerError(f"fisioflow migrate failed: {self._log_tail()}")

    def _start(self) -> None:
        command = [*fisioflow_command(), "serve", "--host", self.host, "--port", str(self.port)]
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                command, env=self.env(), cwd=self.data_dir, stdout=log, stderr=subprocess.STDOUT
            )

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        with httpx.Client(base_url=self.base_url, timeout=5.0) as client:
            while time.monotonic() < deadline:
                if self._process is None or self._process.poll() is not None:
                    raise ServerError(f"fisioflow serve exited early: {self._log_tail()}")
                try:
                    if client.get("/health/ready").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.2)
        raise ServerError(f"server not ready after {READY_TIMEOUT_S:.0f} s: {self._log_tail()}")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def _log_tail(self, lines: int = 15) -> str:
        text = self.log_path.read_text(errors="replace").strip().splitlines()
        return "\n".join(text[-lines:]) or f"(empty log {self.log_path})"
