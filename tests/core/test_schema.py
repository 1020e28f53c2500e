"""The models and the migrations describe the same schema."""

from __future__ import annotations

import re

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, create_engine, text

from fisioflow.core.database import DatabaseLocation
from fisioflow.models import Base


def _ours(diff: object) -> bool:
    """procrastinate's tables come from its own schema file, patient_search is an
    internal search table (migration 0006), and the audit chain head and the monthly
    audit partitions are internal to the audit migration; none has a model."""
    text_ = str(diff[1]) if isinstance(diff, tuple) else ""
    internal = ("procrastinate_", "patient_search", "audit_chain_head")
    partition = re.search(r"audit_event_(\d{4}_\d{2}|default)\b", text_)
    return not any(name in text_ for name in internal) and partition is None


def _expression_index(diff: object) -> bool:
    """Expression indexes (trigram search) are declared in migrations only."""
    if not isinstance(diff, tuple) or diff[0] != "remove_index":
        return False
    return any(not isinstance(e, Column) for e in diff[1].expressions)


class TestModelsMatchMigrations:
    def test_no_difference(self, database: DatabaseLocation) -> None:
        engine = create_engine(database.owner_url)
        try:
            with engine.connect() as conn:
                context = MigrationContext.configure(conn, opts={"compare_type": True})
                diff = compare_metadata(context, Base.metadata)
        finally:
            engine.dispose()
        assert [d for d in diff if _ours(d) and not _expression_index(d)] == []


class TestConventions:
    def test_timestamps_are_timestamptz(self, database: DatabaseLocation) -> None:
        engine = create_engine(database.owner_url)
        try:
            with engine.connect() as conn:
                naive = conn.execute(
                    text(
                        "select table_name, column_name from information_schema.columns "
                        "where table_schema = 'public' and data_type = 'timestamp without time zone'"
                    )
                ).all()
                keys = conn.execute(
                    text(
                        "select c.conrelid::regclass::text, a.attname from pg_constraint c "
                        "join pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1] "
                        "join pg_namespace n on n.oid = c.connamespace "
                        "where n.nspname = 'public' and c.contype = 'p' "
                        "and exists (select 1 from pg_attribute t where t.attrelid = c.conrelid "
                        "            and t.attname = 'tenant_id')"
                    )
                ).all()
        finally:
            engine.dispose()
        assert naive == []
        assert keys, "tenant tables exist"
        assert all(column == "tenant_id" for _, column in keys), keys


class TestConstraintNames:
    def test_check_constraints_follow_the_convention_once(self, database: DatabaseLocation) -> None:
        engine = create_engine(database.owner_url)
        try:
            with engine.connect() as conn:
                names = conn.execute(
                    text(
                        "select c.conname, c.conrelid::regclass::text from pg_constraint c "
                        "join pg_namespace n on n.oid = c.connamespace "
                        "where n.nspname = 'public' and c.contype = 'c'"
                        " and c.conrelid::regclass::text not like 'procrastinate%'"
                        " and not c.conrelid::regclass::text ~ '^audit_event_(\\d{4}_\\d{2}|default)$'"
                    )
                ).all()
        finally:
            engine.dispose()
        assert names
        for name, table in names:
            assert name.startswith(f"ck_{table}_"), name
            assert f"ck_{table}_ck_" not in name, name


class TestJsonNone:
    async def test_none_is_sql_null_not_json_null(
        self, client: object, owner_engine: object
    ) -> None:
        import httpx
        from sqlalchemy.ext.asyncio import AsyncEngine

        from tests.fixtures.clinical import create_patient
        from tests.fixtures.identity import create_clinic

        assert isinstance(client, httpx.AsyncClient)
        assert isinstance(owner_engine, AsyncEngine)
        admin = await create_clinic(client)
        await create_patient(client, admin)
        async with owner_engine.begin() as conn:
            await conn.execute(
                text("select set_config('app.tenant_id', :t, true)"), {"t": str(admin.clinic_id)}
            )
            kinds = (
                await conn.execute(text("select address is null, guardian is null from patient"))
            ).one()
        assert tuple(kinds) == (True, True)
