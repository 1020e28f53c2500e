"""Signed entries are frozen by the database itself: direct SQL as the application role
(and as the schema owner) cannot change or remove them."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from fisioflow.auth.principal import Principal, Role, tenancy_for, trusted_tenant
from fisioflow.core.database import create_sessionmaker, transaction
from tests.fixtures.records import (
    Team,
    create_team,
    let_patients_read,
    signed_entry,
    write_entry,
)


def as_practitioner(team: Team) -> Principal:
    user = team.practitioner
    return Principal(trusted_tenant(user.clinic_id), user.user_id, Role.PRACTITIONER)


async def run_sql(engine: AsyncEngine, principal: Principal, sql: str, **params: Any) -> list[Any]:
    async with transaction(create_sessionmaker(engine), tenancy_for(principal)) as session:
        result = await session.execute(text(sql), params)
        return list(result.all()) if result.returns_rows else [result.rowcount]


def constraint_of(error: IntegrityError) -> str | None:
    return getattr(getattr(error.orig, "diag", None), "constraint_name", None)


FORBIDDEN_CHANGES = [
    'update record_entry set content = \'{"plan": "rewritten"}\' where id = :id',
    "update record_entry set diagnoses = '[]' where id = :id",
    "update record_entry set status = 'draft', signed_at = null, signed_by = null,"
    " content_hash = null where id = :id",
    "update record_entry set content_hash = repeat('0', 64) where id = :id",
    "update record_entry set signed_at = now() where id = :id",
    "update record_entry set updated_at = now() where id = :id",
    "delete from record_entry where id = :id",
]


class TestSignedRowsAreFrozen:
    @pytest.mark.parametrize("sql", FORBIDDEN_CHANGES)
    async def test_as_the_application_role(
        self, client: httpx.AsyncClient, app_engine: AsyncEngine, sql: str
    ) -> None:
        team = await create_team(client)
        signed = await signed_entry(client, team)
        with pytest.raises(IntegrityError) as raised:
            await run_sql(app_engine, as_practitioner(team), sql, id=signed["id"])
        assert constraint_of(raised.value) == "record_entry_signed_immutable"
        after = await client.get(f"{team.records()}/{signed['id']}", headers=team.admin.headers)
        assert after.json() == {**signed, "addenda": []}

    async def test_as_the_schema_owner(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine
    ) -> None:
        team = await create_team(client)
        signed = await signed_entry(client, team)
        for sql in (FORBIDDEN_CHANGES[0], FORBIDDEN_CHANGES[-1]):
            with pytest.raises(IntegrityError):
                await run_sql(owner_engine, as_practitioner(team), sql, id=signed["id"])

    async def test_signing_cannot_change_the_content(
        self, client: httpx.AsyncClient, app_engine: AsyncEngine
    ) -> None:
        team = await create_team(client)
        draft = await write_entry(client, team)
        with pytest.raises(IntegrityError) as raised:
            await run_sql(
                app_engine,
                as_practitioner(team),
                "update record_entry set status = 'signed', signed_at = now(),"
                " signed_by = :user, content_hash = repeat('a', 64),"
                ' content = \'{"subjective": "other"}\' where id = :id',
                id=draft["id"],
                user=team.practitioner.user_id,
            )
        assert constraint_of(raised.value) == "record_entry_signed_immutable"


class TestDraftsStayEditable:
    async def test_update_and_delete_a_draft(
        self, client: httpx.AsyncClient, app_engine: AsyncEngine
    ) -> None:
        team = await create_team(client)
        draft = await write_entry(client, team)
        principal = as_practitioner(team)
        changed = await run_sql(
            app_engine,
            principal,
            'update record_entry set content = \'{"plan": "x"}\' where id = :id',
            id=draft["id"],
        )
        assert changed == [1]
        deleted = await run_sql(
            app_engine, principal, "delete from record_entry where id = :id", id=draft["id"]
        )
        assert deleted == [1]


class TestAddendumParent:
    INSERT = (
        "insert into record_entry (tenant_id, id, patient_id, author_id, kind, parent_id,"
        " content, status, signed_at, signed_by, content_hash)"
        " values (:tenant, :id, :patient, :author, 'addendum', :parent,"
        " '{\"text\": \"x\"}', 'signed', now(), :user, repeat('b', 64))"
    )

    async def insert_addendum(
        self, engine: AsyncEngine, team: Team, *, parent: str, patient: str | None = None
    ) -> None:
        await run_sql(
            engine,
            as_practitioner(team),
            self.INSERT,
            tenant=team.practitioner.clinic_id,
            id=uuid.uuid4(),
            patient=patient or team.patient_id,
            author=team.practitioner_id,
            parent=parent,
            user=team.practitioner.user_id,
        )

    async def test_parent_must_be_signed(
        self, client: httpx.AsyncClient, app_engine: AsyncEngine
    ) -> None:
        team = await create_team(client)
        draft = await write_entry(client, team)
        with pytest.raises(IntegrityError) as raised:
            await self.insert_addendum(app_engine, team, parent=draft["id"])
        assert constraint_of(raised.value) == "record_entry_addendum_parent"

    async def test_parent_must_be_of_the_same_patient(
        self, client: httpx.AsyncClient, app_engine: AsyncEngine
    ) -> None:
        team = await create_team(client)
        other = await create_team(client, team.admin)
        signed = await signed_entry(client, other)
        with pytest.raises(IntegrityError) as raised:
            await self.insert_addendum(app_engine, team, parent=signed["id"])
        assert constraint_of(raised.value) == (
            "fk_record_entry_tenant_id_patient_id_parent_id_record_entry"
        )

    async def test_signed_parent_is_accepted(
        self, client: httpx.AsyncClient, app_engine: AsyncEngine
    ) -> None:
        team = await create_team(client)
        signed = await signed_entry(client, team)
        await self.insert_addendum(app_engine, team, parent=signed["id"])
        detail = await client.get(f"{team.records()}/{signed['id']}", headers=team.admin.headers)
        assert len(detail.json()["addenda"]) == 1


class TestRowLevelSecurity:
    COUNT = "select status from record_entry order by id"

    async def test_receptionist_sees_no_entry(
        self, client: httpx.AsyncClient, app_engine: AsyncEngine
    ) -> None:
        team = await create_team(client)
        await signed_entry(client, team)
        user = team.admin
        receptionist = Principal(trusted_tenant(user.clinic_id), user.user_id, Role.RECEPTIONIST)
        assert await run_sql(app_engine, receptionist, self.COUNT) == []
        assert len(await run_sql(app_engine, as_practitioner(team), self.COUNT)) == 1

    async def test_patient_sees_own_signed_entries_when_enabled(
        self, client: httpx.AsyncClient, app_engine: AsyncEngine
    ) -> None:
        team = await create_team(client)
        other = await create_team(client, team.admin)
        await signed_entry(client, team)
        await write_entry(client, team)
        await signed_entry(client, other)
        patient = Principal(
            trusted_tenant(team.admin.clinic_id),
            team.admin.user_id,
            Role.PATIENT,
            patient_id=uuid.UUID(team.patient_id),
        )
        assert await run_sql(app_engine, patient, self.COUNT) == []
        await let_patients_read(client, team.admin, on=True)
        assert [row.status for row in await run_sql(app_engine, patient, self.COUNT)] == ["signed"]
        with pytest.raises(DBAPIError):
            await run_sql(
                app_engine,
                patient,
                "insert into record_entry (tenant_id, id, patient_id, author_id, kind, content)"
                " values (:tenant, :id, :patient, :author, 'evolution', '{\"plan\": \"x\"}')",
                tenant=team.admin.clinic_id,
                id=uuid.uuid4(),
                patient=team.patient_id,
                author=team.practitioner_id,
            )
