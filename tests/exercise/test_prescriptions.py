"""Prescriptions: create, read, change (versioned items), status lifecycle, access."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from fisioflow.core.database import DatabaseLocation
from tests.fixtures.exercise import (
    BRIDGE,
    SQUAT,
    create_program,
    item,
    log_session,
    prescribe,
    prescriptions,
)
from tests.fixtures.identity import create_clinic, create_patient_user, create_user
from tests.fixtures.records import create_team, patient_portal, practitioner_user


class TestCreateAndRead:
    async def test_prescribe_two_items(self, client: httpx.AsyncClient) -> None:
        team = await create_team(client)
        created = await prescribe(
            client,
            team,
            item(BRIDGE, days_of_week=[5, 1, 3, 3], load_kg="2.5"),
            item(SQUAT, reps=None, hold_seconds=30, times_per_day=2, notes="Sem dor"),
            notes="Reforço para casa",
        )
        assert created["status"] == "active"
        assert created["practitioner_id"] == team.practitioner_id
        assert [s["status"] for s in created["status_history"]] == ["active"]
        first, second = created["items"]
        assert first["current"]["days_of_week"] == [1, 3, 5]
        assert first["current"]["load_kg"] == "2.50"
        assert first["current"]["exercise"]["name"] == "Ponte de glúteo"
        assert second["current"]["hold_seconds"] == 30
        assert second["current"]["reps"] is None
        assert second["position"] == 2
        assert second["history"] == []
        url = f"{prescriptions(team)}/{created['id']}"
        read = await client.get(url, headers=team.admin.headers)
        assert read.status_code == 200
        assert read.json() == created
        listed = await client.get(prescriptions(team), headers=team.practitioner.headers)
        assert [p["id"] for p in listed.json()["items"]] == [created["id"]]

    async def test_list_filters_by_status_and_pages(self, client: httpx.AsyncClient) -> None:
        team = await create_team(client)
        ids = [(await prescribe(client, team, title=f"Programa {n}"))["id"] for n in range(3)]
        await client.post(f"{prescriptions(team)}/{ids[0]}/pause", headers=team.admin.headers)
        paused = await client.get(
            prescriptions(team), params={"status": "paused"}, headers=team.admin.headers
        )
        assert [p["id"] for p in paused.json()["items"]] == [ids[0]]
        first = await client.get(
            prescriptions(team), params={"limit": 2}, headers=team.admin.headers
        )
        assert [p["id"] for p in first.json()["items"]] == ids[:0:-1]
        rest = await client.get(
            prescriptions(team),
            params={"limit": 2, "cursor": first.json()["next_cursor"]},
            headers=team.admin.headers,
        )
        assert [p["id"] for p in rest.json()["items"]] == [ids[0]]

    async def test_clinic_exercise_can_be_prescribed(self, client: httpx.AsyncClient) -> None:
        team = await create_team(client)
        copy = await client.post(f"/api/v1/exercises/{BRIDGE}/copy", headers=team.admin.headers)
        created = await prescribe(client, team, item(copy.json()["id"]))
        exercise = created["items"][0]["current"]["exercise"]
        assert exercise["source"] == "clinic"
        assert exercise["id"] == copy.json()["id"]


class TestBadInput:
    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"sets": 0}, "items.0.sets"),
            ({"sets": 1001}, "items.0.sets"),
            ({"reps": -1}, "items.0.reps"),
            ({"reps": 1001}, "items.0.reps"),
            ({"times_per_day": 0}, "items.0.times_per_day"),
            ({"days_of_week": [0]}, "items.0.days_of_week.0"),
            ({"days_of_week": []}, "items.0.days_of_week"),
            ({"load_kg": "-1"}, "items.0.load_kg"),
            ({"reps": None}, "items.0"),
            ({"end_on": "2020-01-01"}, "items.0"),
            ({"exercise_id": "00000000-0000-0000-0000-000000000000"}, "exercise_id"),
        ],
    )
    async def test_refused_and_nothing_written(
        self, client: httpx.AsyncClient, change: dict[str, object], field: str
    ) -> None:
        team = await create_team(client)
        body = {"title": "Programa", "items": [item(**change)]}
        response = await client.post(
            prescriptions(team), json=body, headers=team.practitioner.headers
        )
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"][0]["field"] == field
        listed = await client.get(prescriptions(team), headers=team.practitioner.headers)
        assert listed.json()["items"] == []

    async def test_other_clinics_exercise_is_not_prescribable(
        self, client: httpx.AsyncClient
    ) -> None:
        team, other = await create_team(client), await create_clinic(client)
        copy = await client.post(f"/api/v1/exercises/{BRIDGE}/copy", headers=other.headers)
        response = await client.post(
            prescriptions(team),
            json={"title": "x", "items": [item(copy.json()["id"])]},
            headers=team.practitioner.headers,
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "exercise_id"


class TestItemVersions:
    async def test_change_adds_a_version_and_keeps_the_old_one(
        self, client: httpx.AsyncClient
    ) -> None:
        program = await create_program(client)
        old = program.version_id
        logged = await log_session(client, program)
        item_url = f"{program.url}/items/{program.prescription['items'][0]['id']}"
        changed = await client.patch(
            item_url, json={"reps": 15, "load_kg": "1.5"}, headers=program.team.practitioner.headers
        )
        assert changed.status_code == 200, changed.text
        current = changed.json()["items"][0]["current"]
        history = changed.json()["items"][0]["history"]
        assert current["version"] == 2
        assert current["reps"] == 15
        assert current["load_kg"] == "1.50"
        assert current["superseded_at"] is None
        assert [h["id"] for h in history] == [old]
        assert history[0]["reps"] == 12
        assert history[0]["superseded_at"] is not None
        assert logged["item_version_id"] == old
        again = await client.patch(
            item_url, json={"reps": 15}, headers=program.team.practitioner.headers
        )
        assert again.json()["items"][0]["current"]["version"] == 2  # nothing changed

    async def test_change_validates_the_merged_item(self, client: httpx.AsyncClient) -> None:
        program = await create_program(client)
        item_url = f"{program.url}/items/{program.prescription['items'][0]['id']}"
        headers = program.team.practitioner.headers
        for body, field in (
            ({"reps": None}, "body"),
            ({"sets": None}, "sets"),
            ({"sets": 0}, "sets"),
        ):
            response = await client.patch(item_url, json=body, headers=headers)
            assert response.status_code == 422, body
            assert response.json()["errors"][0]["field"] == field
        read = await client.get(program.url, headers=headers)
        assert read.json()["items"][0]["current"]["version"] == 1

    async def test_add_item_to_an_open_prescription(self, client: httpx.AsyncClient) -> None:
        program = await create_program(client)
        added = await client.post(
            f"{program.url}/items", json=item(SQUAT), headers=program.team.practitioner.headers
        )
        assert added.status_code == 201
        assert [i["position"] for i in added.json()["items"]] == [1, 2]

    async def test_versions_are_immutable_in_the_database(
        self, client: httpx.AsyncClient, app_engine: AsyncEngine
    ) -> None:
        program = await create_program(client)
        async with app_engine.connect() as conn:
            await conn.execute(
                text("select set_config('app.tenant_id', :t, true)"),
                {"t": str(program.team.admin.clinic_id)},
            )
            with pytest.raises(IntegrityError, match="immutable"):
                await conn.execute(
                    text("update prescription_item_version set reps = 99 where id = :id"),
                    {"id": program.version_id},
                )


class TestStatus:
    async def test_lifecycle(self, client: httpx.AsyncClient) -> None:
        program = await create_program(client)
        headers = program.team.practitioner.headers
        for action, expected in (("pause", "paused"), ("resume", "active"), ("pause", "paused")):
            response = await client.post(f"{program.url}/{action}", headers=headers)
            assert response.status_code == 200, response.text
            assert response.json()["status"] == expected
        completed = await client.post(f"{program.url}/complete", headers=headers)
        assert [s["status"] for s in completed.json()["status_history"]] == [
            "active",
            "paused",
            "active",
            "paused",
            "completed",
        ]

    @pytest.mark.parametrize(
        ("first", "then"),
        [
            ([], "resume"),
            (["pause"], "pause"),
            (["complete"], "resume"),
            (["complete"], "cancel"),
            (["cancel"], "complete"),
            (["cancel"], "pause"),
        ],
    )
    async def test_disallowed_transitions_answer_409(
        self, client: httpx.AsyncClient, first: list[str], then: str
    ) -> None:
        program = await create_program(client)
        headers = program.team.practitioner.headers
        for action in first:
            assert (
                await client.post(f"{program.url}/{action}", headers=headers)
            ).status_code == 200
        response = await client.post(f"{program.url}/{then}", headers=headers)
        assert response.status_code == 409
        assert response.json()["code"] == "invalid_transition"
        assert response.json()["errors"][0]["field"] == "status"

    async def test_closed_prescription_does_not_change(self, client: httpx.AsyncClient) -> None:
        program = await create_program(client)
        headers = program.team.practitioner.headers
        await client.post(f"{program.url}/cancel", headers=headers)
        item_url = f"{program.url}/items/{program.prescription['items'][0]['id']}"
        for method, url, body in (
            ("PATCH", program.url, {"title": "Novo"}),
            ("PATCH", item_url, {"reps": 3}),
            ("POST", f"{program.url}/items", item()),
        ):
            response = await client.request(method, url, json=body, headers=headers)
            assert response.status_code == 409, (method, url)
            assert response.json()["code"] == "prescription_closed"

    async def test_update_title_and_notes(self, client: httpx.AsyncClient) -> None:
        program = await create_program(client)
        response = await client.patch(
            program.url,
            json={"title": "Quadril fase 2", "notes": "Progredir carga"},
            headers=program.team.practitioner.headers,
        )
        assert response.json()["title"] == "Quadril fase 2"
        assert response.json()["notes"] == "Progredir carga"


ENDPOINTS = [
    ("GET", ""),
    ("POST", ""),
    ("GET", "/{rx}"),
    ("PATCH", "/{rx}"),
    ("POST", "/{rx}/items"),
    ("PATCH", "/{rx}/items/{item}"),
    ("POST", "/{rx}/pause"),
    ("POST", "/{rx}/resume"),
    ("POST", "/{rx}/complete"),
    ("POST", "/{rx}/cancel"),
]


def _body(method: str, suffix: str) -> dict[str, object] | None:
    if suffix == "":
        return {"title": "Intruso", "items": [item()]} if method == "POST" else None
    if suffix.endswith("/items"):
        return item()
    if method == "PATCH":
        return {"reps": 99} if "items" in suffix else {"title": "Intruso"}
    return None


class TestAccess:
    @pytest.mark.parametrize(("method", "suffix"), ENDPOINTS)
    async def test_anonymous_other_staff_and_other_clinic(
        self,
        client: httpx.AsyncClient,
        database: DatabaseLocation,
        method: str,
        suffix: str,
    ) -> None:
        program = await create_program(client)
        team = program.team
        url = prescriptions(team) + suffix.format(
            rx=program.prescription["id"], item=program.prescription["items"][0]["id"]
        )
        body = _body(method, suffix)
        anonymous = await client.request(method, url, json=body)
        assert anonymous.status_code == 401
        receptionist = await create_user(client, team.admin, role="receptionist")
        other_practitioner, _ = await practitioner_user(client, team.admin)
        outsider = await create_clinic(client)
        stranger = await create_patient_user(client, database.app_url, team.admin)
        for actor in (receptionist, other_practitioner, outsider, stranger):
            response = await client.request(method, url, json=body, headers=actor.headers)
            assert response.status_code == 404, (actor.role, response.text)
            assert "Fortalecimento" not in response.text
        own = await client.request(method, url, json=body, headers=program.patient)
        assert own.status_code == 404  # patients read their program at /me/program
        read = await client.get(prescriptions(team), headers=team.admin.headers)
        assert read.json()["items"][0]["title"] == "Fortalecimento de quadril"
        assert read.json()["items"][0]["status"] == "active"

    async def test_admin_without_practitioner_profile_reads_but_does_not_prescribe(
        self, client: httpx.AsyncClient
    ) -> None:
        program = await create_program(client)
        team = program.team
        read = await client.get(prescriptions(team), headers=team.admin.headers)
        assert read.status_code == 200
        created = await client.post(
            prescriptions(team), json={"title": "x", "items": [item()]}, headers=team.admin.headers
        )
        assert created.status_code == 403
        assert created.json()["code"] == "not_a_practitioner"

    async def test_other_patient_in_the_path_is_not_found(self, client: httpx.AsyncClient) -> None:
        program = await create_program(client)
        other = await create_team(client, program.team.admin)
        url = f"{prescriptions(program.team, other.patient_id)}/{program.prescription['id']}"
        response = await client.get(url, headers=program.team.admin.headers)
        assert response.status_code == 404
        headers = await patient_portal(client, other)
        mine = await client.get("/api/v1/me/program", headers=headers)
        assert mine.json()["items"] == []

    async def test_start_date_defaults(self, client: httpx.AsyncClient) -> None:
        team = await create_team(client)
        today = dt.date.today().isoformat()
        created = await prescribe(client, team, item(start_on=today))
        assert created["items"][0]["current"]["start_on"] == today
