"""Engagement data in the audit trail: reads of diary, mood, messages, internal notes and
SOS are access events; an event is as secret as the row it copies (a patient never sees
an internal note's events, staff never an event of a private diary entry)."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from fisioflow.auth.principal import Principal, Role, trusted_tenant
from tests.fixtures.audit import audit_events
from tests.fixtures.engagement import (
    DIARY,
    MOOD,
    MY_MESSAGES,
    SOS,
    SOS_EVENTS,
    Care,
    create_care,
    other_patient_portal,
    post,
    sql_as,
    staff_principal,
)

READS = "operation = 'READ'"
SECRET = "Só eu posso ler isto."
NOTE = "Nota interna: avaliar risco com a supervisão."


def _reads(events: list[dict[str, object]]) -> list[tuple[object, str, list[str]]]:
    return [
        (e["table_name"], str(e["patient_id"]), e["detail"]["ids"])  # type: ignore[index]
        for e in events
    ]


class TestEngagementReads:
    async def test_staff_reads_are_access_events(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine
    ) -> None:
        care = await create_care(client)
        entry = await post(client, DIARY, {"text": "Hoje foi melhor."}, care.portal)
        message = await post(client, MY_MESSAGES, {"body": "Posso remarcar?"}, care.portal)
        note = await post(client, care.staff("internal-notes"), {"body": NOTE}, care.admin.headers)
        await post(client, MOOD, {"mood": 4}, care.portal)
        for what in ("diary", "messages", "internal-notes", "mood-trend"):
            response = await client.get(care.staff(what), headers=care.practitioner.headers)
            assert response.status_code == 200, (what, response.text)
        events = await audit_events(owner_engine, care.admin.clinic_id, where=READS)
        assert _reads(events) == [
            ("diary_entry", care.patient_id, [entry["id"]]),
            ("patient_message", care.patient_id, [message["id"]]),
            ("internal_note", care.patient_id, [note["id"]]),
            ("mood_trend", care.patient_id, []),
        ]
        assert {e["actor_user_id"] for e in events} == {care.practitioner.user_id}

    async def test_the_portal_patient_reading_their_own_data(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine
    ) -> None:
        care = await create_care(client)
        entry = await post(client, DIARY, {"text": SECRET, "private": True}, care.portal)
        check_in = await post(client, MOOD, {"mood": 2}, care.portal)
        for url in (DIARY, f"{DIARY}/{entry['id']}", MOOD):
            response = await client.get(url, headers=care.portal)
            assert response.status_code == 200, (url, response.text)
        events = await audit_events(owner_engine, care.admin.clinic_id, where=READS)
        assert _reads(events) == [
            ("diary_entry", care.patient_id, [entry["id"]]),
            ("diary_entry", care.patient_id, [entry["id"]]),
            ("mood_entry", care.patient_id, [check_in["id"]]),
        ]
        assert {e["actor_role"] for e in events} == {"patient"}

    async def test_an_empty_page_writes_nothing_for_the_portal(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine
    ) -> None:
        care = await create_care(client)
        for url in (DIARY, MOOD, MY_MESSAGES, SOS):
            assert (await client.get(url, headers=care.portal)).status_code == 200
        assert await audit_events(owner_engine, care.admin.clinic_id, where=READS) == []

    async def test_a_list_across_patients_is_one_event_per_patient(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine
    ) -> None:
        care = await create_care(client)
        other = await other_patient_portal(client, care)
        first = await post(client, SOS, {"message": "Preciso de ajuda"}, care.portal)
        second = await post(client, SOS, {"message": "Crise agora"}, other)
        response = await client.get(SOS_EVENTS, headers=care.admin.headers)
        assert response.status_code == 200
        events = await audit_events(owner_engine, care.admin.clinic_id, where=READS)
        assert sorted(_reads(events)) == sorted(
            [
                ("sos_event", first["patient_id"], [first["id"]]),
                ("sos_event", second["patient_id"], [second["id"]]),
            ]
        )

    async def test_reading_audit_events_is_a_read_of_their_patients(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine
    ) -> None:
        care = await create_care(client)
        response = await client.get(
            f"/api/v1/audit-events?patient_id={care.patient_id}", headers=care.admin.headers
        )
        assert response.status_code == 200
        shown = [item["id"] for item in response.json()["items"]]
        assert shown
        events = await audit_events(owner_engine, care.admin.clinic_id, where=READS)
        assert _reads(events) == [("audit_event", care.patient_id, shown)]


class TestSecretEvents:
    async def test_the_patient_never_sees_internal_note_events(
        self, client: httpx.AsyncClient, app_engine: AsyncEngine
    ) -> None:
        care = await create_care(client)
        await post(client, care.staff("internal-notes"), {"body": NOTE}, care.admin.headers)
        listed = await client.get(care.staff("internal-notes"), headers=care.admin.headers)
        assert listed.status_code == 200
        log_url = f"/api/v1/patients/{care.patient_id}/access-log?limit=200"
        staff_view = await client.get(log_url, headers=care.admin.headers)
        assert {i["entity"]["table"] for i in staff_view.json()["items"]} >= {"internal_note"}
        own_view = await client.get(log_url, headers=care.portal)
        assert own_view.status_code == 200
        tables = {i["entity"]["table"] for i in own_view.json()["items"]}
        assert "internal_note" not in tables
        assert "patient" in tables
        patient = await _portal_principal(client, care)
        rows = await sql_as(
            app_engine,
            patient,
            "select count(*) from audit_event where table_name = 'internal_note'"
            " or new_values::text like :note",
            note=f"%{NOTE}%",
        )
        assert rows == [(0,)]

    @pytest.mark.parametrize("role", [Role.ADMIN, Role.PRACTITIONER, Role.RECEPTIONIST])
    async def test_staff_never_see_a_private_diary_entry_in_the_trail(
        self, client: httpx.AsyncClient, app_engine: AsyncEngine, role: Role
    ) -> None:
        care = await create_care(client)
        shared = await post(client, DIARY, {"text": "Pode ler."}, care.portal)
        private = await post(client, DIARY, {"text": SECRET, "private": True}, care.portal)
        # Made shared later, with new text: its earlier private text stays hidden too.
        revealed = await client.patch(
            f"{DIARY}/{private['id']}",
            json={"text": "Agora pode ler.", "private": False},
            headers=care.portal,
        )
        assert revealed.status_code == 200, revealed.text
        staff = staff_principal(care.admin, role)
        rows = await sql_as(
            app_engine,
            staff,
            "select record_id::text, operation from audit_event"
            " where table_name = 'diary_entry' order by seq",
        )
        assert rows == ([] if role == Role.RECEPTIONIST else [(shared["id"], "INSERT")])
        admin_view = await client.get(
            "/api/v1/audit-events?table=diary_entry", headers=care.admin.headers
        )
        assert SECRET not in admin_view.text
        assert [i["entity"]["record_id"] for i in admin_view.json()["items"]] == [shared["id"]]
        own_view = await client.get(
            f"/api/v1/patients/{care.patient_id}/access-log?limit=200", headers=care.portal
        )
        own = {(i["entity"]["record_id"], i["operation"]) for i in own_view.json()["items"]}
        assert {(private["id"], "INSERT"), (private["id"], "UPDATE")} <= own

    async def test_receptionists_read_no_event(
        self, client: httpx.AsyncClient, app_engine: AsyncEngine
    ) -> None:
        care = await create_care(client)
        await post(client, care.staff("internal-notes"), {"body": NOTE}, care.admin.headers)
        receptionist = staff_principal(care.admin, Role.RECEPTIONIST)
        rows = await sql_as(app_engine, receptionist, "select count(*) from audit_event")
        assert rows == [(0,)]
        admin = await sql_as(
            app_engine, staff_principal(care.admin), "select count(*) from audit_event"
        )
        assert admin[0][0] > 0


async def _portal_principal(client: httpx.AsyncClient, care: Care) -> Principal:
    me = (await client.get("/api/v1/me", headers=care.portal)).json()
    return Principal(
        trusted_tenant(care.admin.clinic_id),
        uuid.UUID(me["user"]["id"]),
        Role.PATIENT,
        uuid.UUID(care.patient_id),
    )
