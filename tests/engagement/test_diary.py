"""The patient's diary: written in the portal, shared with staff unless private."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from fisioflow.auth.principal import Principal, Role, trusted_tenant
from tests.fixtures.engagement import (
    DIARY,
    Care,
    create_care,
    other_patient_portal,
    post,
    sql_as,
    staff_principal,
)
from tests.fixtures.identity import create_clinic, create_user
from tests.fixtures.records import practitioner_user

ENTRY = {
    "title": "Semana difícil",
    "text": "Dormi mal e tive uma crise de ansiedade no trabalho.",
    "mood": 2,
    "tags": ["  #Ansiedade ", "TRABALHO", "ansiedade", "Sono   ruim"],
}
SECRET = "Isto é só meu: nunca mostrar à terapeuta."


async def write(care: Care, client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    return await post(client, DIARY, {**ENTRY, **overrides}, care.portal)


async def own_ids(client: httpx.AsyncClient, care: Care) -> list[str]:
    listed = await client.get(DIARY, headers=care.portal)
    assert listed.status_code == 200, listed.text
    return [e["id"] for e in listed.json()["items"]]


class TestPortal:
    async def test_write_read_edit_delete(self, client: httpx.AsyncClient) -> None:
        care = await create_care(client)
        entry = await write(care, client)
        assert entry["tags"] == ["ansiedade", "trabalho", "sono ruim"]
        assert entry["private"] is False
        assert entry["patient_id"] == care.patient_id

        got = await client.get(f"{DIARY}/{entry['id']}", headers=care.portal)
        assert got.json() == entry

        patched = await client.patch(
            f"{DIARY}/{entry['id']}",
            json={"title": None, "mood": 4, "private": True},
            headers=care.portal,
        )
        assert patched.status_code == 200, patched.text
        body = patched.json()
        assert (body["title"], body["mood"], body["private"]) == (None, 4, True)
        assert body["text"] == ENTRY["text"]
        assert body["tags"] == entry["tags"]

        deleted = await client.delete(f"{DIARY}/{entry['id']}", headers=care.portal)
        assert deleted.status_code == 204
        assert await own_ids(client, care) == []
        gone = await client.get(f"{DIARY}/{entry['id']}", headers=care.portal)
        assert gone.status_code == 404

    async def test_newest_first_with_cursor_and_tag_filter(self, client: httpx.AsyncClient) -> None:
        care = await create_care(client)
        ids = [(await write(care, client, tags=[f"dia {n}", "rotina"]))["id"] for n in range(3)]
        first = await client.get(DIARY, params={"limit": 2}, headers=care.portal)
        assert [e["id"] for e in first.json()["items"]] == [ids[2], ids[1]]
        cursor = first.json()["next_cursor"]
        rest = await client.get(DIARY, params={"limit": 2, "cursor": cursor}, headers=care.portal)
        assert [e["id"] for e in rest.json()["items"]] == [ids[0]]
        assert rest.json()["next_cursor"] is None
        tagged = await client.get(DIARY, params={"tag": " #DIA  1"}, headers=care.portal)
        assert [e["id"] for e in tagged.json()["items"]] == [ids[1]]

    async def test_private_entries_are_the_patients_own(self, client: httpx.AsyncClient) -> None:
        care = await create_care(client)
        private = await write(care, client, text=SECRET, private=True)
        assert await own_ids(client, care) == [private["id"]]


class TestStaffRead:
    async def test_practitioner_and_admin_see_shared_entries_only(
        self, client: httpx.AsyncClient
    ) -> None:
        care = await create_care(client)
        shared = await write(care, client)
        await write(care, client, text=SECRET, private=True, tags=["segredo"])
        for actor in (care.practitioner, care.admin):
            listed = await client.get(care.staff("diary"), headers=actor.headers)
            assert listed.status_code == 200, listed.text
            assert [e["id"] for e in listed.json()["items"]] == [shared["id"]]
            assert SECRET not in listed.text
            tagged = await client.get(
                care.staff("diary"), params={"tag": "segredo"}, headers=actor.headers
            )
            assert tagged.json()["items"] == []

    async def test_entry_made_private_later_disappears(self, client: httpx.AsyncClient) -> None:
        care = await create_care(client)
        entry = await write(care, client)
        await client.patch(f"{DIARY}/{entry['id']}", json={"private": True}, headers=care.portal)
        listed = await client.get(care.staff("diary"), headers=care.practitioner.headers)
        assert listed.json()["items"] == []

    @pytest.mark.parametrize("who", ["receptionist", "other_practitioner", "other_clinic"])
    async def test_others_get_404(self, client: httpx.AsyncClient, who: str) -> None:
        care = await create_care(client)
        await write(care, client)
        if who == "receptionist":
            actor = await create_user(client, care.admin, role="receptionist")
        elif who == "other_practitioner":
            actor, _ = await practitioner_user(client, care.admin)
        else:
            actor = await create_clinic(client)
        response = await client.get(care.staff("diary"), headers=actor.headers)
        assert response.status_code == 404
        assert ENTRY["text"] not in response.text

    async def test_patient_cannot_use_the_staff_view(self, client: httpx.AsyncClient) -> None:
        care = await create_care(client)
        await write(care, client)
        own = await client.get(care.staff("diary"), headers=care.portal)
        assert own.status_code == 404


class TestPortalAccess:
    async def test_anonymous_is_401(self, client: httpx.AsyncClient) -> None:
        care = await create_care(client)
        entry = await write(care, client)
        calls = [
            ("GET", DIARY, None),
            ("POST", DIARY, ENTRY),
            ("GET", f"{DIARY}/{entry['id']}", None),
            ("PATCH", f"{DIARY}/{entry['id']}", {"mood": 1}),
            ("DELETE", f"{DIARY}/{entry['id']}", None),
            ("GET", care.staff("diary"), None),
        ]
        for method, url, body in calls:
            response = await client.request(method, url, json=body)
            assert response.status_code == 401, (method, url)

    async def test_staff_have_no_diary_of_their_own(self, client: httpx.AsyncClient) -> None:
        care = await create_care(client)
        entry = await write(care, client)
        for actor in (care.admin, care.practitioner):
            assert (await client.get(DIARY, headers=actor.headers)).status_code == 403
            created = await client.post(DIARY, json=ENTRY, headers=actor.headers)
            assert created.status_code == 403
            one = await client.get(f"{DIARY}/{entry['id']}", headers=actor.headers)
            assert one.status_code == 404
            patch = await client.patch(
                f"{DIARY}/{entry['id']}", json={"mood": 1}, headers=actor.headers
            )
            assert patch.status_code == 404
        assert (await own_ids(client, care)) == [entry["id"]]

    async def test_another_patient_gets_404(self, client: httpx.AsyncClient) -> None:
        care = await create_care(client)
        entry = await write(care, client, text=SECRET, private=True)
        other = await other_patient_portal(client, care)
        for method in ("GET", "PATCH", "DELETE"):
            body = {"mood": 1} if method == "PATCH" else None
            response = await client.request(
                method, f"{DIARY}/{entry['id']}", json=body, headers=other
            )
            assert response.status_code == 404
            assert SECRET not in response.text
        assert (await client.get(DIARY, headers=other)).json()["items"] == []
        assert (await own_ids(client, care)) == [entry["id"]]


BAD_BODIES = [
    ({**ENTRY, "text": "x" * 5001}, "text"),
    ({**ENTRY, "text": "   "}, "text"),
    ({**ENTRY, "text": "a\x00b"}, "text"),
    ({k: v for k, v in ENTRY.items() if k != "text"}, "text"),
    ({**ENTRY, "tags": [f"t{n}" for n in range(11)]}, "tags"),
    ({**ENTRY, "tags": ["x" * 41]}, "tags"),
    ({**ENTRY, "tags": ["  # "]}, "tags"),
    ({**ENTRY, "mood": 0}, "mood"),
    ({**ENTRY, "mood": 6}, "mood"),
    ({**ENTRY, "title": "t" * 201}, "title"),
    ({**ENTRY, "private": "maybe"}, "private"),
    ({**ENTRY, "patient_id": str(uuid.uuid4())}, "patient_id"),
]


class TestBadInput:
    @pytest.mark.parametrize(("body", "field"), BAD_BODIES)
    async def test_create_names_the_field_and_writes_nothing(
        self, client: httpx.AsyncClient, body: dict[str, Any], field: str
    ) -> None:
        care = await create_care(client)
        response = await client.post(DIARY, json=body, headers=care.portal)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert field in {e["field"].split(".")[0] for e in response.json()["errors"]}
        assert await own_ids(client, care) == []

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"text": None}, "text"),
            ({"tags": None}, "tags"),
            ({"private": None}, "private"),
            ({"text": "y" * 5001}, "text"),
            ({"mood": 9}, "mood"),
            ({"tags": ["a"] * 11}, "tags"),
        ],
    )
    async def test_patch_names_the_field_and_changes_nothing(
        self, client: httpx.AsyncClient, body: dict[str, Any], field: str
    ) -> None:
        care = await create_care(client)
        entry = await write(care, client)
        response = await client.patch(f"{DIARY}/{entry['id']}", json=body, headers=care.portal)
        assert response.status_code == 422, response.text
        assert field in {e["field"].split(".")[0] for e in response.json()["errors"]}
        after = await client.get(f"{DIARY}/{entry['id']}", headers=care.portal)
        assert after.json() == entry

    async def test_bad_tag_filter(self, client: httpx.AsyncClient) -> None:
        care = await create_care(client)
        response = await client.get(DIARY, params={"tag": "#"}, headers=care.portal)
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "tag"


class TestPrivacyInTheDatabase:
    """Direct SQL as the application role: RLS, not only the service, hides private rows."""

    @pytest.mark.parametrize("role", [Role.ADMIN, Role.PRACTITIONER, Role.RECEPTIONIST])
    async def test_staff_roles_never_see_private_rows(
        self, client: httpx.AsyncClient, app_engine: AsyncEngine, role: Role
    ) -> None:
        care = await create_care(client)
        shared = await write(care, client)
        private = await write(care, client, text=SECRET, private=True)
        staff = staff_principal(care.admin, role)
        rows = await sql_as(app_engine, staff, "select id, text from diary_entry")
        expected = [] if role == Role.RECEPTIONIST else [(uuid.UUID(shared["id"]), ENTRY["text"])]
        assert rows == expected
        by_id = await sql_as(
            app_engine, staff, "select count(*) from diary_entry where id = :id", id=private["id"]
        )
        assert by_id == [(0,)]
        changed = await sql_as(
            app_engine, staff, "update diary_entry set private = false where private"
        )
        assert changed == [0]
        removed = await sql_as(app_engine, staff, "delete from diary_entry")
        assert removed == [0]
        assert len(await own_ids(client, care)) == 2

    async def test_staff_cannot_write_a_diary_entry(
        self, client: httpx.AsyncClient, app_engine: AsyncEngine
    ) -> None:
        care = await create_care(client)
        with pytest.raises(DBAPIError, match="row-level security"):
            await sql_as(
                app_engine,
                staff_principal(care.practitioner),
                "insert into diary_entry (tenant_id, id, patient_id, text)"
                " values (:t, gen_random_uuid(), :p, 'forjado')",
                t=care.admin.clinic_id,
                p=care.patient_id,
            )

    async def test_a_patient_sees_only_their_own_rows(
        self, client: httpx.AsyncClient, app_engine: AsyncEngine
    ) -> None:
        care = await create_care(client)
        await write(care, client, text=SECRET, private=True)
        other = await other_patient_portal(client, care)
        await post(client, DIARY, ENTRY, other)
        someone = Principal(
            trusted_tenant(care.admin.clinic_id), uuid.uuid4(), Role.PATIENT, uuid.uuid4()
        )
        rows = await sql_as(app_engine, someone, "select text from diary_entry")
        assert rows == []
        owner = Principal(
            trusted_tenant(care.admin.clinic_id),
            uuid.uuid4(),
            Role.PATIENT,
            uuid.UUID(care.patient_id),
        )
        rows = await sql_as(app_engine, owner, "select text from diary_entry")
        assert rows == [(SECRET,)]
