"""Hot-path statements run by psycopg directly (core/driver.py), inside the session's
transaction, with SQLAlchemy's error types."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import psycopg
import pytest
from sqlalchemy import bindparam, select, text
from sqlalchemy.exc import DataError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from fisioflow.core import driver
from fisioflow.core.bootstrap import libpq_dsn
from fisioflow.core.database import DatabaseLocation, Tenancy, transaction, transaction_reading
from fisioflow.models import Clinic
from tests.fixtures.identity import create_clinic

_SLUG = driver.DriverStatement.of(
    select(Clinic.slug.label("slug"), Clinic.name.label("name")).where(
        Clinic.id == bindparam("clinic_id")
    )
)


@dataclass(frozen=True)
class _SlugRow:
    slug: str
    name: str


class TestDriverStatements:
    async def test_driver_errors_are_sqlalchemy_errors(
        self, app_sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        statement = driver.DriverStatement.of(text("select 1 / :zero"))
        with pytest.raises(DataError) as raised:
            async with transaction(app_sessionmaker, Tenancy()) as session:
                await driver.execute(session, statement, {"zero": 0})
        assert isinstance(raised.value.orig, psycopg.errors.DivisionByZero)


class TestTransactionReading:
    """The tenancy settings and a first read travel with the BEGIN in one pipeline."""

    async def test_first_row_is_read_under_the_tenancy(
        self, client: httpx.AsyncClient, app_sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        actor = await create_clinic(client)
        first = driver.Query(_SLUG, {"clinic_id": actor.clinic_id}, _SlugRow)
        tenancy = Tenancy(tenant_id=actor.clinic_id, actor="test:pipeline")
        async with transaction_reading(app_sessionmaker, tenancy, first) as (session, row):
            # The pipeline is over: the session goes on in the same transaction.
            settings = await session.execute(
                text("select current_setting('app.tenant_id'), current_setting('app.actor')")
            )
            assert tuple(settings.one()) == (str(actor.clinic_id), "test:pipeline")
        assert row is not None
        assert row.slug == actor.clinic_slug
        async with transaction_reading(app_sessionmaker, Tenancy(), first) as (_, hidden):
            assert hidden is None  # RLS: no clinic set

    async def test_a_failing_first_read_is_a_sqlalchemy_error_and_rolls_back(
        self, app_sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        failing = driver.Query(
            driver.DriverStatement.of(text("select 1 / :zero")), {"zero": 0}, _SlugRow
        )
        with pytest.raises(DataError) as raised:
            async with transaction_reading(app_sessionmaker, Tenancy(), failing):
                pass
        assert isinstance(raised.value.orig, psycopg.errors.DivisionByZero)
        async with transaction(app_sessionmaker, Tenancy()) as session:  # pool still usable
            assert await session.scalar(text("select 1")) == 1


class TestLostConnection:
    async def test_answers_503_once_then_serves_again(
        self, client: httpx.AsyncClient, database: DatabaseLocation
    ) -> None:
        actor = await create_clinic(client)
        assert (await client.get("/api/v1/me", headers=actor.headers)).status_code == 200
        assert database.superuser_url is not None
        with psycopg.connect(libpq_dsn(database.superuser_url)) as admin:
            admin.execute(
                "select pg_terminate_backend(pid) from pg_stat_activity"
                " where usename = 'fisioflow_app' and datname = %s",
                (database.app_url.database,),
            )
        lost = await client.get("/api/v1/me", headers=actor.headers)
        assert lost.status_code == 503
        assert lost.json()["code"] == "database_unavailable"
        assert (await client.get("/api/v1/me", headers=actor.headers)).status_code == 200
