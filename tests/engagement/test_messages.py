"""Secure messages (one thread per patient, read receipts) and staff-only internal notes."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from fisioflow.auth.principal import Principal, Role, trusted_tenant
from tests.fixtures.engagement import (
    MY_MESSAGES,
    Care,
    create_care,
    other_patient_portal,
    post,
    sql_as,
    staff_principal,
)
from tests.fixtures.identity import create_clinic, create_user
from tests.fixtures.records import practitioner_user

NOTE_SECRET = "Suspeita de ideação: discutir na supervisão."


async def thread(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> list[Any]:
    response = await client.get(url, headers=headers)
    assert response.status_code == 200, response.text
    items: list[Any] = response.json()["items"]
    return items


async def outsider(client: httpx.AsyncClient, care: Care, who: str) -> dict[str, str]:
    if who == "receptionist":
        return (await create_user(client, care.admin, role="receptionist")).headers
    if who == "other_practitioner":
        return (await practitioner_user(client, care.admin))[0].headers
    if who == "other_clinic":
        return (await create_clinic(client)).headers
    if who == "other_patient":
        return await other_patient_portal(client, care)
    return {}


class TestThread:
    async def test_patient_and_practitioner_talk(self, client: httpx.AsyncClient) -> None:
        care = await create_care(client)
        asked = await post(client, MY_MESSAGES, {"body": " Posso remarcar? "}, care.portal)
        assert (asked["sender_role"], asked["body"], asked["read_at"]) == (
            "patient",
            "Posso remarcar?",
            None,
        )
        assert asked["sender_name"] == "Marta Paciente"
        answered = await post(
            client,
            care.staff("messages"),
            {"body": "Sim, quinta às 10h."},
            care.practitioner.headers,
        )
        assert answered["sender_role"] == "staff"
        assert answered["sender_user_id"] == str(care.practitioner.user_id)
        assert answered["sender_name"] == "Pessoa practitioner"
        admin_note = await post(
            client, care.staff("messages"), {"body": "Confirmado."}, care.admin.headers
        )
        expected = [admin_note["id"], answered["id"], asked["id"]]
        for url, headers in (
            (MY_MESSAGES, care.portal),
            (care.staff("messages"), care.practitioner.headers),
            (care.staff("messages"), care.admin.headers),
        ):
            assert [m["id"] for m in await thread(client, url, headers)] == expected

    async def test_cursor_pagination(self, client: httpx.AsyncClient) -> None:
        care = await create_care(client)
        ids = [
            (await post(client, MY_MESSAGES, {"body": f"mensagem {n}"}, care.portal))["id"]
            for n in range(5)
        ]
        seen: list[str] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = await client.get(
                care.staff("messages"), params=params, headers=care.practitioner.headers
            )
            seen += [m["id"] for m in page.json()["items"]]
            cursor = page.json()["next_cursor"]
            if cursor is None:
                break
        assert seen == ids[::-1]
        bad = await client.get(MY_MESSAGES, params={"cursor": "!!"}, headers=care.portal)
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["field"] == "cursor"

    async def test_each_patient_has_their_own_thread(self, client: httpx.AsyncClient) -> None:
        care = await create_care(client)
        await post(client, MY_MESSAGES, {"body": "só minha"}, care.portal)
        other = await other_patient_portal(client, care)
        assert await thread(client, MY_MESSAGES, other) == []


class TestReadReceipts:
    async def test_each_side_marks_the_others_messages(self, client: httpx.AsyncClient) -> None:
        care = await create_care(client)
        first = await post(client, MY_MESSAGES, {"body": "um"}, care.portal)
        second = await post(client, MY_MESSAGES, {"body": "dois"}, care.portal)
        reply = await post(
            client, care.staff("messages"), {"body": "resposta"}, care.practitioner.headers
        )
        third = await post(client, MY_MESSAGES, {"body": "três"}, care.portal)

        url = care.staff(f"messages/{second['id']}/read")
        receipt = await client.post(url, headers=care.practitioner.headers)
        assert receipt.status_code == 200, receipt.text
        assert receipt.json()["marked_read"] == 2
        by_id = {m["id"]: m for m in await thread(client, MY_MESSAGES, care.portal)}
        assert by_id[first["id"]]["read_at"] == receipt.json()["read_at"]
        assert by_id[second["id"]]["read_at"] == receipt.json()["read_at"]
        assert by_id[third["id"]]["read_at"] is None
        assert by_id[reply["id"]]["read_at"] is None  # the clinic's own message

        again = await client.post(url, headers=care.admin.headers)
        assert again.json()["marked_read"] == 0

        mine = await client.post(f"{MY_MESSAGES}/{third['id']}/read", headers=care.portal)
        assert mine.json()["marked_read"] == 1
        by_id = {m["id"]: m for m in await thread(client, MY_MESSAGES, care.portal)}
        assert by_id[reply["id"]]["read_at"] == mine.json()["read_at"]
        assert by_id[third["id"]]["read_at"] is None

    async def test_receipt_for_someone_elses_message_is_404(
        self, client: httpx.AsyncClient
    ) -> None:
        care = await create_care(client)
        other = await other_patient_portal(client, care)
        theirs = await post(client, MY_MESSAGES, {"body": "deles"}, other)
        mine = await client.post(f"{MY_MESSAGES}/{theirs['id']}/read", headers=care.portal)
        assert mine.status_code == 404
        wrong_thread = await client.post(
            care.staff(f"messages/{theirs['id']}/read"), headers=care.practitioner.headers
        )
        assert wrong_thread.status_code == 404
        staff_on_portal = await client.post(
            f"{MY_MESSAGES}/{theirs['id']}/read", headers=care.practitioner.headers
        )
        assert staff_on_portal.status_code == 404

    async def test_a_side_cannot_forge_its_own_receipt_in_sql(
        self, client: httpx.AsyncClient, app_engine: AsyncEngine
    ) -> None:
        care = await create_care(client)
        sent = await post(client, MY_MESSAGES, {"body": "oi"}, care.portal)
        patient = Principal(
            trusted_tenant(care.admin.clinic_id),
            uuid.uuid4(),
            Role.PATIENT,
            uuid.UUID(care.patient_id),
        )
        changed = await sql_as(
            app_engine,
            patient,
            "update patient_message set read_at = now(), read_by = :u where id = :id",
            u=care.practitioner.user_id,
            id=sent["id"],
        )
        assert changed == [0]
        with pytest.raises(DBAPIError, match="permission denied"):
            await sql_as(
                app_engine,
                staff_principal(care.admin),
                "update patient_message set body = 'reescrito' where id = :id",
                id=sent["id"],
            )


class TestMessageAccess:
    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"body": ""}, "body"),
            ({"body": "   \n "}, "body"),
            ({"body": "x" * 5001}, "body"),
            ({}, "body"),
            ({"body": "oi", "sender_role": "staff"}, "sender_role"),
        ],
    )
    async def test_bad_input_writes_nothing(
        self, client: httpx.AsyncClient, body: dict[str, Any], field: str
    ) -> None:
        care = await create_care(client)
        for url, headers in (
            (MY_MESSAGES, care.portal),
            (care.staff("messages"), care.practitioner.headers),
        ):
            response = await client.post(url, json=body, headers=headers)
            assert response.status_code == 422, response.text
            assert field in {e["field"] for e in response.json()["errors"]}
        assert await thread(client, MY_MESSAGES, care.portal) == []

    @pytest.mark.parametrize(
        "who", ["anonymous", "receptionist", "other_practitioner", "other_clinic", "patient"]
    )
    async def test_staff_thread_refused(self, client: httpx.AsyncClient, who: str) -> None:
        care = await create_care(client)
        sent = await post(client, MY_MESSAGES, {"body": "mensagem sigilosa"}, care.portal)
        headers = care.portal if who == "patient" else await outsider(client, care, who)
        expected = 401 if who == "anonymous" else 404
        calls = [
            ("GET", care.staff("messages"), None),
            ("POST", care.staff("messages"), {"body": "intruso"}),
            ("POST", care.staff(f"messages/{sent['id']}/read"), None),
        ]
        for method, url, body in calls:
            response = await client.request(method, url, json=body, headers=headers)
            assert response.status_code == expected, (method, url, response.text)
            assert "mensagem sigilosa" not in response.text
        assert [m["read_at"] for m in await thread(client, MY_MESSAGES, care.portal)] == [None]

    async def test_portal_refuses_staff_and_anonymous(self, client: httpx.AsyncClient) -> None:
        care = await create_care(client)
        assert (await client.get(MY_MESSAGES)).status_code == 401
        assert (await client.post(MY_MESSAGES, json={"body": "oi"})).status_code == 401
        for actor in (care.admin, care.practitioner):
            assert (await client.get(MY_MESSAGES, headers=actor.headers)).status_code == 403
            sent = await client.post(MY_MESSAGES, json={"body": "oi"}, headers=actor.headers)
            assert sent.status_code == 403


class TestInternalNotes:
    async def test_staff_write_and_read(self, client: httpx.AsyncClient) -> None:
        care = await create_care(client)
        note = await post(
            client, care.staff("internal-notes"), {"body": NOTE_SECRET}, care.practitioner.headers
        )
        assert note["author_user_id"] == str(care.practitioner.user_id)
        by_admin = await post(
            client, care.staff("internal-notes"), {"body": "Ok, pauta."}, care.admin.headers
        )
        listed = await thread(client, care.staff("internal-notes"), care.admin.headers)
        assert [n["id"] for n in listed] == [by_admin["id"], note["id"]]

    @pytest.mark.parametrize(
        "who", ["anonymous", "patient", "receptionist", "other_practitioner", "other_clinic"]
    )
    async def test_nobody_else(self, client: httpx.AsyncClient, who: str) -> None:
        care = await create_care(client)
        await post(
            client, care.staff("internal-notes"), {"body": NOTE_SECRET}, care.practitioner.headers
        )
        headers = care.portal if who == "patient" else await outsider(client, care, who)
        expected = 401 if who == "anonymous" else 404
        for method, body in (("GET", None), ("POST", {"body": "intruso"})):
            response = await client.request(
                method, care.staff("internal-notes"), json=body, headers=headers
            )
            assert response.status_code == expected
            assert NOTE_SECRET not in response.text
        listed = await thread(client, care.staff("internal-notes"), care.admin.headers)
        assert len(listed) == 1

    @pytest.mark.parametrize(("body", "field"), [({"body": " "}, "body"), ({}, "body")])
    async def test_bad_input(
        self, client: httpx.AsyncClient, body: dict[str, Any], field: str
    ) -> None:
        care = await create_care(client)
        response = await client.post(
            care.staff("internal-notes"), json=body, headers=care.practitioner.headers
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == field

    async def test_the_patient_role_has_no_way_in_even_in_sql(
        self, client: httpx.AsyncClient, app_engine: AsyncEngine
    ) -> None:
        care = await create_care(client)
        await post(
            client, care.staff("internal-notes"), {"body": NOTE_SECRET}, care.practitioner.headers
        )
        patient = Principal(
            trusted_tenant(care.admin.clinic_id),
            uuid.uuid4(),
            Role.PATIENT,
            uuid.UUID(care.patient_id),
        )
        assert await sql_as(app_engine, patient, "select body from internal_note") == []
        with pytest.raises(DBAPIError, match="row-level security"):
            await sql_as(
                app_engine,
                patient,
                "insert into internal_note (tenant_id, id, patient_id, author_user_id,"
                " author_name, body) values (:t, gen_random_uuid(), :p, :u, 'x', 'forjada')",
                t=care.admin.clinic_id,
                p=care.patient_id,
                u=care.admin.user_id,
            )
        receptionist = staff_principal(care.admin, Role.RECEPTIONIST)
        assert await sql_as(app_engine, receptionist, "select body from internal_note") == []


INBOX = "/api/v1/messages/unread"


class TestInbox:
    async def test_unread_threads_per_viewer(self, client: httpx.AsyncClient) -> None:
        care = await create_care(client)
        other_care = await create_care(client, care.admin)  # another practitioner's patient
        first = await post(client, MY_MESSAGES, {"body": "um"}, care.portal)
        await post(client, MY_MESSAGES, {"body": "dois"}, care.portal)
        await post(client, MY_MESSAGES, {"body": "outro"}, other_care.portal)
        await post(client, care.staff("messages"), {"body": "oi"}, care.practitioner.headers)

        mine = await client.get(INBOX, headers=care.practitioner.headers)
        assert mine.status_code == 200, mine.text
        assert [(t["patient_id"], t["patient_name"], t["unread"]) for t in mine.json()] == [
            (care.patient_id, "Marta Paciente", 2)
        ]
        everything = (await client.get(INBOX, headers=care.admin.headers)).json()
        assert [t["patient_id"] for t in everything] == [other_care.patient_id, care.patient_id]

        await client.post(
            care.staff(f"messages/{first['id']}/read"), headers=care.practitioner.headers
        )
        after = (await client.get(INBOX, headers=care.practitioner.headers)).json()
        assert [t["unread"] for t in after] == [1]

    @pytest.mark.parametrize("who", ["anonymous", "receptionist", "patient", "other_clinic"])
    async def test_who_may_not(self, client: httpx.AsyncClient, who: str) -> None:
        care = await create_care(client)
        await post(client, MY_MESSAGES, {"body": "mensagem sigilosa"}, care.portal)
        headers = care.portal if who == "patient" else await outsider(client, care, who)
        response = await client.get(INBOX, headers=headers)
        if who == "other_clinic":
            assert response.json() == []
        else:
            assert response.status_code == (401 if who == "anonymous" else 403)
        assert "Marta" not in response.text
