"""The `fisioflow` command line (Typer + Rich)."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
import uvicorn
from pydantic import ValidationError
from rich.console import Console

from fisioflow import __version__
from fisioflow.core.bootstrap import libpq_dsn
from fisioflow.core.branches import MAIN, BranchError, Branches, BranchNameError, branches
from fisioflow.core.database import DatabaseLocation
from fisioflow.core.embedded import POSTGRES_BIN_PATH, EmbeddedPostgresError
from fisioflow.core.logging import configure_logging
from fisioflow.core.migrations import SchemaBehindError
from fisioflow.core.runtime import DatabaseUnreachableError, database, ensure_current, migrate
from fisioflow.portability.archive import ArchiveError
from fisioflow.portability.catalog import CatalogError
from fisioflow.portability.exporter import ClinicNotFoundError
from fisioflow.portability.importer import ImportRefusedError
from fisioflow.portability.keys import Secret
from fisioflow.settings import Settings, get_settings

app = typer.Typer(name="fisioflow", help="FisioFlow clinic platform.", no_args_is_help=True)
db_app = typer.Typer(help="Database utilities.", no_args_is_help=True)
app.add_typer(db_app, name="db")
clinic_app = typer.Typer(help="Clinics (tenants).", no_args_is_help=True)
app.add_typer(clinic_app, name="clinic")
audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
backup_app = typer.Typer(
    help="Encrypted backups, verified by restoring them; point-in-time recovery.",
    no_args_is_help=True,
)
app.add_typer(backup_app, name="backup")
branch_app = typer.Typer(help="Database branches: isolated copies of the database.")
db_app.add_typer(branch_app, name="branch", no_args_is_help=True)
console = Console(stderr=True, soft_wrap=True)

if TYPE_CHECKING:
    from fisioflow.backup.service import Backups, RestoreResult

T = TypeVar("T")
HostOption = Annotated[str | None, typer.Option(help="Address to listen on.")]
PortOption = Annotated[int | None, typer.Option(help="Port to listen on.")]
BranchOption = Annotated[
    str | None,
    typer.Option(help="Use this database branch instead of main (or FISIOFLOW_BRANCH)."),
]

_CLEAR_ERRORS = (
    EmbeddedPostgresError,
    DatabaseUnreachableError,
    SchemaBehindError,
    BranchError,
    ArchiveError,
    ImportRefusedError,
    ClinicNotFoundError,
    CatalogError,
    ValueError,
)


class PortInUseError(RuntimeError):
    pass


def fail(message: str, *, code: int = 1) -> NoReturn:
    console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


@contextmanager
def clear_errors() -> Iterator[None]:
    """Known failures end the command with one line and exit code 1, no traceback."""
    try:
        yield
    except BranchNameError as exc:  # a usage error, like a bad option
        fail(str(exc), code=2)
    except (*_CLEAR_ERRORS, PortInUseError) as exc:
        fail(str(exc))


def _describe(exc: ValidationError) -> str:
    """One line: each bad setting by its environment variable and what is wrong with it."""
    problems = []
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else ""
        field = Settings.model_fields.get(name)
        alias = field.validation_alias if field is not None else None
        variable = alias if isinstance(alias, str) else f"FISIOFLOW_{name.upper()}"
        problems.append(f"{variable}: {error['msg']}")
    return "; ".join(problems)


def _settings(*, branch: str | None = None) -> Settings:
    try:
        settings = get_settings()
    except ValidationError as exc:
        fail(f"invalid configuration: {_describe(exc)}")
    except ValueError as exc:
        fail(f"invalid configuration: {' '.join(str(exc).split())}")
    configure_logging(level=settings.log_level, fmt=settings.log_format)
    if branch is not None:
        # Worker processes of a multi-worker server read their settings from the environment.
        os.environ["FISIOFLOW_BRANCH"] = branch
        settings = settings.model_copy(update={"branch": branch})
    return settings


@app.command()
def version() -> None:
    """Print the FisioFlow version."""
    typer.echo(__version__)


@app.command("migrate")
def migrate_command(branch: BranchOption = None) -> None:
    """Upgrade the database schema to the latest revision."""
    settings = _settings(branch=branch)
    with clear_errors(), database(settings) as location:
        migrate(location, settings)
    console.print("[green]database schema is up to date[/]")


@app.command()
def serve(host: HostOption = None, port: PortOption = None, branch: BranchOption = None) -> None:
    """Serve the API against an already migrated database."""
    settings = _settings(branch=branch)
    with clear_errors(), database(settings) as location:
        ensure_current(location)
        _serve(settings, location, host=host, port=port)


@app.command()
def worker(
    until_empty: Annotated[
        bool, typer.Option(help="Exit when no job is due (for cron or a one-off drain).")
    ] = False,
    branch: BranchOption = None,
) -> None:
    """Run the job worker (periodic tasks included)."""
    import asyncio

    from fisioflow.core.jobs import run_worker

    settings = _settings(branch=branch)
    with clear_errors(), database(settings) as location:
        ensure_current(location)
        asyncio.run(run_worker(location, settings=settings, until_empty=until_empty))


@app.command()
def run(host: HostOption = None, port: PortOption = None, branch: BranchOption = None) -> None:
    """Start everything: database, migrations, demo data (once), the server and the job
    worker in the same process."""
    settings = _settings(branch=branch)
    with clear_errors(), database(settings) as location:
        migrate(location, settings)
        _load_demo_once(settings, location)
        # Worker processes of a multi-worker server read their settings from the
        # environment, so the flag travels there too.
        os.environ["FISIOFLOW_JOBS_IN_PROCESS"] = "true"
        settings = settings.model_copy(update={"jobs_in_process": True})
        _serve(settings, location, host=host, port=port)


@app.command()
def demo() -> None:
    """Load the demo clinic (idempotent)."""
    settings = _settings()
    with clear_errors(), database(settings) as location:
        ensure_current(location)
        _load_demo(settings, location, announce=True)


@clinic_app.command("create")
def clinic_create(
    name: Annotated[str, typer.Option(help="Clinic name.")],
    slug: Annotated[str, typer.Option(help="Login slug: lowercase letters, digits and -.")],
    admin_email: Annotated[str, typer.Option(help="First admin's email.")],
    admin_name: Annotated[str, typer.Option(help="First admin's full name.")],
    admin_password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)
    ],
    cnpj: Annotated[str | None, typer.Option(help="CNPJ (optional).")] = None,
    timezone: Annotated[str, typer.Option(help="IANA time zone.")] = "America/Sao_Paulo",
) -> None:
    """Create a clinic with its first admin user."""
    from fisioflow.clinic.commands import create_from_cli

    settings = _settings()
    with clear_errors(), database(settings) as location:
        ensure_current(location)
        clinic_id = create_from_cli(
            settings,
            location,
            clinic={"name": name, "slug": slug, "cnpj": cnpj, "timezone": timezone},
            admin={"full_name": admin_name, "email": admin_email, "password": admin_password},
        )
    console.print(f"[green]created clinic[/] {slug} ({clinic_id})")


@audit_app.command("verify")
def audit_verify(
    clinic: Annotated[str | None, typer.Option(help="Slug of one clinic (default: all).")] = None,
) -> None:
    """Check each clinic's audit hash chain; exit code 1 at the first broken link."""
    from fisioflow.audit.commands import verify_from_cli

    settings = _settings()
    with clear_errors(), database(settings) as location:
        ensure_current(location)
        chains = verify_from_cli(settings, location, slug=clinic)
    broken = False
    for chain in chains:
        found = chain.report.broken
        if found is None:
            typer.echo(f"{chain.slug}: {chain.report.events:,} events, chain intact")
            continue
        broken = True
        event = f" (event {found.event_id})" if found.event_id else ""
        typer.echo(
            f"{chain.slug}: BROKEN at position {found.position}: {found.kind}{event}: "
            f"{found.detail}"
        )
    if broken:
        raise typer.Exit(1)


KeyFileOption = Annotated[
    Path | None,
    typer.Option(help="File with the archive key (base64 of 32 bytes); default from settings."),
]
PassphraseOption = Annotated[
    str | None,
    typer.Option(
        envvar="FISIOFLOW_EXPORT_PASSPHRASE", help="Encrypt with a passphrase instead of a key."
    ),
]


@clinic_app.command("export")
def clinic_export(
    slug: Annotated[str, typer.Argument(help="The clinic's slug.")],
    output: Annotated[Path | None, typer.Option(help="Archive file to write.")] = None,
    key_file: KeyFileOption = None,
    passphrase: PassphraseOption = None,
) -> None:
    """Write an encrypted archive of everything a clinic owns (LGPD portability)."""
    from fisioflow.portability.exporter import export_clinic

    settings = _settings()
    with clear_errors(), database(settings) as location:
        secret = _archive_secret(settings, key_file=key_file, passphrase=passphrase)
        target = output or Path(f"{slug}-{_stamp()}.ffclinic")
        manifest = export_clinic(location.owner_url, slug, output=target, secret=secret)
    rows = sum(t.rows for t in manifest.tables)
    console.print(
        f"[green]exported[/] {slug}: {rows} rows in {len(manifest.tables)} tables to {target}"
    )


@clinic_app.command("import")
def clinic_import(
    file: Annotated[Path, typer.Argument(help="Archive written by `clinic export`.")],
    key_file: KeyFileOption = None,
    passphrase: PassphraseOption = None,
) -> None:
    """Load a clinic archive into this database (same schema revision), all or nothing."""
    from fisioflow.portability.importer import import_clinic

    settings = _settings()
    with clear_errors(), database(settings) as location:
        ensure_current(location)
        secret = _archive_secret(settings, key_file=key_file, passphrase=passphrase)
        manifest = import_clinic(location.owner_url, file, secret=secret)
    rows = sum(t.rows for t in manifest.tables)
    console.print(f"[green]imported[/] {manifest.clinic['slug']}: {rows} rows")


def _archive_secret(settings: Settings, *, key_file: Path | None, passphrase: str | None) -> Secret:
    from fisioflow.portability.keys import Secret, key_from_file, parse_key

    if key_file is not None:
        return key_from_file(key_file)
    if passphrase:
        return Secret(passphrase=passphrase)
    if settings.export_key_file is not None:
        return key_from_file(settings.export_key_file)
    if settings.export_key is not None:
        return parse_key(settings.export_key.get_secret_value(), source="FISIOFLOW_EXPORT_KEY")
    raise ValueError(
        "no archive key: set FISIOFLOW_EXPORT_KEY_FILE or FISIOFLOW_EXPORT_KEY "
        "(openssl rand -base64 32), or pass --key-file or --passphrase"
    )


def _stamp() -> str:
    import datetime as dt

    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


@db_app.command("shell")
def db_shell() -> None:
    """Open psql on the current database (as the owner role)."""
    settings = _settings()
    with clear_errors(), database(settings) as location:
        psql = POSTGRES_BIN_PATH / "psql"
        binary = str(psql) if psql.exists() else shutil.which("psql")
        if binary is None:
            fail("psql not found")
        code = subprocess.call([binary, libpq_dsn(location.owner_url)])
    raise typer.Exit(code)


@contextmanager
def _backups(settings: Settings) -> Iterator[Backups]:
    from fisioflow.backup.commands import CLEAR_ERRORS, progress_bars
    from fisioflow.backup.service import Backups

    try:
        with clear_errors(), database(settings) as location, progress_bars(console) as bars:
            yield Backups.open(settings, location, progress=bars)
    except CLEAR_ERRORS as exc:
        fail(str(exc))


@backup_app.command("create")
def backup_create(
    label: Annotated[str, typer.Option(help="Free label stored in the manifest.")] = "manual",
) -> None:
    """Back up the database (pg_dump, zstd, AES-256-GCM) with a checksummed manifest."""
    from fisioflow.backup.commands import size

    settings = _settings()
    with _backups(settings) as backups:
        manifest = backups.create(label=label)
        where = backups.storage.where
    console.print(
        f"[green]backup {manifest.id}[/] in {where}: {size(manifest.size)}, "
        f"{len(manifest.tables)} tables, {manifest.rows} rows"
    )
    typer.echo(manifest.id)


@backup_app.command("base")
def backup_base() -> None:
    """Take a base backup (pg_basebackup) for point-in-time recovery (restore --to)."""
    from fisioflow.backup.commands import size
    from fisioflow.backup.pitr import base_backup

    settings = _settings()
    with _backups(settings) as backups:
        manifest = base_backup(backups, required=True)
        assert manifest is not None
    console.print(f"[green]base backup {manifest.id}[/]: {size(manifest.size)}")
    typer.echo(manifest.id)


@backup_app.command("list")
def backup_list() -> None:
    """List complete backups, newest first, with their last verification."""
    from fisioflow.backup.commands import backups_table

    settings = _settings()
    with _backups(settings) as backups:
        table = backups_table(backups.list_all(), where=backups.storage.where)
    Console(soft_wrap=True).print(table)


@backup_app.command("verify")
def backup_verify(
    backup_id: Annotated[str, typer.Argument(help="Backup id, or 'latest'.")],
) -> None:
    """Check every SHA-256, restore into a scratch database and compare every table."""
    from fisioflow.backup.commands import verify_table

    settings = _settings()
    with _backups(settings) as backups:
        report = backups.verify(_resolve(backups, backup_id))
    Console(soft_wrap=True).print(verify_table(report))
    if not report.ok:
        fail(f"backup {report.manifest.id} failed verification: {', '.join(report.failures)}")
    console.print(f"[green]backup {report.manifest.id} verified[/] in {report.seconds:.1f} s")


@backup_app.command("restore")
def backup_restore(
    backup_id: Annotated[
        str | None, typer.Argument(help="Backup id, or 'latest' (not with --to).")
    ] = None,
    target_db: Annotated[
        str | None, typer.Option(help="New database to restore into (must not exist).")
    ] = None,
    replace: Annotated[
        bool, typer.Option(help="Replace the live database (after a safety backup).")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    to: Annotated[
        str | None,
        typer.Option("--to", help="Point in time with its UTC offset: '2026-11-24 10:15:00-03'."),
    ] = None,
) -> None:
    """Restore a backup into a new database (or, with --replace, over the live one)."""
    settings = _settings()
    if (backup_id is None) == (to is None):
        fail("give a backup id, or --to TIME for point-in-time recovery (not both)")
    if replace and not yes:
        typer.confirm(
            "Replace the live database? (a safety backup is taken first)",
            abort=True,
            err=True,
        )
    with _backups(settings) as backups:
        if to is not None:
            from fisioflow.backup.pitr import recover_to

            result = recover_to(backups, to, target_db=target_db, replace=replace)
        else:
            result = backups.restore(
                _resolve(backups, backup_id or ""), target_db=target_db, replace=replace
            )
    _report_restore(result)


@backup_app.command("prune")
def backup_prune() -> None:
    """Delete backups outside the retention policy (FISIOFLOW_BACKUP_KEEP_*)."""
    settings = _settings()
    with _backups(settings) as backups:
        deleted = backups.prune()
    console.print(f"deleted {len(deleted)} backup(s){': ' if deleted else ''}{', '.join(deleted)}")


@backup_app.command("keygen")
def backup_keygen(
    path: Annotated[Path, typer.Argument(help="Where to write the new key (must not exist).")],
) -> None:
    """Create a new backup key file (mode 0600) for FISIOFLOW_BACKUP_KEY_FILE."""
    from fisioflow.backup.keys import BackupKeyError, create_key_file, key_id

    try:
        key = create_key_file(path)
    except (BackupKeyError, OSError) as exc:
        fail(str(exc))
    console.print(f"[green]key {key_id(key)}[/] written to {path}; keep a copy somewhere safe")


def _resolve(backups: Backups, backup_id: str) -> str:
    if backup_id != "latest":
        return backup_id
    newest = backups.newest()
    if newest is None:
        fail(f"no backup in {backups.storage.where}")
    return newest.id


def _report_restore(result: RestoreResult) -> None:
    if result.migrated_from:
        console.print(f"migrated the restored schema from {result.migrated_from} to head")
    if result.safety_backup:
        console.print(f"safety backup of the replaced database: {result.safety_backup}")
    if result.previous_kept_as:
        console.print(f"the replaced database is kept as {result.previous_kept_as}")
    console.print(f"[green]restored into database[/] {result.database} in {result.seconds:.1f} s")
    typer.echo(result.database)


@branch_app.command("create")
def branch_create(
    name: Annotated[str, typer.Argument(help="Branch name: lowercase letters, digits, '-'.")],
    from_: Annotated[str, typer.Option("--from", help="Parent: main or a branch.")] = MAIN,
    force: Annotated[
        bool, typer.Option(help="Disconnect other sessions of the parent (self-hosted).")
    ] = False,
) -> None:
    """Create an isolated copy of main (or of another branch)."""
    with _branches() as found:
        branch = found.create(name, parent=from_, force=force)
    console.print(f"[green]created branch[/] {branch.name} (from {branch.parent}, {branch.ref})")


@branch_app.command("list")
def branch_list() -> None:
    """List the branches: name, parent, creation time."""
    with _branches() as found:
        listed = found.listing()
    for branch in listed:
        created = branch.created_at.isoformat() if branch.created_at else "-"
        typer.echo(f"{branch.name}\t{branch.parent}\t{created}")


@branch_app.command("delete")
def branch_delete(name: Annotated[str, typer.Argument(help="Branch to delete.")]) -> None:
    """Delete a branch and everything in it (never main)."""
    with _branches() as found:
        found.delete(name)
    console.print(f"[green]deleted branch[/] {name}")


@branch_app.command("url")
def branch_url(name: Annotated[str, typer.Argument(help="Branch (or main).")]) -> None:
    """Print the owner connection URL of a branch."""
    with _branches() as found:
        location = found.location(name)
    typer.echo(libpq_dsn(location.owner_url))


@contextmanager
def _branches() -> Iterator[Branches]:
    settings = _settings().model_copy(update={"branch": None})
    with clear_errors(), database(settings) as location:
        yield branches(settings, location)


def _load_demo_once(settings: Settings, location: DatabaseLocation) -> None:
    _load_demo(settings, location, announce=False)


def _load_demo(settings: Settings, location: DatabaseLocation, *, announce: bool) -> None:
    from fisioflow.demo.loader import load_demo

    created = load_demo(settings, location, console=console)
    if announce or created:
        console.print("[green]demo clinic ready[/]: slug [bold]demo[/], see README for logins")


def _serve(
    settings: Settings, location: DatabaseLocation, *, host: str | None, port: int | None
) -> None:
    from fisioflow.app import APP_FACTORY, create_app

    host = host or settings.host
    port = port or settings.port
    _check_port_free(host, port)
    console.print(f"FisioFlow {__version__} on [bold]http://{host}:{port}[/] (docs at /docs)")
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_config": None,
        "access_log": False,
        "timeout_graceful_shutdown": settings.shutdown_timeout_s,
        "server_header": False,
    }
    with _stop_signals_exit_cleanly():
        if settings.workers > 1:
            # Worker processes build their own app from the same environment. uvicorn
            # kills a worker that does not answer its health ping in 5 s by default;
            # on a busy machine importing the app alone can take longer (restart loop).
            uvicorn.run(
                APP_FACTORY,
                factory=True,
                workers=settings.workers,
                timeout_worker_healthcheck=60,
                **options,
            )
        else:
            uvicorn.Server(uvicorn.Config(create_app(settings, location), **options)).run()


@contextmanager
def _stop_signals_exit_cleanly() -> Iterator[None]:
    """After a graceful shutdown uvicorn re-raises the signal that stopped it; with the
    default handlers that kills the process before the embedded PostgreSQL is released.
    Here that signal ends the command normally (exit 0) and the cleanup runs."""
    previous = {sig: signal.signal(sig, _exit_zero) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _exit_zero(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def _check_port_free(host: str, port: int) -> None:
    probe = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    try:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise PortInUseError(
                f"port {port} on {host} is already in use; stop what uses it or pick "
                f"another with --port (or FISIOFLOW_PORT)"
            ) from exc
        raise PortInUseError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    finally:
        probe.close()


def main() -> None:
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    app(prog_name="fisioflow")


if __name__ == "__main__":  # pragma: no cover
    main()
