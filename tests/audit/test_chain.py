"""The chain across transactions: a clinic's head row is written once per transaction (at
commit, by a deferred trigger) and the chain stays whole through big transactions,
rolled-back savepoints, early flushes, several clinics at once and concurrent writers."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from fisioflow.audit.verify import ChainReport, verify_chain
from fisioflow.core.database import Tenancy, create_sessionmaker, transaction
from tests.fixtures.identity import Actor, create_clinic

READS = (
    "insert into audit_event (tenant_id, operation, table_name, record_id)"
    " select app_current_tenant(), 'READ', 'patient', gen_random_uuid()"
    " from generate_series(1, :n)"
)


async def _as_clinic(conn: AsyncConnection, clinic_id: uuid.UUID) -> None:
    await conn.execute(text("select set_config('app.tenant_id', :t, true)"), {"t": str(clinic_id)})


async def _reads(conn: AsyncConnection, n: int) -> None:
    await conn.execute(text(READS), {"n": n})


async def _verify(app_engine: AsyncEngine, clinic_id: uuid.UUID) -> ChainReport:
    maker = create_sessionmaker(app_engine)
    async with transaction(maker, Tenancy(tenant_id=clinic_id, actor="test")) as session:
        return await verify_chain(session)


async def _head(owner_engine: AsyncEngine, clinic_id: uuid.UUID) -> int:
    async with owner_engine.connect() as conn:
        seq = await conn.scalar(
            text("select seq from audit_chain_head where tenant_id = :t"), {"t": clinic_id}
        )
    return int(seq)


async def _events(client: httpx.AsyncClient) -> tuple[Actor, int]:
    admin = await create_clinic(client)
    return admin, 3  # signup: clinic, admin, refresh token


class TestChainAcrossTransactions:
    async def test_a_big_transaction_then_another(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine, app_engine: AsyncEngine
    ) -> None:
        admin, before = await _events(client)
        for n in (5_000, 7):
            async with owner_engine.begin() as conn:
                await _as_clinic(conn, admin.clinic_id)
                await _reads(conn, n)
        report = await _verify(app_engine, admin.clinic_id)
        assert report == ChainReport(before + 5_007, None)
        assert await _head(owner_engine, admin.clinic_id) == before + 5_007

    async def test_a_rolled_back_savepoint_leaves_no_gap(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine, app_engine: AsyncEngine
    ) -> None:
        admin, before = await _events(client)
        async with owner_engine.begin() as conn:
            await _as_clinic(conn, admin.clinic_id)
            await _reads(conn, 2)
            savepoint = await conn.begin_nested()
            await _reads(conn, 5)
            await savepoint.rollback()
            await _reads(conn, 3)
        report = await _verify(app_engine, admin.clinic_id)
        assert report == ChainReport(before + 5, None)

    async def test_an_early_flush_then_more_events(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine, app_engine: AsyncEngine
    ) -> None:
        admin, before = await _events(client)
        async with owner_engine.begin() as conn:
            await _as_clinic(conn, admin.clinic_id)
            await _reads(conn, 4)
            await conn.execute(text("set constraints all immediate"))
            await _reads(conn, 4)
        assert await _verify(app_engine, admin.clinic_id) == ChainReport(before + 8, None)
        assert await _head(owner_engine, admin.clinic_id) == before + 8

    async def test_two_clinics_in_one_transaction(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine, app_engine: AsyncEngine
    ) -> None:
        first, before = await _events(client)
        second, _ = await _events(client)
        async with owner_engine.begin() as conn:
            for clinic in (first, second, first):
                await _as_clinic(conn, clinic.clinic_id)
                await _reads(conn, 3)
        assert await _verify(app_engine, first.clinic_id) == ChainReport(before + 6, None)
        assert await _verify(app_engine, second.clinic_id) == ChainReport(before + 3, None)

    async def test_concurrent_writers_of_one_clinic_take_turns(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine, app_engine: AsyncEngine
    ) -> None:
        admin, before = await _events(client)

        async def writer() -> None:
            async with app_engine.begin() as conn:
                await _as_clinic(conn, admin.clinic_id)
                for _ in range(5):
                    await _reads(conn, 2)
                    await asyncio.sleep(0)

        await asyncio.gather(*(writer() for _ in range(8)))
        assert await _verify(app_engine, admin.clinic_id) == ChainReport(before + 80, None)
        assert await _head(owner_engine, admin.clinic_id) == before + 80
