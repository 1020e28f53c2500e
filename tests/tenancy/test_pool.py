from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from fisioflow.auth.principal import Principal, Role, tenancy_for, trusted_tenant
from fisioflow.core.database import DatabaseLocation, Tenancy, create_sessionmaker, transaction
from tests.fixtures.identity import create_clinic

_COUNT_USERS = text("select count(*), count(distinct tenant_id) from user_account")


class TestPooledConnectionCarriesNoTenant:
    async def test_two_tenants_then_none_on_one_connection(
        self, client: httpx.AsyncClient, database: DatabaseLocation
    ) -> None:
        a = await create_clinic(client)
        b = await create_clinic(client)
        engine = create_async_engine(database.app_url, pool_size=1, max_overflow=0)
        sessions = create_sessionmaker(engine)
        pids: set[int] = set()
        try:
            for actor in (a, b):
                principal = Principal(
                    tenant_id=trusted_tenant(actor.clinic_id),
                    user_id=actor.user_id,
                    role=Role.ADMIN,
                )
                async with transaction(sessions, tenancy_for(principal)) as session:
                    pids.add(int(await session.scalar(text("select pg_backend_pid()")) or 0))
                    users, tenants = (await session.execute(_COUNT_USERS)).one()
                    assert (users, tenants) == (1, 1)
                    clinic = await session.scalar(text("select id from clinic"))
                    assert clinic == actor.clinic_id
            async with engine.connect() as conn:  # no set_config at all
                pids.add(int(await conn.scalar(text("select pg_backend_pid()")) or 0))
                setting = await conn.scalar(text("select current_setting('app.tenant_id', true)"))
                assert setting in (None, "")
                assert tuple((await conn.execute(_COUNT_USERS)).one()) == (0, 0)
                for table in ("clinic", "refresh_token", "one_time_token"):
                    assert await conn.scalar(text(f"select count(*) from {table}")) == 0
            async with transaction(sessions, Tenancy()) as session:  # explicit empty tenancy
                assert tuple((await session.execute(_COUNT_USERS)).one()) == (0, 0)
        finally:
            await engine.dispose()
        assert len(pids) == 1, "the test must reuse one physical connection"

    async def test_writes_into_another_clinic_are_refused(
        self, client: httpx.AsyncClient, database: DatabaseLocation
    ) -> None:
        a = await create_clinic(client)
        b = await create_clinic(client)
        engine = create_async_engine(database.app_url)
        try:
            principal = Principal(trusted_tenant(a.clinic_id), a.user_id, Role.ADMIN)
            async with engine.connect() as conn:
                await conn.execute(
                    text("select set_config('app.tenant_id', :t, true)"),
                    {"t": str(principal.tenant_id)},
                )
                result = await conn.execute(
                    text("update user_account set full_name = 'hacked' where tenant_id = :b"),
                    {"b": b.clinic_id},
                )
                assert result.rowcount == 0
                insert = text(
                    "insert into user_account (tenant_id, id, email, full_name, role) "
                    "values (:b, :id, 'x@y.com.br', 'X', 'admin')"
                )
                with pytest.raises(DBAPIError, match="row-level security"):
                    await conn.execute(insert, {"b": b.clinic_id, "id": uuid.uuid4()})
        finally:
            await engine.dispose()


class TestPatientRowsPolicy:
    async def test_patient_user_sees_only_itself(
        self, client: httpx.AsyncClient, database: DatabaseLocation
    ) -> None:
        admin = await create_clinic(client)
        engine = create_async_engine(database.app_url)
        sessions = create_sessionmaker(engine)
        patient_id = uuid.uuid4()
        staff = Principal(trusted_tenant(admin.clinic_id), admin.user_id, Role.ADMIN)
        try:
            async with transaction(sessions, tenancy_for(staff)) as session:
                await session.execute(
                    text(
                        "insert into user_account (tenant_id, id, email, full_name, role) "
                        "values (:t, :id, 'pac@x.com.br', 'Paciente', 'patient')"
                    ),
                    {"t": admin.clinic_id, "id": patient_id},
                )
            patient = Principal(trusted_tenant(admin.clinic_id), patient_id, Role.PATIENT)
            async with transaction(sessions, tenancy_for(patient)) as session:
                ids = list(await session.scalars(text("select id from user_account")))
            assert ids == [patient_id]
        finally:
            await engine.dispose()
