"""Write audit: every INSERT/UPDATE/DELETE of an audited table leaves exactly one event,
in the same transaction, with the right values and actor."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from fisioflow.clinic.commands import create_from_cli
from fisioflow.core.database import DatabaseLocation
from fisioflow.core.migrations import MIGRATIONS_DIR, alembic_config, head_revisions
from fisioflow.settings import Settings
from tests.conftest import APP_ROLE
from tests.fixtures.audit import audit_events
from tests.fixtures.clinical import create_patient, new_cpf
from tests.fixtures.identity import Actor, create_clinic

UA = "audit-test/1.0"
CLINICAL = "table_name in ('patient', 'practitioner', 'record_entry')"


class Script:
    """API writes, each with its own X-Request-ID, remembered in order."""

    def __init__(self, client: httpx.AsyncClient, actor: Actor) -> None:
        self.client = client
        self.actor = actor
        self.request_ids: list[str] = []

    async def send(self, method: str, path: str, *, status: int, **kwargs: Any) -> Any:
        request_id = f"script-{len(self.request_ids)}-{uuid.uuid4().hex[:8]}"
        headers = {
            **self.actor.headers,
            "X-Request-ID": request_id,
            "User-Agent": UA,
            **kwargs.pop("headers", {}),
        }
        response = await self.client.request(method, path, headers=headers, **kwargs)
        assert response.status_code == status, response.text
        self.request_ids.append(request_id)
        return response.json()


async def _run_script(script: Script) -> dict[str, str]:
    admin = script.actor
    profile = await script.send(
        "POST",
        "/api/v1/practitioners",
        status=201,
        json={
            "full_name": "Dra. Auditada",
            "council": "CREFITO",
            "council_number": "123456",
            "council_state": "SP",
            "user_id": str(admin.user_id),
        },
    )
    patient = await script.send(
        "POST",
        "/api/v1/patients",
        status=201,
        json={"full_name": "Maria Antes", "practitioner_id": profile["id"]},
    )
    base = f"/api/v1/patients/{patient['id']}"
    await script.send(
        "PATCH", base, status=200, json={"full_name": "Maria Depois"}, headers={"If-Match": '"1"'}
    )
    record = await script.send(
        "POST",
        f"{base}/records",
        status=201,
        json={"kind": "evolution", "content": {"subjective": "dor lombar"}},
    )
    records = f"{base}/records/{record['id']}"
    await script.send("PATCH", records, status=200, json={"content": {"plan": "alongamento"}})
    await script.send("POST", f"{records}/sign", status=200)
    await script.send("POST", f"{records}/addenda", status=201, json={"content": {"text": "ok"}})
    await script.send("POST", f"{base}/archive", status=200)
    return {"practitioner": profile["id"], "patient": patient["id"], "record": record["id"]}


class TestScriptedWrites:
    async def test_n_writes_give_exactly_n_events(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine
    ) -> None:
        admin = await create_clinic(client)
        script = Script(client, admin)
        ids = await _run_script(script)
        events = await audit_events(owner_engine, admin.clinic_id, where=CLINICAL)
        assert [e["request_id"] for e in events] == script.request_ids
        expected = [
            ("INSERT", "practitioner", ids["practitioner"]),
            ("INSERT", "patient", ids["patient"]),
            ("UPDATE", "patient", ids["patient"]),
            ("INSERT", "record_entry", ids["record"]),
            ("UPDATE", "record_entry", ids["record"]),
            ("UPDATE", "record_entry", ids["record"]),
            ("INSERT", "record_entry", None),  # the addendum, a new id
            ("UPDATE", "patient", ids["patient"]),
        ]
        for event, (operation, table, record_id) in zip(events, expected, strict=True):
            assert (event["operation"], event["table_name"]) == (operation, table)
            if record_id is not None:
                assert str(event["record_id"]) == record_id
            assert event["actor_user_id"] == admin.user_id
            assert event["actor_role"] == "admin"
            assert event["actor"] == f"user:{admin.user_id}"
            assert event["ip"] == "127.0.0.1"
            assert event["user_agent"] == UA
        assert all(str(e["patient_id"]) == ids["patient"] for e in events[1:])

    async def test_old_and_new_values_and_changed_fields(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine
    ) -> None:
        admin = await create_clinic(client)
        await _run_script(Script(client, admin))
        events = await audit_events(owner_engine, admin.clinic_id, where=CLINICAL)
        created, renamed = events[1], events[2]
        assert created["old_values"] is None
        assert created["new_values"]["full_name"] == "Maria Antes"
        assert created["changed_fields"] is None
        assert renamed["old_values"]["full_name"] == "Maria Antes"
        assert renamed["new_values"]["full_name"] == "Maria Depois"
        assert renamed["old_values"]["version"] == 1
        assert renamed["new_values"]["version"] == 2
        assert {"full_name", "version"} <= set(renamed["changed_fields"])
        assert "cpf" not in renamed["changed_fields"]
        signed = events[5]
        assert signed["old_values"]["status"] == "draft"
        assert signed["new_values"]["status"] == "signed"
        assert signed["new_values"]["content"] == {
            "subjective": "dor lombar",
            "plan": "alongamento",
        }


class TestSecretsStayOut:
    async def test_password_and_token_hashes_are_not_logged(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine
    ) -> None:
        admin = await create_clinic(client)
        changed = await client.post(
            "/api/v1/me/password",
            json={
                "current_password": "correct horse battery staple",
                "new_password": "another long passphrase 2026",
            },
            headers=admin.headers,
        )
        assert changed.status_code == 204, changed.text
        events = await audit_events(owner_engine, admin.clinic_id)
        tables = {e["table_name"] for e in events}
        assert {"clinic", "user_account", "refresh_token"} <= tables
        for event in events:
            for values in (event["old_values"], event["new_values"]):
                assert not {"password_hash", "token_hash"} & set(values or {}), event
        assert "$argon2" not in repr(events)
        update = next(
            e
            for e in events
            if e["table_name"] == "user_account"
            and e["operation"] == "UPDATE"
            and "password_hash" in (e["changed_fields"] or [])
        )
        assert "password_hash" not in update["new_values"]
        assert "password_hash" not in update["old_values"]


class TestNothingWithoutTheWrite:
    async def test_a_refused_write_leaves_no_event(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine
    ) -> None:
        admin = await create_clinic(client)
        cpf = new_cpf()
        await create_patient(client, admin, cpf=cpf)
        before = await audit_events(owner_engine, admin.clinic_id, where="table_name = 'patient'")
        duplicate = await client.post(
            "/api/v1/patients", json={"full_name": "Outro", "cpf": cpf}, headers=admin.headers
        )
        assert duplicate.status_code == 409
        after = await audit_events(owner_engine, admin.clinic_id, where="table_name = 'patient'")
        assert after == before

    async def test_a_rolled_back_transaction_leaves_no_event_and_no_gap(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine, app_engine: AsyncEngine
    ) -> None:
        admin = await create_clinic(client)
        patient = await create_patient(client, admin)
        async with app_engine.connect() as conn:
            await conn.execute(
                text("select set_config('app.tenant_id', :t, true)"), {"t": str(admin.clinic_id)}
            )
            await conn.execute(
                text("update patient set notes = 'desfeito' where id = :id"), {"id": patient["id"]}
            )
            await conn.rollback()
        await create_patient(client, admin, full_name="Depois do Rollback")
        events = await audit_events(owner_engine, admin.clinic_id)
        assert "desfeito" not in repr(events)
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))

    async def test_a_failing_audit_insert_fails_the_write(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine
    ) -> None:
        admin = await create_clinic(client)
        patient = await create_patient(client, admin)
        async with owner_engine.begin() as conn:
            await conn.execute(
                text(
                    "alter table audit_event add constraint ck_audit_event_forbidden "
                    "check (new_values ->> 'full_name' is distinct from 'Nome Proibido')"
                )
            )
        response = await client.patch(
            f"/api/v1/patients/{patient['id']}",
            json={"full_name": "Nome Proibido"},
            headers={**admin.headers, "If-Match": '"1"'},
        )
        assert response.status_code == 409, response.text
        assert "Traceback" not in response.text
        current = await client.get(f"/api/v1/patients/{patient['id']}", headers=admin.headers)
        assert current.json()["full_name"] == patient["full_name"]
        assert current.json()["version"] == 1


class TestBypassingTheApp:
    async def test_direct_sql_update_as_the_app_role_is_audited(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine, app_engine: AsyncEngine
    ) -> None:
        admin = await create_clinic(client)
        patient = await create_patient(client, admin)
        async with app_engine.begin() as conn:
            await conn.execute(
                text(
                    "select set_config('app.tenant_id', :t, true),"
                    " set_config('app.actor', 'psql:plantão', true)"
                ),
                {"t": str(admin.clinic_id)},
            )
            await conn.execute(
                text("update patient set notes = 'mudado por fora' where id = :id"),
                {"id": patient["id"]},
            )
        events = await audit_events(owner_engine, admin.clinic_id, where="actor = 'psql:plantão'")
        assert len(events) == 1
        event = events[0]
        assert (event["operation"], event["table_name"]) == ("UPDATE", "patient")
        assert event["actor_user_id"] is None
        assert event["changed_fields"] == ["notes"]
        assert event["old_values"]["notes"] is None
        assert event["new_values"]["notes"] == "mudado por fora"

    async def test_the_app_role_cannot_forge_a_write_event(
        self, client: httpx.AsyncClient, app_engine: AsyncEngine
    ) -> None:
        admin = await create_clinic(client)
        async with app_engine.connect() as conn:
            await conn.execute(
                text("select set_config('app.tenant_id', :t, true)"), {"t": str(admin.clinic_id)}
            )
            with pytest.raises(DBAPIError, match="row-level security"):
                await conn.execute(
                    text(
                        "insert into audit_event (tenant_id, operation, table_name)"
                        " values (app_current_tenant(), 'DELETE', 'patient')"
                    )
                )
            await conn.rollback()


class TestCommandsAndJobs:
    def test_a_command_records_its_name(
        self, settings: Settings, database: DatabaseLocation
    ) -> None:
        import asyncio

        from fisioflow.core.database import create_engine

        clinic_id = create_from_cli(
            settings,
            database,
            clinic={"name": "Clínica CLI", "slug": "clinica-audit-cli"},
            admin={"full_name": "Ana", "email": "ana@cli.com.br", "password": "a good long phrase"},
        )

        async def read() -> list[dict[str, Any]]:
            engine = create_engine(database.owner_url, settings)
            try:
                return await audit_events(engine, uuid.UUID(clinic_id))
            finally:
                await engine.dispose()

        events = asyncio.run(read())
        assert {(e["table_name"], e["actor"]) for e in events} == {
            ("clinic", "command:clinic create"),
            ("user_account", "command:clinic create"),
        }
        assert all(e["actor_user_id"] is None for e in events)


PROBE = """
from alembic import op

revision = "9999_audit_probe"
down_revision = "{head}"


def upgrade() -> None:
    op.execute("select set_config('app.tenant_id', '{clinic}', true)")
    op.execute("update clinic set name = 'Renomeada por migração' where id = '{clinic}'")
"""


class TestMigrations:
    async def test_a_migration_records_its_command(
        self,
        client: httpx.AsyncClient,
        database: DatabaseLocation,
        owner_engine: AsyncEngine,
        tmp_path: Path,
    ) -> None:
        admin = await create_clinic(client)
        (head,) = head_revisions()
        (tmp_path / "probe.py").write_text(PROBE.format(head=head, clinic=admin.clinic_id))
        config = alembic_config(database.owner_url, app_role=APP_ROLE)
        config.set_main_option("path_separator", "os")
        config.set_main_option(
            "version_locations", os.pathsep.join([str(MIGRATIONS_DIR / "versions"), str(tmp_path)])
        )
        await asyncio.to_thread(command.upgrade, config, "9999_audit_probe")
        events = await audit_events(owner_engine, admin.clinic_id, where="operation = 'UPDATE'")
        assert [(e["table_name"], e["actor"], e["actor_user_id"]) for e in events] == [
            ("clinic", "command:migrate", None)
        ]
        assert events[0]["new_values"]["name"] == "Renomeada por migração"
