"""GET /api/v1/patients/{id}/export: who may take a patient's data, and what it holds."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fixtures.audit import audit_events
from tests.fixtures.clinical import create_patient
from tests.fixtures.identity import create_clinic, create_user
from tests.fixtures.records import (
    Team,
    create_team,
    let_patients_read,
    patient_portal,
    practitioner_user,
    signed_entry,
    write_entry,
)


def url(team: Team, patient_id: str | None = None) -> str:
    return f"/api/v1/patients/{patient_id or team.patient_id}/export"


async def exported(
    client: httpx.AsyncClient, team: Team, headers: dict[str, str]
) -> dict[str, Any]:
    response = await client.get(url(team), headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


class TestContent:
    async def test_admin_gets_the_whole_chart(self, client: httpx.AsyncClient) -> None:
        team = await create_team(client)
        signed = await signed_entry(client, team)
        draft = await write_entry(client, team)
        await patient_portal(client, team)
        body = await exported(client, team, team.admin.headers)
        assert body["format"] == "fisioflow-patient-export"
        assert body["clinic"]["id"] == str(team.admin.clinic_id)
        assert body["patient"]["id"] == team.patient_id
        assert body["patient"]["full_name"] == "Marta Paciente"
        entries = {e["id"] for e in body["data"]["record_entry"]}
        assert entries == {signed["id"], draft["id"]}
        [account] = body["data"]["user_account"]
        assert account["email"] == team.patient_email
        assert "password_hash" not in account
        assert {"appointment", "record_entry", "user_account"} <= set(body["data"])
        assert "patient_search" not in body["data"]  # derived, and not the app's to read

    async def test_only_this_patients_rows(self, client: httpx.AsyncClient) -> None:
        team = await create_team(client)
        other = await create_patient(
            client, team.admin, full_name="Outro Paciente", practitioner_id=team.practitioner_id
        )
        await signed_entry(client, team)
        response = await client.get(url(team, str(other["id"])), headers=team.admin.headers)
        assert response.json()["data"]["record_entry"] == []


class TestWho:
    async def test_patient_about_themself(self, client: httpx.AsyncClient) -> None:
        team = await create_team(client)
        signed = await signed_entry(client, team)
        await write_entry(client, team)
        portal = await patient_portal(client, team)
        hidden = await exported(client, team, portal)
        assert hidden["patient"]["id"] == team.patient_id
        assert hidden["data"]["record_entry"] == []  # the clinic does not share records
        await let_patients_read(client, team.admin, on=True)
        shared = await exported(client, team, portal)
        assert [e["id"] for e in shared["data"]["record_entry"]] == [signed["id"]]

    async def test_patient_about_another_patient(self, client: httpx.AsyncClient) -> None:
        team = await create_team(client)
        other = await create_patient(client, team.admin, full_name="Outra Pessoa")
        portal = await patient_portal(client, team)
        response = await client.get(url(team, str(other["id"])), headers=portal)
        assert response.status_code == 404

    async def test_own_practitioner_yes_other_practitioner_no(
        self, client: httpx.AsyncClient
    ) -> None:
        team = await create_team(client)
        await exported(client, team, team.practitioner.headers)
        stranger, _ = await practitioner_user(client, team.admin)
        response = await client.get(url(team), headers=stranger.headers)
        assert response.status_code == 404

    async def test_receptionist_gets_no_clinical_content(self, client: httpx.AsyncClient) -> None:
        team = await create_team(client)
        receptionist = await create_user(client, team.admin, role="receptionist")
        response = await client.get(url(team), headers=receptionist.headers)
        assert response.status_code == 404
        assert "Marta" not in response.text

    async def test_other_clinic(self, client: httpx.AsyncClient) -> None:
        team = await create_team(client)
        intruder = await create_clinic(client)
        response = await client.get(url(team), headers=intruder.headers)
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/problem+json")

    async def test_anonymous(self, client: httpx.AsyncClient) -> None:
        team = await create_team(client)
        response = await client.get(url(team))
        assert response.status_code == 401


class TestAccessEvent:
    async def test_an_export_is_one_read_event_naming_who_took_the_chart(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine
    ) -> None:
        team = await create_team(client)
        await exported(client, team, team.practitioner.headers)
        events = await audit_events(
            owner_engine,
            team.admin.clinic_id,
            where="operation = 'READ' and table_name = 'patient_export'",
        )
        assert len(events) == 1
        assert str(events[0]["patient_id"]) == team.patient_id
        assert str(events[0]["record_id"]) == team.patient_id
        assert events[0]["actor_user_id"] == team.practitioner.user_id

    async def test_a_refused_export_records_nothing(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine
    ) -> None:
        team = await create_team(client)
        receptionist = await create_user(client, team.admin, role="receptionist")
        assert (await client.get(url(team), headers=receptionist.headers)).status_code == 404
        events = await audit_events(
            owner_engine, team.admin.clinic_id, where="table_name = 'patient_export'"
        )
        assert events == []
