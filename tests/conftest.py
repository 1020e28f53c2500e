"""Test harness: one embedded PostgreSQL per test session (shared by xdist workers),
one migrated template database, and a fresh clone of it for every test that asks."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from psycopg import sql
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from fisioflow.app import create_app
from fisioflow.core.bootstrap import bootstrap, libpq_dsn
from fisioflow.core.branches import clone_database, drop_database
from fisioflow.core.database import (
    OWNER_ROLE,
    DatabaseLocation,
    create_engine,
    create_sessionmaker,
)
from fisioflow.core.embedded import EmbeddedPostgres, _FileLock
from fisioflow.core.migrations import MIGRATIONS_DIR, upgrade
from fisioflow.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
TEST_DATA_DIR = ROOT / ".fisioflow" / "test-pg"
APP_ROLE = "fisioflow_app"


def _schema_fingerprint() -> str:
    digest = hashlib.sha256()
    sources = [*sorted(MIGRATIONS_DIR.rglob("*.py")), *sorted((ROOT / "src").rglob("*.sql"))]
    sources.append(ROOT / "src" / "fisioflow" / "exercise" / "library.json")  # loaded by 0016
    sources.append(ROOT / "src" / "fisioflow" / "core" / "migration_helpers.py")
    for path in sources:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


@pytest.fixture(scope="session")
def embedded_pg() -> Iterator[EmbeddedPostgres]:
    TEST_DATA_DIR.parent.mkdir(parents=True, exist_ok=True)
    server = EmbeddedPostgres(TEST_DATA_DIR, fast_unsafe=True)
    server.acquire()
    yield server
    server.release()


def location_for(server: EmbeddedPostgres, database: str) -> DatabaseLocation:
    return DatabaseLocation(
        owner_url=make_url(server.url(user=OWNER_ROLE, database=database)),
        app_url=make_url(server.url(user=APP_ROLE, database=database)),
        superuser_url=make_url(server.url(database="postgres")),
    )


@pytest.fixture(scope="session")
def template_db(embedded_pg: EmbeddedPostgres) -> str:
    name = f"fisioflow_tpl_{_schema_fingerprint()}"
    with _FileLock(TEST_DATA_DIR / "template.lock"):
        su = libpq_dsn(make_url(embedded_pg.url()))
        with psycopg.connect(su, autocommit=True) as conn:
            found = conn.execute(
                "select datistemplate from pg_database where datname = %s", [name]
            ).fetchone()
            if found is not None and not found[0]:  # a run that failed while migrating
                conn.execute(sql.SQL("drop database {}").format(sql.Identifier(name)))
            if found is None or not found[0]:
                location = location_for(embedded_pg, name)
                bootstrap(location, app_role=APP_ROLE)
                upgrade(location.owner_url, app_role=APP_ROLE)
                conn.execute(
                    sql.SQL("alter database {} is_template true").format(sql.Identifier(name))
                )
                _drop_stale_templates(conn, keep=name)
    return name


def _drop_stale_templates(conn: psycopg.Connection[tuple[object, ...]], *, keep: str) -> None:
    stale = conn.execute(
        "select datname from pg_database where datname like 'fisioflow_tpl_%%' and datname <> %s",
        [keep],
    ).fetchall()
    for (old,) in stale:
        conn.execute(sql.SQL("alter database {} is_template false").format(sql.Identifier(old)))
        conn.execute(sql.SQL("drop database {} with (force)").format(sql.Identifier(old)))


@pytest.fixture
def database(embedded_pg: EmbeddedPostgres, template_db: str) -> Iterator[DatabaseLocation]:
    """A private, migrated database for one test: a branch of the template, made with
    the same code as `fisioflow db branch create`."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    su = libpq_dsn(make_url(embedded_pg.url()))
    clone_database(su, source=template_db, target=name, owner=OWNER_ROLE)
    yield location_for(embedded_pg, name)
    drop_database(su, name)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        environment="test",
        secret_key="test-secret-key-that-is-long-enough-for-hs256",  # type: ignore[arg-type]
        signup_rate_limit="10000/minute",
        ip_rate_limit="10000/minute",
        db_pool_size=5,
        db_max_overflow=5,
    )


@pytest.fixture
async def app(settings: Settings, database: DatabaseLocation) -> AsyncIterator[FastAPI]:
    application = create_app(settings, database)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@pytest.fixture
async def owner_engine(
    database: DatabaseLocation, settings: Settings
) -> AsyncIterator[AsyncEngine]:
    """Connects as the schema owner: for arranging data and inspecting the catalog."""
    engine = create_engine(database.owner_url, settings)
    yield engine
    await engine.dispose()


@pytest.fixture
async def app_engine(database: DatabaseLocation, settings: Settings) -> AsyncIterator[AsyncEngine]:
    """Connects as the application role, like the API and the worker do."""
    engine = create_engine(database.app_url, settings)
    yield engine
    await engine.dispose()


@pytest.fixture
def app_sessionmaker(app_engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(app_engine)
