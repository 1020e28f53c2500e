"""Point-in-time recovery: base backups (pg_basebackup) plus the WAL archive (wal.py).

`recover_to` extracts the newest base backup that finished before the target time into
a private data directory under FISIOFLOW_DATA_DIR, starts it as its own PostgreSQL
(unix socket only, no archiving) with `recovery_target_time`, lets it replay archived
WAL up to that moment and promote, then copies its database into a new database of the
live server (pg_dump | pg_restore) and checks every table against the recovered one.
The recovered server is then stopped and its folder deleted: one code path for the
embedded and a self-hosted server, and the live server is never stopped.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import shlex
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from fisioflow.backup.archive import opened_reader
from fisioflow.backup.checksums import database_states
from fisioflow.backup.keys import key_id
from fisioflow.backup.manifest import Manifest
from fisioflow.backup.server import (
    BackupError,
    Server,
    alembic_revision,
    binary,
    check_tool_matches,
)
from fisioflow.backup.service import Backups, RestoreResult, new_backup_id
from fisioflow.backup.wal import SUFFIX, Sealer, unseal, wal_folder
from fisioflow.core.embedded import EmbeddedPostgres, EmbeddedPostgresError

BASE_NAME = "base.tar.zst.enc"
ARCHIVE_WAIT_S = 60.0
_OFFSET = re.compile(r"(Z|UTC|[+-]\d{2}(:?\d{2})?)$", re.IGNORECASE)


def base_backup(
    backups: Backups, *, label: str = "manual", required: bool = False
) -> Manifest | None:
    """A base backup, or None when the server does not archive WAL (unless required)."""
    server = backups.server
    backups.key()
    with server.connect(autocommit=True) as conn:
        if _show(conn, "archive_mode") == "off":
            if required:
                raise BackupError(
                    "the server does not archive WAL (archive_mode = off): base backups "
                    "are useless without it; see docs/operations.md, point-in-time recovery"
                )
            return None
        version, tool = check_tool_matches(conn, "pg_basebackup")
        if version.split(".")[0] != tool.split(".")[0]:
            raise BackupError(
                f"base backups need pg_basebackup {version.split('.')[0]}, have {tool}"
            )
        row = conn.execute(
            "select pg_walfile_name(pg_current_wal_lsn()),"
            " (select timeline_id from pg_control_checkpoint())"
        ).fetchone()
        assert row is not None
        revision = alembic_revision(conn)
    created = dt.datetime.now(dt.UTC)
    backup_id = new_backup_id(created)
    args, env = server.tool_args(server.database)
    pg_basebackup = [
        str(binary("pg_basebackup")),
        "-D",
        "-",
        "--format=tar",
        "--wal-method=fetch",
        "--checkpoint=fast",
        "--no-manifest",
        *args,
    ]
    with backups.writing(backup_id):
        entry = backups.write_file(backup_id, BASE_NAME, command=pg_basebackup, env=env)
    return backups.seal_new(
        Manifest(
            id=backup_id, kind="base", label=label, created_at=created,
            finished_at=dt.datetime.now(dt.UTC), database=server.database,
            postgres_version=version, tool_version=tool, alembic_revision=revision,
            key_id=key_id(backups.key()), tables={}, files=[entry], wal_start=str(row[0]),
            timeline=int(str(row[1])),
        )
    )  # fmt: skip


def clean_wal(backups: Backups, *, oldest_kept_base: Manifest | None) -> None:
    """Delete archived WAL older than the oldest base backup still kept."""
    folder = wal_folder(backups.settings)
    if oldest_kept_base is None or oldest_kept_base.wal_start is None or not folder.is_dir():
        return
    subprocess.run(
        [
            str(binary("pg_archivecleanup")),
            "-x",
            SUFFIX,
            str(folder),
            oldest_kept_base.wal_start + SUFFIX,
        ],
        check=True,
        capture_output=True,
    )


@dataclass(frozen=True)
class Target:
    moment: dt.datetime
    text: str


def recover_to(
    backups: Backups, when: str, *, target_db: str | None = None, replace: bool = False
) -> RestoreResult:
    started = time.monotonic()
    backups.key()  # fail early and clearly without one
    server = backups.server
    target = parse_moment(server, when)
    archive_current_wal(server)
    Sealer(backups.settings).seal_now()
    base = base_before(backups, target.moment)
    suffix = f"pitr_{target.moment.astimezone(dt.UTC):%Y%m%d%H%M%S}"
    work = backups.restore_target(suffix, target_db=target_db, replace=replace)
    safety = backups.create(label="safety").id if replace else None
    with recovered_server(backups, base, target) as recovered, backups.new_database(work):
        copy_database(recovered, server, work)
        backups.check_restored(database_states(recovered, recovered.database), work)
        with recovered.connect() as conn:
            revision = alembic_revision(conn)
        migrated = backups.migrate_database(work, revision)
    return backups.put_in_place(work, migrated=migrated, safety=safety, started=started)


def parse_moment(server: Server, when: str) -> Target:
    text = when.strip()
    if not _OFFSET.search(text):
        raise BackupError(f"--to {when!r}: give the UTC offset too, e.g. '2026-11-24 10:15:00-03'")
    with server.connect(autocommit=True) as conn:
        try:
            row = conn.execute("select %s::timestamptz, now()", [text]).fetchone()
        except psycopg.errors.DataError as exc:
            raise BackupError(f"--to {when!r}: not a time PostgreSQL understands") from exc
    assert row is not None
    moment, now = row
    assert isinstance(moment, dt.datetime)
    assert isinstance(now, dt.datetime)
    if moment > now:
        raise BackupError(f"--to {when!r} is in the future")
    return Target(moment, moment.isoformat())


def archive_current_wal(server: Server) -> None:
    """Close the current WAL segment and wait until it is archived, so recovery can
    reach moments up to now (otherwise up to `archive_timeout` would be missing)."""
    with server.connect(autocommit=True) as conn:
        if _show(conn, "archive_mode") == "off":
            return
        # Trap: recovery stops at the first commit after the target; a moment after the
        # last write would find none and PostgreSQL refuses ("recovery ended before
        # configured recovery target was reached"). A transaction with an xid writes one.
        conn.execute("select pg_current_xact_id()")
        row = conn.execute("select pg_walfile_name(pg_switch_wal())").fetchone()
        assert row is not None
        needed = str(row[0])
        deadline = time.monotonic() + ARCHIVE_WAIT_S
        while True:
            done = conn.execute("select last_archived_wal from pg_stat_archiver").fetchone()
            if done is not None and done[0] is not None and str(done[0])[:24] >= needed:
                return
            if time.monotonic() > deadline:
                raise BackupError(
                    f"WAL segment {needed} was not archived within {ARCHIVE_WAIT_S:.0f} s; "
                    "check archive_command (see the server log)"
                )
            time.sleep(0.1)


def base_before(backups: Backups, moment: dt.datetime) -> Manifest:
    bases = [i.manifest for i in backups.list_all() if i.manifest.kind == "base"]
    usable = [m for m in bases if m.finished_at < moment]
    if not usable:
        oldest = min((m.finished_at for m in bases), default=None)
        hint = f"the oldest finished at {oldest:%Y-%m-%d %H:%M:%S}Z" if oldest else "there is none"
        raise BackupError(
            f"no base backup finished before {moment.isoformat()} ({hint}); "
            "take them with `fisioflow backup base` (the scheduler does it daily)"
        )
    return backups.manifest(max(usable, key=lambda m: m.finished_at).id)


@contextmanager
def recovered_server(backups: Backups, base: Manifest, target: Target) -> Iterator[Server]:
    """The base backup restored into a private folder and recovered up to the target."""
    settings = backups.settings
    folder = settings.data_dir.expanduser().resolve() / f"pitr-{secrets.token_hex(4)}"
    pg = EmbeddedPostgres(
        folder, extra_options=("-c", "listen_addresses=", "-c", "archive_mode=off")
    )
    try:
        pg.pgdata.mkdir(parents=True, mode=0o700)
        _extract(backups, base, pg.pgdata)
        _unseal_wal(backups, base, folder / "wal")
        _configure_recovery(pg.pgdata, folder / "wal", target)
        pg.hand_over_tree(folder)
        try:
            pg.acquire()
        except EmbeddedPostgresError as exc:
            raise BackupError(f"recovery did not start: {_log_tail(folder) or exc}") from exc
        user = backups.server.url.username if not backups.server.embedded else None
        url = make_url(pg.url(user=user or "postgres", database=backups.server.database))
        recovered = Server(url=url, embedded=True)
        _wait_for_promotion(recovered, folder)
        yield recovered
    finally:
        pg.release()
        shutil.rmtree(folder, ignore_errors=True)


def _extract(backups: Backups, base: Manifest, pgdata: Path) -> None:
    entry = next(e for e in base.files if e.name == BASE_NAME)
    with (
        backups.progress("extract base backup", entry.plain_bytes) as advance,
        backups.storage.reader(base.id, entry.name) as raw,
        opened_reader(raw, key=backups.key(), name=entry.name) as plain,
        tarfile.open(fileobj=plain, mode="r|") as tar,
    ):
        for member in tar:
            tar.extract(member, pgdata, filter="tar")
            advance(member.size)


def _unseal_wal(backups: Backups, base: Manifest, destination: Path) -> None:
    """Decrypted ahead of recovery: restore_command runs as the server's OS user, which
    may not be able to run this project's Python (see wal.py)."""
    assert base.wal_start is not None
    destination.mkdir(mode=0o700)
    unseal(
        wal_folder(backups.settings), destination, key=backups.key(), from_segment=base.wal_start
    )


def _configure_recovery(pgdata: Path, wal: Path, target: Target) -> None:
    source = shlex.quote(str(wal))
    settings = {
        "restore_command": f"cp {source}/%f %p",
        "recovery_target_time": target.text,
        "recovery_target_action": "promote",
        "archive_mode": "off",
    }
    with (pgdata / "postgresql.auto.conf").open("a") as conf:
        for name, value in settings.items():
            conf.write(f"{name} = '{value.replace(chr(39), chr(39) * 2)}'\n")
    # Reached only through its private socket: trust, whatever the source allowed.
    (pgdata / "pg_hba.conf").write_text("local all all trust\n")
    (pgdata / "recovery.signal").touch()
    for stale in ("postmaster.pid", "standby.signal"):
        (pgdata / stale).unlink(missing_ok=True)


def _wait_for_promotion(recovered: Server, folder: Path) -> None:
    while True:
        try:
            with recovered.connect("postgres", autocommit=True) as conn:
                row = conn.execute("select pg_is_in_recovery()").fetchone()
        except psycopg.OperationalError as exc:
            raise BackupError(f"recovery failed: {_log_tail(folder) or exc}") from exc
        if row is not None and not row[0]:
            return
        time.sleep(0.2)


def _log_tail(folder: Path) -> str:
    log = folder / "postgresql.log"
    if not log.exists():
        return ""
    lines = log.read_text(errors="replace").splitlines()
    fatal = [line for line in lines if "FATAL" in line or "PANIC" in line]
    return (fatal or lines[-1:] or [""])[-1].strip()


def copy_database(source: Server, target: Server, database: str) -> None:
    """pg_dump of the recovered database straight into pg_restore on the live server."""
    dump_args, dump_env = source.tool_args(source.database)
    restore_args, restore_env = target.tool_args(database)
    owners = [] if target.embedded else ["--no-owner"]
    with tempfile.TemporaryFile() as dump_errors, tempfile.TemporaryFile() as restore_errors:
        dump = subprocess.Popen(
            [str(binary("pg_dump")), "--format=custom", "--compress=0", *dump_args],
            stdout=subprocess.PIPE,
            stderr=dump_errors,
            env=dump_env,
        )
        assert dump.stdout is not None
        restore = subprocess.Popen(
            [str(binary("pg_restore")), "--exit-on-error", *owners, *restore_args],
            stdin=dump.stdout,
            stdout=subprocess.DEVNULL,
            stderr=restore_errors,
            env=restore_env,
        )
        dump.stdout.close()
        restore.wait()
        dump.wait()
        for process, errors in ((dump, dump_errors), (restore, restore_errors)):
            if process.returncode != 0:
                errors.seek(0)
                text = errors.read().decode(errors="replace").strip().splitlines()
                raise BackupError(f"copying the recovered database failed: {(text or ['?'])[0]}")


def _show(conn: psycopg.Connection[tuple[object, ...]], name: str) -> str:
    row = conn.execute("select current_setting(%s)", [name]).fetchone()
    assert row is not None
    return str(row[0])
