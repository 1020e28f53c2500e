"""Read audit: a request that shows a patient's registration or clinical entries writes
one access event per (what, patient), in the request's own transaction."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fixtures.audit import audit_events
from tests.fixtures.records import (
    create_team,
    let_patients_read,
    patient_portal,
    signed_entry,
    write_entry,
)

READS = "operation = 'READ'"


class TestAccessEvents:
    async def test_reading_a_patient_is_one_event(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine
    ) -> None:
        team = await create_team(client)
        response = await client.get(
            f"/api/v1/patients/{team.patient_id}",
            headers={**team.practitioner.headers, "X-Request-ID": "leitura-1"},
        )
        assert response.status_code == 200
        events = await audit_events(owner_engine, team.admin.clinic_id, where=READS)
        assert len(events) == 1
        event = events[0]
        assert event["table_name"] == "patient"
        assert str(event["patient_id"]) == team.patient_id
        assert str(event["record_id"]) == team.patient_id
        assert event["actor_user_id"] == team.practitioner.user_id
        assert event["actor_role"] == "practitioner"
        assert event["request_id"] == "leitura-1"
        assert event["ip"] == "127.0.0.1"
        assert event["old_values"] is None
        assert event["new_values"] is None

    async def test_a_timeline_page_is_one_event_naming_every_entry(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine
    ) -> None:
        team = await create_team(client)
        entries = [await write_entry(client, team) for _ in range(3)]
        response = await client.get(team.records(), headers=team.practitioner.headers)
        assert response.status_code == 200
        events = await audit_events(owner_engine, team.admin.clinic_id, where=READS)
        assert len(events) == 1
        assert events[0]["table_name"] == "record_entry"
        assert events[0]["record_id"] is None
        assert set(events[0]["detail"]["ids"]) == {e["id"] for e in entries}

    async def test_an_entry_with_its_addenda(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine
    ) -> None:
        team = await create_team(client)
        entry = await signed_entry(client, team)
        addendum = await client.post(
            f"{team.records()}/{entry['id']}/addenda",
            json={"content": {"text": "correção"}},
            headers=team.practitioner.headers,
        )
        assert addendum.status_code == 201
        shown = await client.get(f"{team.records()}/{entry['id']}", headers=team.admin.headers)
        assert shown.status_code == 200
        events = await audit_events(owner_engine, team.admin.clinic_id, where=READS)
        assert len(events) == 1
        assert events[0]["detail"]["ids"] == [entry["id"], addendum.json()["id"]]
        assert events[0]["actor_user_id"] == team.admin.user_id

    async def test_the_patient_reading_their_own_record(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine
    ) -> None:
        team = await create_team(client)
        await signed_entry(client, team)
        await let_patients_read(client, team.admin, on=True)
        portal = await patient_portal(client, team)
        response = await client.get(team.records(), headers=portal)
        assert response.status_code == 200
        events = await audit_events(owner_engine, team.admin.clinic_id, where=READS)
        assert [(e["table_name"], e["actor_role"]) for e in events] == [("record_entry", "patient")]

    async def test_nothing_shown_nothing_logged(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine
    ) -> None:
        team = await create_team(client)
        other = await create_team(client, team.admin)
        refused = await client.get(
            f"/api/v1/patients/{other.patient_id}", headers=team.practitioner.headers
        )
        assert refused.status_code == 404
        timeline = await client.get(team.records(), headers=team.admin.headers)
        assert timeline.status_code == 200
        listing = await client.get("/api/v1/patients", headers=team.admin.headers)
        assert listing.status_code == 200
        events = await audit_events(owner_engine, team.admin.clinic_id, where=READS)
        assert [(e["table_name"], str(e["patient_id"])) for e in events] == [
            ("record_entry", team.patient_id)
        ]
