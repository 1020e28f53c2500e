"""The models and the migrations describe the same schema."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, create_engine, text

from fisioflow.core.database import DatabaseLocation
from fisioflow.models import Base


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
        assert [d for d in diff if not _expression_index(d)] == []


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
