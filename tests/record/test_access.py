"""Who reads and writes a patient's record: role by role, and across clinics."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.fixtures.clinical import create_practitioner
from tests.fixtures.identity import create_clinic, create_user
from tests.fixtures.records import (
    EVOLUTION,
    Team,
    create_team,
    let_patients_read,
    patient_portal,
    practitioner_user,
    signed_entry,
    write_entry,
)


async def attempt_everything(
    client: httpx.AsyncClient, team: Team, headers: dict[str, str], *, record_id: str
) -> dict[str, int]:
    """Status of each record endpoint for these credentials."""
    url = f"{team.records()}/{record_id}"
    calls: dict[str, tuple[str, str, Any]] = {
        "list": ("GET", team.records(), None),
        "get": ("GET", url, None),
        "create": ("POST", team.records(), EVOLUTION),
        "patch": ("PATCH", url, {"content": {"plan": "intruso"}}),
        "sign": ("POST", f"{url}/sign", None),
        "addendum": ("POST", f"{url}/addenda", {"content": {"text": "intruso"}}),
    }
    statuses = {}
    for name, (method, path, body) in calls.items():
        response = await client.request(method, path, json=body, headers=headers)
        statuses[name] = response.status_code
    return statuses


def all_of(status: int) -> dict[str, int]:
    return dict.fromkeys(("list", "get", "create", "patch", "sign", "addendum"), status)


async def assert_untouched(client: httpx.AsyncClient, team: Team, draft: dict[str, Any]) -> None:
    listed = await client.get(team.records(), headers=team.admin.headers)
    assert [e["id"] for e in listed.json()["items"]] == [draft["id"]]
    stored = listed.json()["items"][0]
    assert stored["status"] == "draft"
    assert stored["content"] == draft["content"]


class TestStaff:
    async def test_assigned_practitioner_does_everything(self, client: httpx.AsyncClient) -> None:
        team = await create_team(client)
        draft = await write_entry(client, team)
        statuses = await attempt_everything(
            client, team, team.practitioner.headers, record_id=draft["id"]
        )
        # the addendum comes after signing; the draft itself takes none
        assert statuses == {
            "list": 200,
            "get": 200,
            "create": 201,
            "patch": 200,
            "sign": 200,
            "addendum": 201,
        }

    @pytest.mark.parametrize("role", ["receptionist", "practitioner"])
    async def test_receptionist_and_other_practitioner_see_nothing(
        self, client: httpx.AsyncClient, role: str
    ) -> None:
        team = await create_team(client)
        draft = await write_entry(client, team)
        if role == "practitioner":
            other, _ = await practitioner_user(client, team.admin)
        else:
            other = await create_user(client, team.admin, role=role)
        statuses = await attempt_everything(client, team, other.headers, record_id=draft["id"])
        assert statuses == all_of(404)
        await assert_untouched(client, team, draft)

    async def test_practitioner_user_without_a_profile_sees_nothing(
        self, client: httpx.AsyncClient
    ) -> None:
        team = await create_team(client)
        draft = await write_entry(client, team)
        unlinked = await create_user(client, team.admin, role="practitioner")
        statuses = await attempt_everything(client, team, unlinked.headers, record_id=draft["id"])
        assert statuses == all_of(404)

    async def test_admin_reads_but_writes_only_with_a_profile(
        self, client: httpx.AsyncClient
    ) -> None:
        team = await create_team(client)
        draft = await write_entry(client, team)
        statuses = await attempt_everything(client, team, team.admin.headers, record_id=draft["id"])
        assert statuses == {**all_of(403), "list": 200, "get": 200}
        response = await client.post(team.records(), json=EVOLUTION, headers=team.admin.headers)
        assert response.json()["code"] == "not_a_practitioner"
        await assert_untouched(client, team, draft)

        profile = await create_practitioner(client, team.admin, user_id=str(team.admin.user_id))
        written = await client.post(team.records(), json=EVOLUTION, headers=team.admin.headers)
        assert written.status_code == 201
        assert written.json()["author_id"] == profile["id"]

    async def test_inactive_practitioner_no_longer_writes(self, client: httpx.AsyncClient) -> None:
        team = await create_team(client)
        deactivated = await client.patch(
            f"/api/v1/practitioners/{team.practitioner_id}",
            json={"status": "inactive"},
            headers=team.admin.headers,
        )
        assert deactivated.status_code == 200, deactivated.text
        response = await client.post(
            team.records(), json=EVOLUTION, headers=team.practitioner.headers
        )
        assert response.status_code == 403
        assert response.json()["code"] == "practitioner_inactive"

    async def test_anonymous_is_401(self, client: httpx.AsyncClient) -> None:
        team = await create_team(client)
        draft = await write_entry(client, team)
        assert await attempt_everything(client, team, {}, record_id=draft["id"]) == all_of(401)


class TestPatientPortal:
    async def test_setting_off_hides_the_record(self, client: httpx.AsyncClient) -> None:
        team = await create_team(client)
        signed = await signed_entry(client, team)
        portal = await patient_portal(client, team)
        statuses = await attempt_everything(client, team, portal, record_id=signed["id"])
        assert statuses == all_of(404)

    async def test_setting_on_shows_own_signed_entries_only(
        self, client: httpx.AsyncClient
    ) -> None:
        team = await create_team(client)
        signed = await signed_entry(client, team)
        draft = await write_entry(client, team)
        await let_patients_read(client, team.admin, on=True)
        portal = await patient_portal(client, team)

        listed = await client.get(team.records(), headers=portal)
        assert listed.status_code == 200
        assert [e["id"] for e in listed.json()["items"]] == [signed["id"]]
        drafts = await client.get(team.records(), params={"status": "draft"}, headers=portal)
        assert drafts.json()["items"] == []
        mine = await client.get(f"{team.records()}/{signed['id']}", headers=portal)
        assert mine.status_code == 200
        assert mine.json()["content_hash"] == signed["content_hash"]
        hidden = await client.get(f"{team.records()}/{draft['id']}", headers=portal)
        assert hidden.status_code == 404

        statuses = await attempt_everything(client, team, portal, record_id=signed["id"])
        assert statuses == {**all_of(404), "list": 200, "get": 200}

        await let_patients_read(client, team.admin, on=False)
        assert (await client.get(team.records(), headers=portal)).status_code == 404

    async def test_another_patients_record_stays_hidden(self, client: httpx.AsyncClient) -> None:
        team = await create_team(client)
        other = await create_team(client, team.admin)
        theirs = await signed_entry(client, other)
        await let_patients_read(client, team.admin, on=True)
        portal = await patient_portal(client, team)
        listed = await client.get(other.records(), headers=portal)
        assert listed.status_code == 404
        got = await client.get(f"{other.records()}/{theirs['id']}", headers=portal)
        assert got.status_code == 404


class TestOtherClinic:
    async def test_admin_of_another_clinic_gets_404(self, client: httpx.AsyncClient) -> None:
        team = await create_team(client)
        draft = await write_entry(client, team)
        intruder = await create_clinic(client)
        await create_practitioner(client, intruder, user_id=str(intruder.user_id))
        statuses = await attempt_everything(client, team, intruder.headers, record_id=draft["id"])
        assert statuses == all_of(404)
        await assert_untouched(client, team, draft)

    async def test_record_of_another_patient_id_is_404(self, client: httpx.AsyncClient) -> None:
        team = await create_team(client)
        other = await create_team(client, team.admin)
        theirs = await write_entry(client, other)
        response = await client.get(f"{team.records()}/{theirs['id']}", headers=team.admin.headers)
        assert response.status_code == 404
