"""GET /api/v1/audit-events (clinic admins) and GET /api/v1/patients/{id}/access-log
(admins, the patient's practitioner, the patient about themself)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from urllib.parse import quote

import httpx

from tests.fixtures.clinical import create_patient
from tests.fixtures.identity import create_clinic, create_user
from tests.fixtures.records import create_team, patient_portal

EVENTS = "/api/v1/audit-events"


def access_log(patient_id: str) -> str:
    return f"/api/v1/patients/{patient_id}/access-log"


async def _all_pages(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> list[Any]:
    items: list[Any] = []
    cursor = None
    while True:
        sep = "&" if "?" in url else "?"
        page_url = f"{url}{sep}limit=2" + (f"&cursor={cursor}" if cursor else "")
        response = await client.get(page_url, headers=headers)
        assert response.status_code == 200, response.text
        items += response.json()["items"]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return items


class TestAuditEvents:
    async def test_admin_lists_events_newest_first_in_pages(
        self, client: httpx.AsyncClient
    ) -> None:
        admin = await create_clinic(client)
        patient = await create_patient(client, admin, full_name="Clara Auditada")
        await client.get(f"/api/v1/patients/{patient['id']}", headers=admin.headers)
        everything = await client.get(f"{EVENTS}?limit=200", headers=admin.headers)
        assert everything.status_code == 200
        items = everything.json()["items"]
        assert [i["sequence"] for i in items] == sorted(
            (i["sequence"] for i in items), reverse=True
        )
        # Listing events is itself a read of the patient's data: newer READ events of
        # audit_event come on top, the older pages stay as they were.
        paged = await _all_pages(client, EVENTS, admin.headers)
        newer = paged[: len(paged) - len(items)]
        assert paged[len(newer) :] == items
        assert newer
        assert {(i["operation"], i["entity"]["table"]) for i in newer} == {("READ", "audit_event")}
        read, created = items[0], items[1]
        assert read["operation"] == "READ"
        assert read["action"] == "R"
        assert read["entity"] == {
            "table": "patient",
            "record_id": patient["id"],
            "patient_id": patient["id"],
            "ids": [patient["id"]],
        }
        assert created["action"] == "C"
        assert created["new_values"]["full_name"] == "Clara Auditada"
        assert created["agent"]["user_id"] == str(admin.user_id)
        assert created["agent"]["role"] == "admin"
        assert len(created["hash"]) == 64

    async def test_filters(self, client: httpx.AsyncClient) -> None:
        team = await create_team(client)
        admin = team.admin
        await client.get(f"/api/v1/patients/{team.patient_id}", headers=team.practitioner.headers)

        async def listed(query: str) -> list[dict[str, Any]]:
            response = await client.get(f"{EVENTS}?{query}", headers=admin.headers)
            assert response.status_code == 200, response.text
            items: list[dict[str, Any]] = response.json()["items"]
            return items

        by_patient = await listed(f"patient_id={team.patient_id}")
        assert {i["entity"]["patient_id"] for i in by_patient} == {team.patient_id}
        assert {i["operation"] for i in by_patient} == {"INSERT", "READ"}
        by_actor = await listed(f"actor_id={team.practitioner.user_id}")
        assert {i["agent"]["user_id"] for i in by_actor} == {str(team.practitioner.user_id)}
        assert by_actor[0]["operation"] == "READ"
        assert {i["entity"]["table"] for i in await listed("table=practitioner")} == {
            "practitioner"
        }
        assert {i["operation"] for i in await listed("operation=UPDATE")} == {"UPDATE"}
        now = dt.datetime.now(dt.UTC)
        later = quote((now + dt.timedelta(hours=1)).isoformat())
        earlier = quote((now - dt.timedelta(hours=1)).isoformat())
        assert await listed(f"from={later}") == []
        ranged = await listed(f"table=patient&from={earlier}&to={later}")
        assert ranged == await listed("table=patient")
        assert ranged

    async def test_bad_filters_name_the_field(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        for query, field in (
            ("operation=DROP", "operation"),
            ("from=2026-11-01T00:00:00", "from"),
            ("patient_id=nope", "patient_id"),
            ("table=patient;drop", "table"),
        ):
            response = await client.get(f"{EVENTS}?{query}", headers=admin.headers)
            assert response.status_code == 422, query
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["errors"][0]["field"] == field

    async def test_anonymous_is_401(self, client: httpx.AsyncClient) -> None:
        assert (await client.get(EVENTS)).status_code == 401

    async def test_other_roles_are_403(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        for role in ("practitioner", "receptionist"):
            user = await create_user(client, admin, role=role)
            response = await client.get(EVENTS, headers=user.headers)
            assert response.status_code == 403, role

    async def test_other_clinic_sees_none_of_it(self, client: httpx.AsyncClient) -> None:
        victim = await create_clinic(client)
        patient = await create_patient(client, victim, full_name="Segredo da Outra")
        intruder = await create_clinic(client)
        response = await client.get(
            f"{EVENTS}?patient_id={patient['id']}", headers=intruder.headers
        )
        assert response.status_code == 200
        assert response.json()["items"] == []
        everything = await client.get(f"{EVENTS}?limit=200", headers=intruder.headers)
        assert "Segredo da Outra" not in everything.text
        assert str(victim.clinic_id) not in everything.text


class TestAccessLog:
    async def test_admin_and_practitioner_see_who_accessed(self, client: httpx.AsyncClient) -> None:
        team = await create_team(client)
        await client.get(f"/api/v1/patients/{team.patient_id}", headers=team.practitioner.headers)
        for actor in (team.admin, team.practitioner):
            response = await client.get(access_log(team.patient_id), headers=actor.headers)
            assert response.status_code == 200, response.text
            items = response.json()["items"]
            assert items[0]["operation"] == "READ"
            assert items[0]["agent"]["user_id"] == str(team.practitioner.user_id)
            assert "new_values" not in items[0]
            assert {i["entity"]["patient_id"] for i in items} == {team.patient_id}

    async def test_the_patient_reads_their_own_access_log(self, client: httpx.AsyncClient) -> None:
        team = await create_team(client)
        other = await create_team(client, team.admin)
        await client.get(f"/api/v1/patients/{team.patient_id}", headers=team.practitioner.headers)
        portal = await patient_portal(client, team)
        mine = await client.get(access_log(team.patient_id), headers=portal)
        assert mine.status_code == 200, mine.text
        assert {i["entity"]["patient_id"] for i in mine.json()["items"]} == {team.patient_id}
        assert any(i["operation"] == "READ" for i in mine.json()["items"])
        theirs = await client.get(access_log(other.patient_id), headers=portal)
        assert theirs.status_code == 404

    async def test_practitioner_of_another_patient_and_receptionist_get_404(
        self, client: httpx.AsyncClient
    ) -> None:
        team = await create_team(client)
        other = await create_team(client, team.admin)
        response = await client.get(access_log(team.patient_id), headers=other.practitioner.headers)
        assert response.status_code == 404
        receptionist = await create_user(client, team.admin, role="receptionist")
        response = await client.get(access_log(team.patient_id), headers=receptionist.headers)
        assert response.status_code == 404

    async def test_anonymous_is_401(self, client: httpx.AsyncClient) -> None:
        response = await client.get(access_log(str(uuid.uuid4())))
        assert response.status_code == 401

    async def test_other_clinic_gets_404(self, client: httpx.AsyncClient) -> None:
        team = await create_team(client)
        intruder = await create_clinic(client)
        response = await client.get(access_log(team.patient_id), headers=intruder.headers)
        assert response.status_code == 404
        assert team.patient_id not in response.text.replace(access_log(team.patient_id), "")
