"""Database branches: isolated, writable copies of the database for development and tests.

- Embedded or self-hosted PostgreSQL: a branch is a database cloned with
  `CREATE DATABASE <main>_branch_<name> TEMPLATE <source> STRATEGY FILE_COPY` (a file copy
  after a checkpoint: fast for the sizes a laptop holds). Its name, parent and creation
  time live in the database's comment, so `list` needs no bookkeeping table.
  Trap: PostgreSQL refuses a template that has other sessions; a running `fisioflow run`
  holds pooled connections to main, so `create` fails with a clear line unless `force`
  disconnects them (each costs the app one failed request, then the pool reconnects).
- Neon (`NEON_API_KEY` and `NEON_PROJECT_ID` set): Neon's copy-on-write branches through
  its HTTP API (`core/neon.py`); the app reaches a branch at its endpoint's host.

The test suite clones its migrated template database per test with `clone_database`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Protocol

import psycopg
from psycopg import sql

from fisioflow.core.bootstrap import libpq_dsn
from fisioflow.core.database import OWNER_ROLE, DatabaseLocation
from fisioflow.settings import Settings

MAIN = "main"
_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$")
_MARK = "fisioflow_branch"


class BranchError(RuntimeError):
    """A branch operation that cannot be done; the message says why in one line."""


class BranchNameError(BranchError):
    """A name that can never be a branch (the CLI exits 2, like any usage error)."""


@dataclass(frozen=True)
class Branch:
    name: str
    parent: str
    created_at: dt.datetime | None
    ref: str  # database name (self-hosted) or Neon branch id


def validate_name(name: str) -> str:
    if name == MAIN:
        raise BranchNameError("'main' is the database itself, not a branch name")
    if not _NAME.match(name):
        raise BranchNameError(
            f"invalid branch name {name!r}: use 1-32 lowercase letters, digits and '-', "
            "starting and ending with a letter or digit"
        )
    return name


def clone_database(admin_dsn: str, *, source: str, target: str, owner: str) -> None:
    """`target` becomes a file copy of `source` (which must have no other sessions)."""
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("create database {} template {} owner {} strategy file_copy").format(
                sql.Identifier(target), sql.Identifier(source), sql.Identifier(owner)
            )
        )


def drop_database(admin_dsn: str, name: str) -> None:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
        )


class Branches(Protocol):
    def create(self, name: str, *, parent: str = MAIN, force: bool = False) -> Branch: ...
    def listing(self) -> list[Branch]: ...
    def delete(self, name: str) -> None: ...
    def location(self, name: str) -> DatabaseLocation: ...


@dataclass(frozen=True)
class LocalBranches:
    """Branches as sibling databases on the same PostgreSQL server."""

    main: DatabaseLocation

    @property
    def _main_db(self) -> str:
        assert self.main.owner_url.database is not None
        return self.main.owner_url.database

    @property
    def _admin_dsn(self) -> str:
        admin = self.main.superuser_url or self.main.owner_url
        return libpq_dsn(admin.set(database="postgres"))

    def database_for(self, name: str) -> str:
        return self._main_db if name == MAIN else f"{self._main_db}_branch_{validate_name(name)}"

    def create(self, name: str, *, parent: str = MAIN, force: bool = False) -> Branch:
        target = self.database_for(validate_name(name))
        source = self._existing(parent)
        if self._find(name) is not None:
            raise BranchError(f"branch {name!r} already exists")
        owner = OWNER_ROLE if self.main.superuser_url else self.main.owner_url.username
        created = dt.datetime.now(dt.UTC).replace(microsecond=0)
        with psycopg.connect(self._admin_dsn, autocommit=True) as conn:
            if force:
                _disconnect(conn, source)
            try:
                clone_database(self._admin_dsn, source=source, target=target, owner=owner or "")
            except psycopg.errors.ObjectInUse as exc:
                raise BranchError(_busy(source, parent)) from exc
            except psycopg.errors.InsufficientPrivilege as exc:
                raise BranchError(
                    f"the database role cannot create databases ({_last_line(exc)}); "
                    "grant it CREATEDB or create branches as a superuser"
                ) from exc
            mark = {_MARK: name, "parent": parent, "created_at": created.isoformat()}
            conn.execute(
                sql.SQL("comment on database {} is {}").format(
                    sql.Identifier(target), sql.Literal(json.dumps(mark))
                )
            )
        return Branch(name=name, parent=parent, created_at=created, ref=target)

    def listing(self) -> list[Branch]:
        with psycopg.connect(self._admin_dsn, autocommit=True) as conn:
            rows = conn.execute(
                "select datname, shobj_description(oid, 'pg_database') from pg_database"
                " where starts_with(datname, %s) order by datname",
                [f"{self._main_db}_branch_"],
            ).fetchall()
        return [branch for row in rows if (branch := _from_comment(*row)) is not None]

    def delete(self, name: str) -> None:
        branch = self._find(validate_name(name))
        if branch is None:
            raise BranchError(_missing(name))
        drop_database(self._admin_dsn, branch.ref)

    def location(self, name: str) -> DatabaseLocation:
        database = self._existing(name)
        return DatabaseLocation(
            owner_url=self.main.owner_url.set(database=database),
            app_url=self.main.app_url.set(database=database),
            superuser_url=self.main.superuser_url,
        )

    def _find(self, name: str) -> Branch | None:
        return next((b for b in self.listing() if b.name == name), None)

    def _existing(self, name: str) -> str:
        if name == MAIN:
            return self._main_db
        branch = self._find(validate_name(name))
        if branch is None:
            raise BranchError(_missing(name))
        return branch.ref


def branches(settings: Settings, main: DatabaseLocation) -> Branches:
    """Neon's API when it is configured, sibling databases otherwise."""
    if settings.neon_api_key and settings.neon_project_id:
        from fisioflow.core.neon import NeonBranches

        return NeonBranches.from_settings(settings, main)
    return LocalBranches(main)


def on_branch(settings: Settings, main: DatabaseLocation) -> DatabaseLocation:
    """Where the configured branch (`FISIOFLOW_BRANCH`, `--branch`) is; main without one."""
    if not settings.branch or settings.branch == MAIN:
        return main
    return branches(settings, main).location(settings.branch)


def _disconnect(conn: psycopg.Connection[tuple[object, ...]], database: str) -> None:
    conn.execute(
        "select pg_terminate_backend(pid) from pg_stat_activity"
        " where datname = %s and pid <> pg_backend_pid()",
        [database],
    )


def _from_comment(database: str, comment: str | None) -> Branch | None:
    try:
        mark = json.loads(comment or "")
    except ValueError:
        return None
    if not isinstance(mark, dict) or _MARK not in mark:
        return None
    created = mark.get("created_at")
    return Branch(
        name=str(mark[_MARK]),
        parent=str(mark.get("parent", MAIN)),
        created_at=dt.datetime.fromisoformat(created) if created else None,
        ref=database,
    )


def _busy(source: str, parent: str) -> str:
    return (
        f"database {source} ({parent}) has other connections (a running fisioflow?); "
        "stop them or pass --force to disconnect them"
    )


def _missing(name: str) -> str:
    return f"no branch {name!r}; `fisioflow db branch list` shows them"


def _last_line(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
