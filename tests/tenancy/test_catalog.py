from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import APP_ROLE
from tests.tenancy.catalog import isolation_problems


class TestCatalog:
    async def test_every_tenant_table_is_enabled_forced_and_has_a_policy(
        self, owner_engine: AsyncEngine
    ) -> None:
        async with owner_engine.connect() as conn:
            assert await isolation_problems(conn, app_role=APP_ROLE) == []

    async def test_tables_exist_to_check(self, owner_engine: AsyncEngine) -> None:
        async with owner_engine.connect() as conn:
            count = await conn.scalar(
                text("select count(*) from pg_tables where schemaname = 'public'")
            )
        assert count is not None
        assert count >= 5


class TestCatalogCatchesRegressions:
    """The checker is only worth something if it fails when isolation is weakened."""

    @pytest.mark.parametrize(
        ("statement", "expected"),
        [
            ("drop policy tenant_isolation on user_account", "user_account: no policy"),
            (
                "alter table refresh_token no force row level security",
                "refresh_token: row level security not forced",
            ),
            (
                "alter table one_time_token disable row level security",
                "one_time_token: row level security not enabled",
            ),
            ("create table stray (id int)", "stray: no tenant_id and not declared global"),
            (
                "create view leaky as select * from user_account",
                "leaky: view is not security_invoker",
            ),
        ],
    )
    async def test_weakening_is_reported(
        self, owner_engine: AsyncEngine, statement: str, expected: str
    ) -> None:
        async with owner_engine.begin() as conn:
            await conn.execute(text(statement))
            assert expected in await isolation_problems(conn, app_role=APP_ROLE)

    async def test_app_role_owning_a_table_is_reported(
        self, owner_engine: AsyncEngine, app_engine: AsyncEngine
    ) -> None:
        async with owner_engine.begin() as conn:
            await conn.execute(text(f"grant create on schema public to {APP_ROLE}"))
        async with app_engine.begin() as conn:
            await conn.execute(text("create table owned_by_app (tenant_id uuid)"))
        async with owner_engine.connect() as conn:
            problems = await isolation_problems(conn, app_role=APP_ROLE)
        assert "owned_by_app: owned by the application role" in problems

    async def test_disabled_rls_really_leaks(
        self, owner_engine: AsyncEngine, app_engine: AsyncEngine
    ) -> None:
        """What the catalog test guards against: without RLS the app role sees every clinic."""
        async with owner_engine.begin() as conn:
            await conn.execute(
                text("select set_config('app.tenant_id', gen_random_uuid()::text, true)")
            )
            await conn.execute(
                text(
                    "insert into clinic (id, name, slug, timezone, locale) values "
                    "(app_current_tenant(), 'A', 'leak-a', 'UTC', 'pt-BR')"
                )
            )
        async with app_engine.connect() as conn:
            assert await conn.scalar(text("select count(*) from clinic")) == 0
        async with owner_engine.begin() as conn:
            await conn.execute(text("alter table clinic disable row level security"))
        async with app_engine.connect() as conn:
            assert await conn.scalar(text("select count(*) from clinic")) == 1
