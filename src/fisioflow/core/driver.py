"""Statements every request runs, executed on the session's own psycopg connection.

SQLAlchemy's per-execution work (statement cache key, execution context, result
metadata, the greenlet hop) costs about 0.15-0.3 ms of CPU per statement, more than the
statement itself on a two-column-index lookup. The tenancy settings and the identity
check run on every authenticated request, so they are compiled once from SQLAlchemy
Core (the tables stay the single source of their names) and executed by psycopg
directly, in the session's transaction: same connection, same RLS, parameters still
bound server-side (and prepared by psycopg after a few uses). Driver errors are raised
as SQLAlchemy's DBAPIError subclasses, so the problem+json handlers treat them as
before (constraint -> 409, lost connection -> 503).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import psycopg
from psycopg.rows import class_row
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import ClauseElement

_DIALECT = PGDialect_psycopg()  # type: ignore[no-untyped-call]
Row = TypeVar("Row")


@dataclass(frozen=True)
class DriverStatement:
    """A Core statement compiled once to psycopg's SQL (named `%(param)s` placeholders)."""

    sql: str

    @classmethod
    def of(cls, statement: ClauseElement) -> DriverStatement:
        return cls(sql=str(statement.compile(dialect=_DIALECT)))


@dataclass(frozen=True)
class Query(Generic[Row]):
    """A statement with its parameters, whose rows are read as `row(**columns)`."""

    statement: DriverStatement
    params: Mapping[str, object]
    row: type[Row]


async def driver_connection(session: AsyncSession) -> psycopg.AsyncConnection[Any]:
    """The psycopg connection under the session's current transaction."""
    connection = await session.connection()
    driver = (await connection.get_raw_connection()).driver_connection
    if not isinstance(driver, psycopg.AsyncConnection):
        raise TypeError(f"expected a psycopg async connection, got {type(driver).__name__}")
    return driver


async def execute(
    session: AsyncSession, statement: DriverStatement, params: Mapping[str, object]
) -> None:
    """Run a statement whose result is not needed (e.g. set_config)."""
    driver = await driver_connection(session)
    try:
        await driver.execute(statement.sql, params)
    except psycopg.Error as exc:
        raise _translated(exc, statement, driver) from exc


async def fetch_one_after(
    session: AsyncSession,
    before: tuple[DriverStatement, Mapping[str, object]],
    query: Query[Row],
) -> Row | None:
    """Run `before` (its result unused), then return `query`'s first row as
    `row(**columns)` (column labels are the field names) or None, both in one pipelined
    round trip. (psycopg still waits for its own BEGIN first: it syncs a pipeline after
    starting a transaction.)"""
    driver = await driver_connection(session)
    try:
        cursor = driver.cursor(row_factory=class_row(query.row))
        async with driver.pipeline():
            await driver.execute(before[0].sql, before[1])
            await cursor.execute(query.statement.sql, query.params)
        return await cursor.fetchone()
    except psycopg.Error as exc:
        raise _translated(exc, query.statement, driver) from exc


def _translated(
    exc: psycopg.Error, statement: DriverStatement, driver: psycopg.AsyncConnection[Any]
) -> BaseException:
    return DBAPIError.instance(
        statement.sql,
        None,
        exc,
        psycopg.Error,
        hide_parameters=True,
        connection_invalidated=driver.broken,
    )
