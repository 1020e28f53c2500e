"""Monthly partitions are created ahead by the maintenance job, sealed like the parent."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from fisioflow.audit import repository
from fisioflow.audit.tasks import MONTHS_AHEAD
from fisioflow.core.database import DatabaseLocation, Tenancy, transaction
from fisioflow.core.jobs import SYSTEM_ROLE, job_app

PARTITIONS = text(
    "select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid"
    " where i.inhparent = 'audit_event'::regclass order by c.relname"
)


def _month_names(months: int) -> list[str]:
    today = dt.datetime.now(dt.UTC).date().replace(day=1)
    names = []
    for i in range(months + 1):
        year, month = divmod(today.month - 1 + i, 12)
        names.append(f"audit_event_{today.year + year}_{month + 1:02d}")
    return names


async def _partitions(owner_engine: AsyncEngine) -> list[str]:
    async with owner_engine.connect() as conn:
        return list(await conn.scalars(PARTITIONS))


class TestPartitions:
    async def test_the_migration_creates_this_month_and_the_next_ones(
        self, owner_engine: AsyncEngine
    ) -> None:
        names = await _partitions(owner_engine)
        assert "audit_event_default" in names
        assert set(_month_names(3)) <= set(names)

    async def test_the_job_creates_partitions_ahead_idempotently(
        self, app_sessionmaker: async_sessionmaker[AsyncSession], owner_engine: AsyncEngine
    ) -> None:
        tenancy = Tenancy(role=SYSTEM_ROLE, actor="job:audit.create_partitions")
        async with transaction(app_sessionmaker, tenancy) as session:
            created = await repository.ensure_partitions(session, months_ahead=12)
        assert created >= 12 - 3
        assert set(_month_names(12)) <= set(await _partitions(owner_engine))
        async with transaction(app_sessionmaker, tenancy) as session:
            assert await repository.ensure_partitions(session, months_ahead=12) == 0
        assert MONTHS_AHEAD >= 2

    async def test_new_partitions_are_sealed(
        self, app_sessionmaker: async_sessionmaker[AsyncSession], owner_engine: AsyncEngine
    ) -> None:
        async with transaction(app_sessionmaker, Tenancy(role=SYSTEM_ROLE)) as session:
            await repository.ensure_partitions(session, months_ahead=6)
        newest = _month_names(6)[-1]
        async with owner_engine.connect() as conn:
            touch = await conn.scalar(
                text(
                    "select has_table_privilege('fisioflow_app', :t,"
                    " 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE')"
                ),
                {"t": newest},
            )
            triggers = set(
                await conn.scalars(
                    text("select tgname from pg_trigger where tgrelid = cast(:t as regclass)"),
                    {"t": newest},
                )
            )
        assert touch is False
        assert {"audit_event_append_only_statement", "audit_event_append_only"} <= triggers

    def test_the_job_is_registered_and_periodic(self, database: DatabaseLocation) -> None:
        app = job_app(database)
        assert "audit.create_partitions" in app.tasks
        periodic = [p.task.name for p in app.periodic_registry.periodic_tasks.values()]
        assert "audit.create_partitions" in periodic
