"""SOS: stored with its recipients, announced on the events channel after commit only."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from fisioflow.auth.principal import Principal, Role, tenancy_for, trusted_tenant
from fisioflow.core.bootstrap import libpq_dsn
from fisioflow.core.database import DatabaseLocation, transaction
from fisioflow.core.events import CHANNEL
from fisioflow.engagement import sos
from fisioflow.engagement.schemas import SosIn
from tests.fixtures.engagement import SOS, SOS_EVENTS, Care, create_care, post
from tests.fixtures.identity import create_clinic, create_user
from tests.fixtures.records import practitioner_user

HELP = {"message": "Estou em crise, não consigo respirar.", "location": "Em casa"}


@pytest.fixture
async def listener(database: DatabaseLocation) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    """A connection LISTENing on the events channel, as the SSE stream will."""
    conn = await psycopg.AsyncConnection.connect(libpq_dsn(database.app_url), autocommit=True)
    await conn.execute(f"listen {CHANNEL}")
    yield conn
    await conn.close()


async def next_event(conn: psycopg.AsyncConnection[Any]) -> dict[str, Any]:
    async for notify in conn.notifies(timeout=10, stop_after=1):
        assert notify.channel == CHANNEL
        payload: dict[str, Any] = json.loads(notify.payload)
        return payload
    raise AssertionError("no notification")


async def events(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> Any:
    response = await client.get(SOS_EVENTS, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


class TestRaise:
    async def test_event_with_recipients_and_help_lines(self, client: httpx.AsyncClient) -> None:
        care = await create_care(client)
        second_admin = await create_user(client, care.admin, role="admin")
        await create_user(client, care.admin, role="receptionist")
        await practitioner_user(client, care.admin)  # another practitioner: not alerted
        raised = await post(client, SOS, HELP, care.portal)
        assert raised["message"] == HELP["message"]
        assert raised["location"] == HELP["location"]
        assert raised["patient_id"] == care.patient_id
        assert raised["notified"] == 3
        assert {line["phone"] for line in raised["help_lines"]} == {"188", "192"}

        listed = await events(client, care.admin.headers)
        assert [e["id"] for e in listed] == [raised["id"]]
        expected = {care.admin.user_id, second_admin.user_id, care.practitioner.user_id}
        assert {uuid.UUID(u) for u in listed[0]["recipient_user_ids"]} == expected

        own = await client.get(SOS, headers=care.portal)
        assert [e["id"] for e in own.json()["items"]] == [raised["id"]]

    async def test_empty_body_is_enough(self, client: httpx.AsyncClient) -> None:
        care = await create_care(client)
        raised = await post(client, SOS, {}, care.portal)
        assert (raised["message"], raised["location"]) == (None, None)

    async def test_inactive_practitioner_and_deactivated_admin_are_not_alerted(
        self, client: httpx.AsyncClient
    ) -> None:
        care = await create_care(client)
        extra_admin = await create_user(client, care.admin, role="admin")
        off = await client.post(
            f"/api/v1/users/{extra_admin.user_id}/deactivate", headers=care.admin.headers
        )
        assert off.status_code == 200, off.text
        inactive = await client.patch(
            f"/api/v1/practitioners/{care.team.practitioner_id}",
            json={"status": "inactive"},
            headers=care.admin.headers,
        )
        assert inactive.status_code == 200, inactive.text
        raised = await post(client, SOS, {}, care.portal)
        assert raised["notified"] == 1
        listed = await events(client, care.admin.headers)
        assert listed[0]["recipient_user_ids"] == [str(care.admin.user_id)]

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"message": "m" * 1001}, "message"),
            ({"location": "l" * 301}, "location"),
            ({"patient_id": str(uuid.uuid4())}, "patient_id"),
        ],
    )
    async def test_bad_input(
        self, client: httpx.AsyncClient, body: dict[str, Any], field: str
    ) -> None:
        care = await create_care(client)
        response = await client.post(SOS, json=body, headers=care.portal)
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == field
        assert await events(client, care.admin.headers) == []

    async def test_only_patients_raise(self, client: httpx.AsyncClient) -> None:
        care = await create_care(client)
        assert (await client.post(SOS, json={})).status_code == 401
        for actor in (care.admin, care.practitioner):
            assert (await client.post(SOS, json={}, headers=actor.headers)).status_code == 403
        assert await events(client, care.admin.headers) == []


class TestNotify:
    async def test_listener_hears_the_committed_event(
        self, client: httpx.AsyncClient, listener: psycopg.AsyncConnection[Any]
    ) -> None:
        care = await create_care(client)
        raised = await post(client, SOS, HELP, care.portal)
        payload = await next_event(listener)
        assert payload == {"tenant": str(care.admin.clinic_id), "kind": "sos", "id": raised["id"]}
        assert HELP["message"] not in json.dumps(payload)

    async def test_rolled_back_event_is_never_heard(
        self,
        client: httpx.AsyncClient,
        app_sessionmaker: async_sessionmaker[AsyncSession],
        listener: psycopg.AsyncConnection[Any],
        database: DatabaseLocation,
    ) -> None:
        care = await create_care(client)
        patient = Principal(
            trusted_tenant(care.admin.clinic_id),
            uuid.uuid4(),
            Role.PATIENT,
            uuid.UUID(care.patient_id),
        )

        async def raise_then_fail() -> None:
            async with transaction(app_sessionmaker, tenancy_for(patient)) as session:
                await sos.raise_sos(session, patient, SosIn(message="desfeito"))
                raise RuntimeError("something failed after the SOS")

        with pytest.raises(RuntimeError, match="after the SOS"):
            await raise_then_fail()
        async with await psycopg.AsyncConnection.connect(
            libpq_dsn(database.app_url), autocommit=True
        ) as other:
            await other.execute("select pg_notify(%s, 'sentinel')", [CHANNEL])
        async for notify in listener.notifies(timeout=10, stop_after=1):
            assert notify.payload == "sentinel"
        assert await events(client, care.admin.headers) == []

    async def test_messages_are_announced_too(
        self, client: httpx.AsyncClient, listener: psycopg.AsyncConnection[Any]
    ) -> None:
        care = await create_care(client)
        sent = await post(client, "/api/v1/me/messages", {"body": "oi"}, care.portal)
        assert await next_event(listener) == {
            "tenant": str(care.admin.clinic_id),
            "kind": "message",
            "id": sent["id"],
        }


async def raised_by(client: httpx.AsyncClient, care: Care) -> str:
    return str((await post(client, SOS, HELP, care.portal))["id"])


class TestStaffSide:
    async def test_practitioner_sees_events_addressed_to_them(
        self, client: httpx.AsyncClient
    ) -> None:
        care = await create_care(client)
        event_id = await raised_by(client, care)
        other_care = await create_care(client, care.admin)  # another practitioner's patient
        other_id = await raised_by(client, other_care)
        mine = await events(client, care.practitioner.headers)
        assert [e["id"] for e in mine] == [event_id]
        everything = await events(client, care.admin.headers)
        assert [e["id"] for e in everything] == [other_id, event_id]
        cannot = await client.post(
            f"{SOS_EVENTS}/{other_id}/acknowledge", headers=care.practitioner.headers
        )
        assert cannot.status_code == 404

    async def test_acknowledge_once(self, client: httpx.AsyncClient) -> None:
        care = await create_care(client)
        event_id = await raised_by(client, care)
        url = f"{SOS_EVENTS}/{event_id}/acknowledge"
        first = await client.post(url, headers=care.practitioner.headers)
        assert first.status_code == 200, first.text
        assert first.json()["acknowledged_by"] == str(care.practitioner.user_id)
        second = await client.post(url, headers=care.admin.headers)
        assert second.json()["acknowledged_at"] == first.json()["acknowledged_at"]
        assert second.json()["acknowledged_by"] == str(care.practitioner.user_id)
        assert await events(client, care.admin.headers, open="true") == []
        own = await client.get(SOS, headers=care.portal)
        assert own.json()["items"][0]["acknowledged_at"] == first.json()["acknowledged_at"]

    @pytest.mark.parametrize("who", ["anonymous", "receptionist", "patient", "other_clinic"])
    async def test_who_may_not(self, client: httpx.AsyncClient, who: str) -> None:
        care = await create_care(client)
        event_id = await raised_by(client, care)
        headers: dict[str, str] = {}
        if who == "receptionist":
            headers = (await create_user(client, care.admin, role="receptionist")).headers
        elif who == "patient":
            headers = care.portal
        elif who == "other_clinic":
            headers = (await create_clinic(client)).headers
        listed = await client.get(SOS_EVENTS, headers=headers)
        if who == "other_clinic":
            assert listed.json()["items"] == []
        else:
            assert listed.status_code == (401 if who == "anonymous" else 403)
        ack = await client.post(f"{SOS_EVENTS}/{event_id}/acknowledge", headers=headers)
        assert ack.status_code == (401 if who == "anonymous" else 404)
        assert (await events(client, care.admin.headers))[0]["acknowledged_at"] is None
