"""Backups: create, verify (by restoring), restore, list and prune.

Synchronous on purpose: the work is pg_dump/pg_restore processes and file streams. The
CLI calls it directly, jobs through `asyncio.to_thread`.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from fisioflow.backup import repository
from fisioflow.backup.checksums import compare, database_states, exported_snapshot, table_states
from fisioflow.backup.dump import (
    Progress,
    pg_dump_command,
    restore_into,
    sha256_of,
    write_sealed,
)
from fisioflow.backup.keys import BackupKeyError, key_id, load_key
from fisioflow.backup.manifest import (
    FileEntry,
    Manifest,
    ManifestError,
    TableState,
    authenticate,
    parse,
    seal,
)
from fisioflow.backup.retention import Policy, to_keep
from fisioflow.backup.server import (
    BackupError,
    Server,
    alembic_revision,
    check_tool_matches,
)
from fisioflow.backup.storage import LocalStorage, S3Storage, Storage
from fisioflow.core.database import DatabaseLocation
from fisioflow.core.migrations import head_revisions, upgrade
from fisioflow.settings import Settings

DUMP_NAME = "database.dump.zst.enc"
LEFTOVER_AGE = dt.timedelta(hours=12)
_DB_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

ProgressFactory = Callable[[str, int | None], AbstractContextManager[Progress]]


def no_progress(description: str, total: int | None) -> AbstractContextManager[Progress]:
    return nullcontext(lambda advance: None)


@dataclass(frozen=True)
class Check:
    item: str
    expected: str
    actual: str
    ok: bool


@dataclass(frozen=True)
class VerifyReport:
    manifest: Manifest
    checks: list[Check]
    seconds: float

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(check.ok for check in self.checks)

    @property
    def failures(self) -> list[str]:
        return [check.item for check in self.checks if not check.ok]


@dataclass(frozen=True)
class RestoreResult:
    database: str
    migrated_from: str | None
    safety_backup: str | None = None
    previous_kept_as: str | None = None
    seconds: float = 0.0


@dataclass(frozen=True)
class Listed:
    manifest: Manifest
    verified: bool | None


def new_backup_id(now: dt.datetime) -> str:
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def storage_for(settings: Settings) -> Storage:
    if settings.backup_s3_bucket is None:
        return LocalStorage(settings.backup_folder)
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=settings.backup_s3_endpoint_url,
        region_name=settings.backup_s3_region,
    )
    return S3Storage(
        client,
        bucket=settings.backup_s3_bucket,
        prefix=settings.backup_s3_prefix,
        spool=settings.backup_folder / ".spool",
    )


@dataclass
class Backups:
    settings: Settings
    location: DatabaseLocation
    storage: Storage
    progress: ProgressFactory = no_progress
    _key: bytes | None = field(default=None, init=False, repr=False)

    @classmethod
    def open(
        cls,
        settings: Settings,
        location: DatabaseLocation,
        *,
        progress: ProgressFactory = no_progress,
    ) -> Backups:
        return cls(settings, location, storage_for(settings), progress)

    @property
    def server(self) -> Server:
        return Server.of(self.location)

    def key(self) -> bytes:
        if self._key is None:
            path = self.settings.backup_key_path
            if path is None:
                raise BackupKeyError(
                    "no backup key: set FISIOFLOW_BACKUP_KEY_FILE (create the file with "
                    "`fisioflow backup keygen PATH` and keep a copy away from the backups)"
                )
            self._key = load_key(path, create=self.settings.embedded)
        return self._key

    # -- create ------------------------------------------------------------------------

    def create(self, *, label: str = "manual") -> Manifest:
        server = self.server
        created = dt.datetime.now(dt.UTC)
        backup_id = new_backup_id(created)
        with self.writing(backup_id), exported_snapshot(server) as (snapshot, conn):
            server.check_can_read_everything(conn)
            versions = check_tool_matches(conn, "pg_dump")
            revision = alembic_revision(conn)
            command, env = pg_dump_command(server, snapshot=snapshot)
            with ThreadPoolExecutor(1) as pool:
                states = pool.submit(table_states, conn)
                entry = self.write_file(backup_id, DUMP_NAME, command=command, env=env)
                tables = states.result()
        return self.seal_new(
            Manifest(
                id=backup_id, kind="dump", label=label, created_at=created,
                finished_at=dt.datetime.now(dt.UTC), database=server.database,
                postgres_version=versions[0], tool_version=versions[1],
                alembic_revision=revision, key_id=key_id(self.key()), tables=tables,
                files=[entry],
            )
        )  # fmt: skip

    @contextmanager
    def writing(self, backup_id: str) -> Iterator[None]:
        """The files of a new backup: on any failure the partial backup is removed (or,
        if even that fails, left as `.partial-<id>`, which is never listed)."""
        try:
            yield
        except OSError as exc:
            self.storage.abort(backup_id)
            where = self.storage.where
            raise BackupError(f"cannot write backup to {where}: {_os_error(exc)}") from exc
        except BaseException:
            self.storage.abort(backup_id)
            raise

    def write_file(
        self, backup_id: str, name: str, *, command: list[str], env: dict[str, str]
    ) -> FileEntry:
        """`command`'s standard output, sealed into one file of the backup."""
        with self.progress(name, None) as advance:
            return write_sealed(self.storage, backup_id=backup_id, name=name, command=command,
                                env=env, key=self.key(), progress=advance)  # fmt: skip

    def seal_new(self, manifest: Manifest) -> Manifest:
        """Write the manifest last: from then on the backup is complete and listed."""
        with self.writing(manifest.id):
            self.storage.finish(manifest.id, seal(manifest, self.key()))
        return manifest

    # -- read --------------------------------------------------------------------------

    def manifest(self, backup_id: str) -> Manifest:
        raw = self.storage.manifests().get(backup_id)
        if raw is None:
            raise BackupError(f"no complete backup {backup_id!r} in {self.storage.where}")
        return authenticate(raw, self.key(), source=backup_id)

    def list_all(self) -> list[Listed]:
        manifests = []
        for backup_id, raw in self.storage.manifests().items():
            try:
                manifests.append(parse(raw, source=backup_id)[0])
            except ManifestError:
                continue
        verified = self._verification_results()
        manifests.sort(key=lambda m: m.created_at, reverse=True)
        return [Listed(m, verified.get(m.id)) for m in manifests]

    def newest(self, *, kind: str = "dump") -> Manifest | None:
        for listed in self.list_all():
            if listed.manifest.kind == kind:
                return listed.manifest
        return None

    # -- verify ------------------------------------------------------------------------

    def verify(self, backup_id: str) -> VerifyReport:
        started = time.monotonic()
        manifest = self.manifest(backup_id)
        checks = self._file_checks(manifest)
        if all(check.ok for check in checks) and manifest.kind == "dump":
            checks += self._restore_checks(manifest)
        report = VerifyReport(manifest, checks, time.monotonic() - started)
        self._record(report)
        return report

    def _file_checks(self, manifest: Manifest) -> list[Check]:
        checks = []
        for entry in manifest.files:
            with self.progress(f"sha-256 {entry.name}", entry.bytes) as advance:
                actual = sha256_of(self.storage, manifest.id, entry.name, progress=advance)
            checks.append(
                Check(f"file {entry.name}", entry.sha256[:16], actual[:16], actual == entry.sha256)
            )
        return checks

    def _restore_checks(self, manifest: Manifest) -> list[Check]:
        server = self.server
        scratch = f"{server.database[:30]}_verify_{secrets.token_hex(4)}"
        server.create_database(scratch)
        try:
            self._restore_file(manifest, scratch)
            actual = database_states(server, scratch)
        finally:
            server.drop_database(scratch)
        return [
            Check(f"table {name}", want, got, ok)
            for name, want, got, ok in compare(manifest.tables, actual)
        ]

    def _restore_file(self, manifest: Manifest, database: str) -> None:
        entry = next(e for e in manifest.files if e.name == DUMP_NAME)
        with self.progress(f"restore into {database}", entry.plain_bytes) as advance:
            restore_into(
                self.storage,
                backup_id=manifest.id,
                entry=entry,
                server=self.server,
                database=database,
                key=self.key(),
                progress=advance,
            )

    def _record(self, report: VerifyReport) -> None:
        try:
            with self.server.connect() as conn:
                repository.record_verification(
                    conn,
                    backup_id=report.manifest.id,
                    backup_created_at=report.manifest.created_at,
                    ok=report.ok,
                    duration_ms=int(report.seconds * 1000),
                    failures=report.failures,
                )
        except psycopg.errors.UndefinedTable:
            pass  # a database not migrated yet has nowhere to record it

    def _verification_results(self) -> dict[str, bool]:
        try:
            with self.server.connect() as conn:
                return repository.last_results(conn)
        except psycopg.Error:
            return {}

    # -- restore -----------------------------------------------------------------------

    def restore(
        self, backup_id: str, *, target_db: str | None = None, replace: bool = False
    ) -> RestoreResult:
        started = time.monotonic()
        manifest = self.manifest(backup_id)
        if manifest.kind != "dump":
            raise BackupError(f"{backup_id} is a base backup: restore it with --to TIME")
        work = self.restore_target(manifest.id[:15].lower(), target_db=target_db, replace=replace)
        safety = self.create(label="safety").id if replace else None
        with self.new_database(work):
            self._restore_file(manifest, work)
            self.check_restored(manifest.tables, work)
            migrated = self.migrate_database(work, manifest.alembic_revision)
        return self.put_in_place(work, migrated=migrated, safety=safety, started=started)

    def put_in_place(
        self, work: str, *, migrated: str | None, safety: str | None, started: float
    ) -> RestoreResult:
        """A restored database stays where it is, or (after --replace) takes the live
        database's name; the live one is kept under another name, never dropped."""
        server = self.server
        if safety is None:
            return RestoreResult(work, migrated, seconds=time.monotonic() - started)
        kept = f"{server.database[:30]}_before_{dt.datetime.now(dt.UTC):%Y%m%d%H%M%S}"
        server.swap_in(work, keep_old_as=kept)
        return RestoreResult(server.database, migrated, safety, kept, time.monotonic() - started)

    def restore_target(self, suffix: str, *, target_db: str | None, replace: bool) -> str:
        live = self.server.database
        if replace:
            if target_db not in (None, live):
                raise BackupError("--replace restores over the live database; drop --target-db")
            return f"{live[:30]}_restoring_{secrets.token_hex(4)}"
        target = target_db or f"{live[:30]}_restore_{suffix}"
        if target == live:
            raise BackupError(
                f"{live} is the live database: restore into another one, or use --replace"
            )
        if not _DB_NAME.match(target):
            raise BackupError(
                f"--target-db {target!r}: use 1-63 lowercase letters, digits or _ "
                "(not starting with a digit)"
            )
        if self.server.database_exists(target):
            raise BackupError(
                f"database {target} already exists: drop it or pick another --target-db"
            )
        return target

    @contextmanager
    def new_database(self, name: str) -> Iterator[None]:
        """A database created for a restore; dropped again if the restore fails, so an
        interrupted restore leaves nothing half-written behind."""
        self.server.create_database(name)
        try:
            yield
        except BaseException:
            self.server.drop_database(name)
            raise

    def check_restored(self, expected: dict[str, TableState], database: str) -> None:
        actual = database_states(self.server, database)
        wrong = [name for name, _, _, ok in compare(expected, actual) if not ok]
        if wrong:
            raise BackupError(f"restored tables do not match the manifest: {', '.join(wrong)}")

    def migrate_database(self, database: str, revision: str | None) -> str | None:
        if revision is not None and {revision} == set(head_revisions()):
            return None
        upgrade(self.location.owner_url.set(database=database), app_role=self.settings.app_db_role)
        return revision or "empty"

    # -- prune -------------------------------------------------------------------------

    def prune(self, *, now: dt.datetime | None = None) -> list[str]:
        now = now or dt.datetime.now(dt.UTC)
        policy = Policy(
            self.settings.backup_keep_daily,
            self.settings.backup_keep_weekly,
            self.settings.backup_keep_monthly,
        )
        deleted: list[str] = []
        listed = [item.manifest for item in self.list_all()]
        for kind in ("dump", "base"):
            created = {m.id: m.created_at for m in listed if m.kind == kind}
            for backup_id in sorted(created.keys() - to_keep(created, now=now, policy=policy)):
                self.storage.delete(backup_id)
                deleted.append(backup_id)
        self.storage.leftovers(older_than=now - LEFTOVER_AGE)
        from fisioflow.backup.pitr import clean_wal

        bases = [m for m in listed if m.kind == "base" and m.id not in deleted]
        clean_wal(self, oldest_kept_base=min(bases, key=lambda m: m.created_at, default=None))
        return deleted


def _os_error(exc: OSError) -> str:
    where = f" ({exc.filename})" if exc.filename else ""
    return f"{exc.strerror or exc}{where}"


def key_file_hint(path: Path) -> str:
    return f"the key is in {path}: keep a copy away from the backups, without it they are lost"
