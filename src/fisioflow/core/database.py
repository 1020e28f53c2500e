"""Database access: where PostgreSQL is, the engines, and the per-transaction tenancy context.

Two connections exist:
- the owner (DATABASE_URL, or the embedded superuser) runs bootstrap and migrations;
- the application role (non-owner, NOBYPASSRLS) serves requests and jobs, so row-level
  security always applies to it.

Tenancy lives only in transaction-local settings (`set_config(..., true)`): a pooled
connection (or PgBouncer in transaction mode) never carries a clinic into the next
transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from fisioflow.core import driver
from fisioflow.core.driver import Row
from fisioflow.core.embedded import EmbeddedPostgres
from fisioflow.core.errors import FisioflowError
from fisioflow.settings import Settings

OWNER_ROLE = "fisioflow_owner"


@dataclass(frozen=True)
class DatabaseLocation:
    """Where to connect, as the owner (migrations) and as the application role."""

    owner_url: URL
    app_url: URL
    superuser_url: URL | None = None  # only on the embedded server: bootstrap creates roles


def locate(settings: Settings, embedded: EmbeddedPostgres | None = None) -> DatabaseLocation:
    if settings.database_url is None:
        assert embedded is not None, "embedded PostgreSQL must be started first"
        name = settings.embedded_db_name
        return DatabaseLocation(
            owner_url=make_url(embedded.url(user=OWNER_ROLE, database=name)),
            app_url=make_url(embedded.url(user=settings.app_db_role, database=name)),
            superuser_url=make_url(embedded.url(database="postgres")),
        )
    owner = _with_driver(make_url(settings.database_url))
    if settings.app_database_url:
        app = _with_driver(make_url(settings.app_database_url))
    else:
        password = settings.app_database_password
        app = owner.set(
            username=settings.app_db_role,
            password=password.get_secret_value() if password else None,
        )
    return DatabaseLocation(owner_url=owner, app_url=app)


def _with_driver(url: URL) -> URL:
    if url.drivername in ("postgresql", "postgres", "postgresql+psycopg"):
        return url.set(drivername="postgresql+psycopg")
    raise ValueError(f"DATABASE_URL must be a postgresql:// URL, got {url.drivername}://")


def create_engine(url: URL, settings: Settings) -> AsyncEngine:
    return create_async_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        # No pre-ping: it costs a round trip per request. A connection broken by a
        # database restart fails one request (503, nothing acknowledged) and the pool
        # replaces it.
        pool_recycle=1800,
        connect_args={
            "options": f"-c statement_timeout={settings.db_statement_timeout_ms}",
            "application_name": "fisioflow",
        },
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@dataclass(frozen=True)
class Tenancy:
    """Who acts: set into every transaction before any statement runs."""

    tenant_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    role: str = ""
    patient_id: uuid.UUID | None = None
    request_id: str = ""
    actor: str = ""  # "user:<id>", or the command or job name when there is no user
    ip: str = ""  # the client's address, for the audit trail
    user_agent: str = ""


# Where the request came from (request id, IP, user agent) survives a later
# apply_tenancy() in the same transaction that does not repeat it (login, refresh).
# Every transaction runs it: executed by the driver directly (core/driver.py).
_SET_TENANCY = driver.DriverStatement.of(
    text(
        "select set_config('app.tenant_id', :tenant_id, true),"
        " set_config('app.user_id', :user_id, true),"
        " set_config('app.role', :role, true),"
        " set_config('app.patient_id', :patient_id, true),"
        " set_config('app.actor', :actor, true),"
        " set_config('app.request_id',"
        " coalesce(nullif(:request_id, ''), current_setting('app.request_id', true), ''), true),"
        " set_config('app.ip',"
        " coalesce(nullif(:ip, ''), current_setting('app.ip', true), ''), true),"
        " set_config('app.user_agent',"
        " coalesce(nullif(:user_agent, ''), current_setting('app.user_agent', true), ''), true)"
    )
)
USER_AGENT_MAX = 512


async def apply_tenancy(session: AsyncSession, tenancy: Tenancy) -> None:
    await driver.execute(session, _SET_TENANCY, _tenancy_params(tenancy))


def _tenancy_params(tenancy: Tenancy) -> dict[str, object]:
    return {
        "tenant_id": _s(tenancy.tenant_id),
        "user_id": _s(tenancy.user_id),
        "role": tenancy.role,
        "patient_id": _s(tenancy.patient_id),
        "request_id": tenancy.request_id,
        "actor": tenancy.actor,
        "ip": tenancy.ip,
        "user_agent": tenancy.user_agent[:USER_AGENT_MAX],
    }


def _s(value: uuid.UUID | None) -> str:
    return "" if value is None else str(value)


@asynccontextmanager
async def command_transaction(
    location: DatabaseLocation, settings: Settings, tenancy: Tenancy
) -> AsyncIterator[AsyncSession]:
    """A CLI command's single transaction as the application role, on its own engine."""
    engine = create_engine(location.app_url, settings)
    try:
        async with transaction(create_sessionmaker(engine), tenancy) as session:
            yield session
    finally:
        await engine.dispose()


@asynccontextmanager
async def transaction(
    sessionmaker: async_sessionmaker[AsyncSession], tenancy: Tenancy
) -> AsyncIterator[AsyncSession]:
    """One transaction with the tenancy settings applied; commits on success.

    A domain error marked `commit=True` (e.g. a detected refresh-token reuse that must
    revoke the family while answering 401) commits what was written before re-raising.
    """
    async with _committed(sessionmaker) as session:
        await apply_tenancy(session, tenancy)
        yield session


@asynccontextmanager
async def transaction_reading(
    sessionmaker: async_sessionmaker[AsyncSession], tenancy: Tenancy, first: driver.Query[Row]
) -> AsyncIterator[tuple[AsyncSession, Row | None]]:
    """`transaction`, with `first`'s row read under the tenancy in the same round trip as
    the settings (the identity check every authenticated request makes)."""
    async with _committed(sessionmaker) as session:
        row = await driver.fetch_one_after(session, (_SET_TENANCY, _tenancy_params(tenancy)), first)
        yield session, row


@asynccontextmanager
async def _committed(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as session:
        await session.begin()
        try:
            yield session
        except FisioflowError as exc:
            await (session.commit() if exc.commit else session.rollback())
            raise
        except BaseException:
            await session.rollback()
            raise
        await session.commit()
