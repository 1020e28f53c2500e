"""Drafts, signing, addenda and the content hash, through the API."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import httpx
import rfc8785

from tests.fixtures.clinical import create_practitioner
from tests.fixtures.records import (
    EVOLUTION,
    create_team,
    practitioner_user,
    sign_entry,
    signed_entry,
    write_entry,
)


def recomputed_hash(entry: dict[str, Any]) -> str:
    """What any holder of the response can do, without the server's code."""
    document = {name: entry[name] for name in entry["hashed_fields"]}
    return hashlib.sha256(rfc8785.dumps(document)).hexdigest()


class TestDraft:
    async def test_created_as_draft_by_the_linked_practitioner(
        self, client: httpx.AsyncClient
    ) -> None:
        team = await create_team(client)
        entry = await write_entry(client, team)
        assert entry["status"] == "draft"
        assert entry["author_id"] == team.practitioner_id
        assert entry["patient_id"] == team.patient_id
        assert entry["content"] == EVOLUTION["content"]
        assert entry["signed_at"] is None
        assert entry["content_hash"] is None
        assert entry["vitals"]["blood_pressure"] == {
            "systolic": 120,
            "diastolic": 80,
            "unit": "mmHg",
        }
        assert entry["vitals"]["range_of_motion"][0]["unit"] == "deg"
        assert "weight" not in entry["vitals"]

    async def test_author_edits_a_draft(self, client: httpx.AsyncClient) -> None:
        team = await create_team(client)
        entry = await write_entry(client, team)
        response = await client.patch(
            f"{team.records()}/{entry['id']}",
            json={
                "content": {"plan": "Progredir carga.", "objective": None},
                "diagnoses": [{"code": "m545"}],
                "vitals": None,
            },
            headers=team.practitioner.headers,
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["content"]["plan"] == "Progredir carga."
        assert "objective" not in body["content"]
        assert body["content"]["subjective"] == EVOLUTION["content"]["subjective"]
        assert body["diagnoses"] == [{"code": "M54.5"}]
        assert body["vitals"] is None

    async def test_edit_is_validated_against_the_kind(self, client: httpx.AsyncClient) -> None:
        team = await create_team(client)
        entry = await write_entry(client, team)
        response = await client.patch(
            f"{team.records()}/{entry['id']}",
            json={"content": {"summary": "not a SOAP field"}},
            headers=team.practitioner.headers,
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "content.summary"

    async def test_only_the_author_edits_or_signs(self, client: httpx.AsyncClient) -> None:
        team = await create_team(client)
        entry = await write_entry(client, team)
        url = f"{team.records()}/{entry['id']}"
        # an admin who is also a practitioner reaches every patient, but is not the author
        await create_practitioner(client, team.admin, user_id=str(team.admin.user_id))
        patch = await client.patch(url, json={"content": {}}, headers=team.admin.headers)
        assert patch.status_code == 403
        assert patch.json()["code"] == "not_author"
        sign = await client.post(f"{url}/sign", headers=team.admin.headers)
        assert sign.status_code == 403
        # a colleague who does not treat the patient does not even see it
        colleague, _ = await practitioner_user(client, team.admin)
        patch = await client.patch(url, json={"content": {}}, headers=colleague.headers)
        assert patch.status_code == 404
        unchanged = (await client.get(url, headers=team.practitioner.headers)).json()
        assert unchanged["status"] == "draft"
        assert unchanged["content"] == EVOLUTION["content"]


class TestSigning:
    async def test_sign_freezes_the_entry(self, client: httpx.AsyncClient) -> None:
        team = await create_team(client)
        entry = await write_entry(client, team)
        signed = await sign_entry(client, team, entry["id"])
        assert signed["status"] == "signed"
        assert signed["signed_by"] == str(team.practitioner.user_id)
        assert signed["signed_at"].endswith("Z")
        url = f"{team.records()}/{entry['id']}"
        patch = await client.patch(
            url, json={"content": {"plan": "changed"}}, headers=team.practitioner.headers
        )
        assert patch.status_code == 409
        problem = patch.json()
        assert problem["code"] == "record_signed"
        assert problem["status"] == 409
        assert problem["errors"][0]["field"] == "status"
        assert "signed" in problem["detail"]
        assert patch.headers["content-type"] == "application/problem+json"
        again = await client.post(f"{url}/sign", headers=team.practitioner.headers)
        assert again.status_code == 409
        after = (await client.get(url, headers=team.practitioner.headers)).json()
        assert after["content"] == entry["content"]
        assert after["content_hash"] == signed["content_hash"]
        assert after["signed_at"] == signed["signed_at"]

    async def test_content_hash_recomputes(self, client: httpx.AsyncClient) -> None:
        team = await create_team(client)
        signed = await signed_entry(client, team)
        assert len(signed["content_hash"]) == 64
        assert recomputed_hash(signed) == signed["content_hash"]
        fetched = await client.get(f"{team.records()}/{signed['id']}", headers=team.admin.headers)
        assert recomputed_hash(fetched.json()) == signed["content_hash"]

    async def test_hash_covers_the_content(self, client: httpx.AsyncClient) -> None:
        team = await create_team(client)
        signed = await signed_entry(client, team)
        tampered = {**signed, "content": {**signed["content"], "plan": "outro plano"}}
        assert recomputed_hash(tampered) != signed["content_hash"]


class TestAddenda:
    async def test_addendum_links_to_a_signed_entry_and_is_signed(
        self, client: httpx.AsyncClient
    ) -> None:
        team = await create_team(client)
        original = await signed_entry(client, team)
        url = f"{team.records()}/{original['id']}"
        response = await client.post(
            f"{url}/addenda",
            json={
                "content": {"text": "Correção: dor 4/10, não 6/10.", "reason": "digitação"},
                "vitals": {"pain": {"value": 4}},
            },
            headers=team.practitioner.headers,
        )
        assert response.status_code == 201, response.text
        addendum = response.json()
        assert addendum["kind"] == "addendum"
        assert addendum["parent_id"] == original["id"]
        assert addendum["status"] == "signed"
        assert recomputed_hash(addendum) == addendum["content_hash"]
        detail = (await client.get(url, headers=team.practitioner.headers)).json()
        assert [a["id"] for a in detail["addenda"]] == [addendum["id"]]
        assert detail["content_hash"] == original["content_hash"]

    async def test_draft_takes_no_addendum(self, client: httpx.AsyncClient) -> None:
        team = await create_team(client)
        draft = await write_entry(client, team)
        response = await client.post(
            f"{team.records()}/{draft['id']}/addenda",
            json={"content": {"text": "x"}},
            headers=team.practitioner.headers,
        )
        assert response.status_code == 409
        assert response.json()["code"] == "record_not_signed"

    async def test_addendum_of_an_addendum_points_at_the_original(
        self, client: httpx.AsyncClient
    ) -> None:
        team = await create_team(client)
        original = await signed_entry(client, team)
        first = await client.post(
            f"{team.records()}/{original['id']}/addenda",
            json={"content": {"text": "primeira"}},
            headers=team.practitioner.headers,
        )
        second = await client.post(
            f"{team.records()}/{first.json()['id']}/addenda",
            json={"content": {"text": "segunda"}},
            headers=team.practitioner.headers,
        )
        assert second.status_code == 409
        assert second.json()["original_id"] == original["id"]

    async def test_addendum_cannot_be_created_as_a_plain_entry(
        self, client: httpx.AsyncClient
    ) -> None:
        team = await create_team(client)
        response = await client.post(
            team.records(),
            json={"kind": "addendum", "content": {"text": "x"}},
            headers=team.practitioner.headers,
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "kind"


class TestConcurrentEditAndSign:
    async def test_the_hash_always_matches_what_was_signed(self, client: httpx.AsyncClient) -> None:
        team = await create_team(client)
        entry = await write_entry(client, team)
        url = f"{team.records()}/{entry['id']}"
        headers = team.practitioner.headers
        patch, sign = await asyncio.gather(
            client.patch(url, json={"content": {"plan": "última hora"}}, headers=headers),
            client.post(f"{url}/sign", headers=headers),
        )
        assert sign.status_code == 200
        assert patch.status_code in (200, 409)
        final = (await client.get(url, headers=headers)).json()
        assert final["status"] == "signed"
        assert recomputed_hash(final) == final["content_hash"]
        assert (final["content"]["plan"] == "última hora") == (patch.status_code == 200)
