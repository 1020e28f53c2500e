"""Backups against the test server: a Backups service on the test's private database."""

from __future__ import annotations

import psycopg
import pytest

from fisioflow.backup.checksums import database_states
from fisioflow.backup.manifest import TableState
from fisioflow.backup.server import Server
from fisioflow.backup.service import Backups
from fisioflow.core.bootstrap import libpq_dsn
from fisioflow.core.database import DatabaseLocation
from fisioflow.settings import Settings
from tests.core.test_embedded import pg_tmp_path  # noqa: F401 - fixture for servers of our own


@pytest.fixture
def backups(settings: Settings, database: DatabaseLocation) -> Backups:
    return Backups.open(settings, database)


def states(location: DatabaseLocation, database: str | None = None) -> dict[str, TableState]:
    server = Server.of(location)
    return database_states(server, database or server.database)


def superuser(location: DatabaseLocation, database: str | None = None) -> psycopg.Connection:
    assert location.superuser_url is not None
    url = location.superuser_url.set(database=database or location.owner_url.database)
    return psycopg.connect(libpq_dsn(url), autocommit=True)


def drop(location: DatabaseLocation, *names: str) -> None:
    with superuser(location, "postgres") as conn:
        for name in names:
            conn.execute(f'drop database if exists "{name}" with (force)')
