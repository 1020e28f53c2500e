"""Bring the database up for a command: embedded server (if any), location, migrations."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import psycopg
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError

from fisioflow.core.bootstrap import bootstrap, libpq_dsn
from fisioflow.core.branches import on_branch
from fisioflow.core.database import DatabaseLocation, locate
from fisioflow.core.embedded import EmbeddedPostgres
from fisioflow.core.migrations import (
    SchemaBehindError,
    current_revisions_sync,
    head_revisions,
    upgrade,
)
from fisioflow.settings import Settings

if TYPE_CHECKING:
    from fisioflow.backup.wal import Sealer


class DatabaseUnreachableError(RuntimeError):
    """The configured database cannot be used; the message says why in one line."""


@contextmanager
def database(settings: Settings) -> Iterator[DatabaseLocation]:
    """Yield where the database is; the embedded server stays up for the block."""
    embedded = _embedded(settings)
    sealer = _wal_sealer(settings, embedded)
    if embedded is not None:
        embedded.acquire()
    if sealer is not None:
        sealer.start()
    try:
        try:
            location = locate(settings, embedded)
        except ArgumentError as exc:
            raise ValueError(
                "DATABASE_URL (or APP_DATABASE_URL) is not a valid URL; expected "
                "postgresql://user:password@host:port/database"
            ) from exc
        if embedded is not None:
            bootstrap(location, app_role=settings.app_db_role)
        yield on_branch(settings, location)
    finally:
        if embedded is not None:
            embedded.release()
        if sealer is not None:
            sealer.stop()  # after release: seals what the server archived as it stopped


def _embedded(settings: Settings) -> EmbeddedPostgres | None:
    if not settings.embedded:
        return None
    from fisioflow.backup.wal import archive_for

    return EmbeddedPostgres(settings.data_dir, wal_archive=archive_for(settings))


def _wal_sealer(settings: Settings, embedded: EmbeddedPostgres | None) -> Sealer | None:
    if embedded is None or embedded.wal_archive is None:
        return None
    from fisioflow.backup.wal import Sealer

    return Sealer(settings)


def migrate(location: DatabaseLocation, settings: Settings) -> None:
    check_reachable(location.owner_url)
    if location.superuser_url is None:
        bootstrap(location, app_role=settings.app_db_role)
    upgrade(location.owner_url, app_role=settings.app_db_role)


def ensure_current(location: DatabaseLocation) -> None:
    check_reachable(location.app_url)
    with _quiet("alembic.runtime.migration"):
        current = current_revisions_sync(location.owner_url)
    heads = head_revisions()
    if current != heads:
        raise SchemaBehindError(current, heads)


def check_reachable(url: URL) -> None:
    try:
        with psycopg.connect(libpq_dsn(url), connect_timeout=5):
            pass
    except psycopg.OperationalError as exc:
        raise DatabaseUnreachableError(_one_line(url, exc)) from exc


@contextmanager
def _quiet(logger_name: str) -> Iterator[None]:
    """Silence a chatty library logger (alembic's "Context impl ...") for one call."""
    logger = logging.getLogger(logger_name)
    previous = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(previous)


def _one_line(url: URL, exc: psycopg.OperationalError) -> str:
    message = str(exc).strip()
    socket_dir = url.query.get("host")
    host = url.host or (f"socket {socket_dir}" if isinstance(socket_dir, str) else "local socket")
    where = f"{host}:{url.port or 5432}/{url.database}"
    if "password authentication failed" in message:
        return f"cannot log in to {where} as {url.username}: wrong password in DATABASE_URL"
    if "could not translate host name" in message or "Name or service not known" in message:
        return f"unknown database host {url.host!r}: check the host in DATABASE_URL"
    if "Connection refused" in message or "No such file or directory" in message:
        return f"nothing listens at {where}: is PostgreSQL running? check DATABASE_URL"
    if "does not exist" in message:
        last = message.splitlines()[-1].split("FATAL:")[-1].strip()
        return f"{last} at {where}: create it or fix DATABASE_URL"
    last_line = message.splitlines()[-1] if message else type(exc).__name__
    return f"cannot connect to {where}: {last_line}"
