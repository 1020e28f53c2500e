"""Audit events can be added and read, never changed or removed: not by the application
role (grants), not by the owner (triggers), not through a partition."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fixtures.clinical import create_patient
from tests.fixtures.identity import create_clinic

STATEMENTS = [
    "update audit_event set actor = 'someone else'",
    "delete from audit_event",
    "truncate audit_event",
]


async def _partition(owner_engine: AsyncEngine) -> str:
    async with owner_engine.connect() as conn:
        name = await conn.scalar(
            text(
                "select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid"
                " where i.inhparent = 'audit_event'::regclass and c.relname <> 'audit_event_default'"
                " order by c.relname limit 1"
            )
        )
    assert name is not None
    return str(name)


async def _attempt(engine: AsyncEngine, clinic: str, statement: str) -> str:
    async with engine.connect() as conn:
        await conn.execute(text("select set_config('app.tenant_id', :t, true)"), {"t": clinic})
        with pytest.raises(DBAPIError) as refused:
            await conn.execute(text(statement))
        await conn.rollback()
    return str(refused.value.orig)


class TestAppendOnly:
    @pytest.mark.parametrize("statement", STATEMENTS)
    async def test_app_role_is_refused(
        self, client: httpx.AsyncClient, app_engine: AsyncEngine, statement: str
    ) -> None:
        admin = await create_clinic(client)
        await create_patient(client, admin)
        message = await _attempt(app_engine, str(admin.clinic_id), statement)
        assert "permission denied" in message

    @pytest.mark.parametrize("statement", STATEMENTS)
    async def test_owner_is_refused_by_the_trigger(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine, statement: str
    ) -> None:
        admin = await create_clinic(client)
        await create_patient(client, admin)
        message = await _attempt(owner_engine, str(admin.clinic_id), statement)
        assert "audit events are append-only" in message

    @pytest.mark.parametrize("verb", ["update {} set actor = 'x'", "delete from {}", "truncate {}"])
    async def test_partitions_refuse_too(
        self,
        client: httpx.AsyncClient,
        app_engine: AsyncEngine,
        owner_engine: AsyncEngine,
        verb: str,
    ) -> None:
        admin = await create_clinic(client)
        partition = await _partition(owner_engine)
        statement = verb.format(partition)
        assert "permission denied" in await _attempt(app_engine, str(admin.clinic_id), statement)
        owner_message = await _attempt(owner_engine, str(admin.clinic_id), statement)
        assert "audit events are append-only" in owner_message

    async def test_app_role_reads_and_adds_only(self, owner_engine: AsyncEngine) -> None:
        async with owner_engine.connect() as conn:
            rights = await conn.scalar(
                text(
                    "select array_agg(p order by p) from unnest(array['SELECT', 'INSERT',"
                    " 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) p"
                    " where has_table_privilege('fisioflow_app', 'audit_event', p)"
                )
            )
            head = await conn.scalar(
                text(
                    "select has_table_privilege('fisioflow_app', 'audit_chain_head',"
                    " 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE')"
                )
            )
        assert rights == ["INSERT", "SELECT"]
        assert head is False
