"""Every table with clinic or patient data carries the audit trigger; the checker itself
fails when a table escapes."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.audit.catalog import EXEMPT, audit_problems, audited_tables


class TestCompleteness:
    async def test_every_table_with_clinic_or_patient_data_is_audited(
        self, owner_engine: AsyncEngine
    ) -> None:
        async with owner_engine.connect() as conn:
            assert await audit_problems(conn) == []

    async def test_the_known_tables_are_audited(self, owner_engine: AsyncEngine) -> None:
        async with owner_engine.connect() as conn:
            audited = await audited_tables(conn)
        assert {
            "clinic",
            "user_account",
            "refresh_token",
            "one_time_token",
            "practitioner",
            "patient",
            "record_entry",
            "room",
            "time_off",
            "appointment_series",
            "appointment",
            "diary_entry",
            "mood_entry",
            "patient_message",
            "internal_note",
            "sos_event",
            "exercise",
            "prescription",
            "prescription_item",
            "prescription_item_version",
            "exercise_log",
            "alert",
        } <= audited
        assert not audited & set(EXEMPT)

    async def test_exemptions_exist(self, owner_engine: AsyncEngine) -> None:
        """A stale exemption (table renamed or dropped) would silently exempt a new one."""
        async with owner_engine.connect() as conn:
            names = set(
                await conn.scalars(
                    text("select tablename from pg_tables where schemaname = 'public'")
                )
            )
        assert set(EXEMPT) <= names | {"audit_event"}


class TestCompletenessCatchesRegressions:
    @pytest.mark.parametrize(
        ("statement", "expected"),
        [
            (
                "create table appointment_x (tenant_id uuid, id uuid)",
                "appointment_x: no audit trigger (call attach_audit in its migration)",
            ),
            (
                "create table diary_x (id uuid, patient_id uuid)",
                "diary_x: no audit trigger (call attach_audit in its migration)",
            ),
            (
                "drop trigger audit_row on record_entry",
                "record_entry: no audit trigger (call attach_audit in its migration)",
            ),
            (
                "alter table patient disable trigger audit_row",
                "patient: no audit trigger (call attach_audit in its migration)",
            ),
            (
                "alter table practitioner add column api_secret text",
                "practitioner.api_secret: looks secret but is audited in clear",
            ),
        ],
    )
    async def test_a_gap_is_reported(
        self, owner_engine: AsyncEngine, statement: str, expected: str
    ) -> None:
        async with owner_engine.begin() as conn:
            await conn.execute(text(statement))
            assert expected in await audit_problems(conn)

    async def test_attaching_the_trigger_satisfies_it(self, owner_engine: AsyncEngine) -> None:
        async with owner_engine.begin() as conn:
            await conn.execute(text("create table billing_x (tenant_id uuid, id uuid)"))
            await conn.execute(
                text(
                    "create trigger audit_row after insert or update or delete on billing_x "
                    "for each row execute function audit_row_change('tenant_id', '')"
                )
            )
            assert await audit_problems(conn) == []
