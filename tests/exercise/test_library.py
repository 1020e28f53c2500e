"""The exercise library and clinic exercises: search, read, create, copy, adapt."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine

from fisioflow.core.database import DatabaseLocation
from fisioflow.exercise.library import library_rows
from tests.fixtures.exercise import BRIDGE
from tests.fixtures.identity import create_clinic, create_patient_user, create_user

EXERCISES = "/api/v1/exercises"
CUSTOM = {
    "name": "Agachamento búlgaro adaptado",
    "description": "Agachamento unilateral com o pé de trás apoiado em um banco baixo.",
    "body_region": "knee",
    "category": "strengthening",
    "difficulty": "advanced",
    "default_sets": 3,
    "default_reps": 8,
    "instructions": ["Apoie o pé de trás no banco.", "Desça controlando o joelho da frente."],
    "contraindications": ["Dor patelofemoral"],
    "video_url": "https://videos.example.com/bulgaro.mp4",
}


class TestLibrary:
    def test_ships_at_least_sixty_complete_exercises(self) -> None:
        rows = library_rows()
        assert len(rows) >= 60
        categories = {r["category"] for r in rows}
        assert categories == {
            "strengthening",
            "mobility",
            "stretching",
            "balance",
            "motor_control",
            "cardio",
            "breathing",
        }
        for row in rows:
            assert row["name"]
            assert row["description"]
            assert row["body_region"]
            assert len(row["instructions"]) >= 3
            assert row["contraindications"], row["slug"]
            dose = ("default_reps", "default_hold_seconds", "default_duration_seconds")
            assert any(row[k] for k in dose), row["slug"]

    async def test_loaded_by_migration_and_read_only_for_the_app(
        self, app_engine: AsyncEngine
    ) -> None:
        async with app_engine.connect() as conn:
            count = await conn.scalar(text("select count(*) from exercise_library"))
            assert count == len(library_rows())
            with pytest.raises(ProgrammingError, match="permission denied"):
                await conn.execute(text("update exercise_library set name = 'x'"))
            await conn.rollback()
            with pytest.raises(ProgrammingError, match="permission denied"):
                await conn.execute(text("delete from exercise_library"))


class TestSearch:
    async def test_accent_and_case_insensitive(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        for q in ("PONTE GLUTEO", "ponte de glúteo", "glut pont"):
            found = await client.get(EXERCISES, params={"q": q}, headers=admin.headers)
            assert found.status_code == 200
            assert [i["slug"] for i in found.json()["items"]] == ["ponte-de-gluteo"], q

    async def test_filters_by_region_and_category(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        found = await client.get(
            EXERCISES,
            params={"region": "shoulder", "category": "strengthening", "limit": 200},
            headers=admin.headers,
        )
        items = found.json()["items"]
        assert len(items) >= 3
        assert {(i["body_region"], i["category"]) for i in items} == {("shoulder", "strengthening")}

    async def test_searches_clinic_exercises_too_and_pages(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        created = await client.post(EXERCISES, json=CUSTOM, headers=admin.headers)
        assert created.status_code == 201
        found = await client.get(EXERCISES, params={"q": "bulgaro"}, headers=admin.headers)
        assert [(i["source"], i["name"]) for i in found.json()["items"]] == [
            ("clinic", CUSTOM["name"])
        ]
        seen: list[str] = []
        params = {"region": "knee", "limit": 4}
        while True:
            page = await client.get(EXERCISES, params=params, headers=admin.headers)
            seen += [i["id"] for i in page.json()["items"]]
            if not page.json()["next_cursor"]:
                break
            params = {**params, "cursor": page.json()["next_cursor"]}
        everything = await client.get(
            EXERCISES, params={"region": "knee", "limit": 200}, headers=admin.headers
        )
        assert seen == [i["id"] for i in everything.json()["items"]]
        assert len(seen) == len(set(seen)) >= 11

    async def test_other_clinics_exercises_are_not_found(self, client: httpx.AsyncClient) -> None:
        owner, other = await create_clinic(client), await create_clinic(client)
        created = await client.post(EXERCISES, json=CUSTOM, headers=owner.headers)
        found = await client.get(EXERCISES, params={"q": "bulgaro"}, headers=other.headers)
        assert found.json()["items"] == []
        one = await client.get(f"{EXERCISES}/{created.json()['id']}", headers=other.headers)
        assert one.status_code == 404

    async def test_bad_filter_is_named(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        bad = await client.get(EXERCISES, params={"region": "nose"}, headers=admin.headers)
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["field"] == "region"


class TestClinicExercises:
    async def test_create_read_and_adapt(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        created = await client.post(EXERCISES, json=CUSTOM, headers=admin.headers)
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["source"] == "clinic"
        assert body["source_exercise_id"] is None
        url = f"{EXERCISES}/{body['id']}"
        changed = await client.patch(
            url, json={"default_reps": 10, "contraindications": None}, headers=admin.headers
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["default_reps"] == 10
        assert changed.json()["contraindications"] == []
        archived = await client.patch(url, json={"archived": True}, headers=admin.headers)
        assert archived.json()["archived_at"] is not None
        found = await client.get(EXERCISES, params={"q": "bulgaro"}, headers=admin.headers)
        assert found.json()["items"] == []

    async def test_copy_from_library_then_adapt(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        copied = await client.post(f"{EXERCISES}/{BRIDGE}/copy", headers=admin.headers)
        assert copied.status_code == 201, copied.text
        copy = copied.json()
        assert copy["source"] == "clinic"
        assert copy["source_exercise_id"] == BRIDGE
        assert copy["id"] != BRIDGE
        assert copy["name"] == "Ponte de glúteo"
        adapted = await client.patch(
            f"{EXERCISES}/{copy['id']}",
            json={"name": "Ponte de glúteo unilateral", "difficulty": "intermediate"},
            headers=admin.headers,
        )
        assert adapted.json()["name"] == "Ponte de glúteo unilateral"
        original = await client.get(f"{EXERCISES}/{BRIDGE}", headers=admin.headers)
        assert original.json()["name"] == "Ponte de glúteo"
        assert original.json()["source"] == "library"

    async def test_library_entries_are_read_only(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        response = await client.patch(
            f"{EXERCISES}/{BRIDGE}", json={"name": "Minha ponte"}, headers=admin.headers
        )
        assert response.status_code == 409
        assert response.json()["code"] == "library_exercise_read_only"

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"body_region": "nose"}, "body_region"),
            ({"default_reps": 0}, "default_reps"),
            ({"default_sets": 1001}, "default_sets"),
            ({"instructions": []}, "instructions"),
            ({"video_url": "ftp://x"}, "video_url"),
            ({"name": "\x00x"}, "name"),
        ],
    )
    async def test_bad_input_names_the_field(
        self, client: httpx.AsyncClient, change: dict[str, object], field: str
    ) -> None:
        admin = await create_clinic(client)
        response = await client.post(EXERCISES, json={**CUSTOM, **change}, headers=admin.headers)
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"][0]["field"] == field

    async def test_removing_a_required_field_is_refused(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        created = await client.post(EXERCISES, json=CUSTOM, headers=admin.headers)
        response = await client.patch(
            f"{EXERCISES}/{created.json()['id']}", json={"name": None}, headers=admin.headers
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "name"


class TestAccess:
    async def test_anonymous_gets_401(self, client: httpx.AsyncClient) -> None:
        for method, url in (
            ("GET", EXERCISES),
            ("POST", EXERCISES),
            ("GET", f"{EXERCISES}/{BRIDGE}"),
            ("PATCH", f"{EXERCISES}/{BRIDGE}"),
            ("POST", f"{EXERCISES}/{BRIDGE}/copy"),
        ):
            response = await client.request(method, url, json={})
            assert response.status_code == 401, (method, url)

    async def test_receptionist_reads_but_does_not_write(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        receptionist = await create_user(client, admin, role="receptionist")
        assert (await client.get(EXERCISES, headers=receptionist.headers)).status_code == 200
        created = await client.post(EXERCISES, json=CUSTOM, headers=receptionist.headers)
        assert created.status_code == 403
        copied = await client.post(f"{EXERCISES}/{BRIDGE}/copy", headers=receptionist.headers)
        assert copied.status_code == 404

    async def test_practitioner_writes(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        practitioner = await create_user(client, admin, role="practitioner")
        created = await client.post(EXERCISES, json=CUSTOM, headers=practitioner.headers)
        assert created.status_code == 201

    async def test_patient_user_gets_403_and_404(
        self, client: httpx.AsyncClient, database: DatabaseLocation
    ) -> None:
        admin = await create_clinic(client)
        patient = await create_patient_user(client, database.app_url, admin)
        assert (await client.get(EXERCISES, headers=patient.headers)).status_code == 403
        one = await client.get(f"{EXERCISES}/{BRIDGE}", headers=patient.headers)
        assert one.status_code == 404
        created = await client.post(EXERCISES, json=CUSTOM, headers=patient.headers)
        assert created.status_code == 403
