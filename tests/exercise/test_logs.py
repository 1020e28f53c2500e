"""Patient-logged sessions: validation, idempotent retries, the 24-hour correction window."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from fisioflow.core.database import DatabaseLocation
from tests.fixtures.exercise import (
    LOGS,
    Program,
    create_program,
    log_body,
    log_session,
)
from tests.fixtures.identity import create_clinic, create_patient_user, create_user
from tests.fixtures.records import create_team, patient_portal


async def _count(owner_engine: AsyncEngine, program: Program) -> int:
    async with owner_engine.begin() as conn:
        await conn.execute(
            text("select set_config('app.tenant_id', :t, true)"),
            {"t": str(program.team.admin.clinic_id)},
        )
        return int(await conn.scalar(text("select count(*) from exercise_log")) or 0)


class TestLogSession:
    async def test_logged_and_listed(self, client: httpx.AsyncClient) -> None:
        program = await create_program(client)
        logged = await log_session(
            client, program, note="Senti o glúteo", sensor_data={"hr": [88, 92, 95]}
        )
        assert logged["item_version_id"] == program.version_id
        assert logged["pain_before"] == 3
        assert logged["pain_after"] == 2
        assert logged["sensor_data"] == {"hr": [88, 92, 95]}
        created = dt.datetime.fromisoformat(logged["created_at"])
        assert dt.datetime.fromisoformat(logged["editable_until"]) == created + dt.timedelta(
            hours=24
        )
        listed = await client.get(LOGS, headers=program.patient)
        assert [entry["id"] for entry in listed.json()["items"]] == [logged["id"]]

    async def test_duration_only_and_superseded_versions_are_accepted(
        self, client: httpx.AsyncClient
    ) -> None:
        program = await create_program(client)
        old = program.version_id
        await client.patch(
            f"{program.url}/items/{program.prescription['items'][0]['id']}",
            json={"reps": 20},
            headers=program.team.practitioner.headers,
        )
        logged = await log_session(
            client, program, sets_done=None, reps_done=None, duration_seconds=600
        )
        assert logged["item_version_id"] == old
        assert logged["duration_seconds"] == 600

    async def test_paused_prescription_still_takes_logs(self, client: httpx.AsyncClient) -> None:
        program = await create_program(client)
        await client.post(f"{program.url}/pause", headers=program.team.practitioner.headers)
        await log_session(client, program)


class TestBadInput:
    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"pain_before": 11}, "pain_before"),
            ({"pain_after": -1}, "pain_after"),
            ({"difficulty": 11}, "difficulty"),
            ({"sets_done": 0}, "sets_done"),
            ({"sets_done": 1001}, "sets_done"),
            ({"reps_done": -3}, "reps_done"),
            ({"reps_done": 1001}, "reps_done"),
            ({"duration_seconds": 0}, "duration_seconds"),
            ({"sets_done": None, "reps_done": None}, "body"),
            ({"performed_at": "2026-11-01T10:00:00"}, "performed_at"),
            ({"item_version_id": "nope"}, "item_version_id"),
            ({"note": "x" * 2001}, "note"),
            ({"sensor_data": {"samples": "x" * 70_000}}, "sensor_data"),
            ({"sensor_data": [1, 2]}, "sensor_data"),
            ({"patient_id": str(uuid.uuid4())}, "patient_id"),
        ],
    )
    async def test_validation_names_the_field(
        self,
        client: httpx.AsyncClient,
        owner_engine: AsyncEngine,
        change: dict[str, object],
        field: str,
    ) -> None:
        program = await create_program(client)
        response = await client.post(
            LOGS, json=log_body(program, **change), headers=program.patient
        )
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"][0]["field"] == field
        assert await _count(owner_engine, program) == 0

    @pytest.mark.parametrize(
        "performed_at",
        [
            dt.timedelta(hours=1),  # future
            -dt.timedelta(days=31),  # too far back
        ],
    )
    async def test_when_is_checked(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine, performed_at: dt.timedelta
    ) -> None:
        program = await create_program(client)
        when = (dt.datetime.now(dt.UTC) + performed_at).isoformat()
        response = await client.post(
            LOGS, json=log_body(program, performed_at=when), headers=program.patient
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "performed_at"
        assert await _count(owner_engine, program) == 0

    async def test_item_of_another_patient_is_refused(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine
    ) -> None:
        program = await create_program(client)
        other = await create_program(client, team=await create_team(client, program.team.admin))
        response = await client.post(
            LOGS, json=log_body(program, item_version_id=other.version_id), headers=program.patient
        )
        assert response.status_code == 422
        assert response.json()["code"] == "not_prescribed"
        assert response.json()["errors"][0]["field"] == "item_version_id"
        stranger = await create_program(client)  # another clinic
        response = await client.post(
            LOGS,
            json=log_body(program, item_version_id=stranger.version_id),
            headers=program.patient,
        )
        assert response.status_code == 422
        assert await _count(owner_engine, program) == 0

    async def test_cancelled_prescription_takes_no_logs(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine
    ) -> None:
        program = await create_program(client)
        await client.post(f"{program.url}/cancel", headers=program.team.practitioner.headers)
        response = await client.post(LOGS, json=log_body(program), headers=program.patient)
        assert response.status_code == 422
        assert response.json()["code"] == "prescription_cancelled"
        assert response.json()["errors"][0]["field"] == "item_version_id"
        assert await _count(owner_engine, program) == 0


class TestIdempotency:
    async def test_retry_returns_the_first_log(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine
    ) -> None:
        program = await create_program(client)
        body = log_body(program)
        headers = {**program.patient, "Idempotency-Key": "sessao-7f3a"}
        first = await client.post(LOGS, json=body, headers=headers)
        again = await client.post(LOGS, json=body, headers=headers)
        assert first.status_code == again.status_code == 201
        assert again.json() == first.json()
        assert again.headers["Idempotent-Replayed"] == "true"
        assert "Idempotent-Replayed" not in first.headers
        assert await _count(owner_engine, program) == 1

    async def test_same_key_other_body_is_a_conflict(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine
    ) -> None:
        program = await create_program(client)
        headers = {**program.patient, "Idempotency-Key": "k1"}
        await client.post(LOGS, json=log_body(program), headers=headers)
        other = await client.post(LOGS, json=log_body(program, pain_after=5), headers=headers)
        assert other.status_code == 409
        assert other.json()["code"] == "idempotency_key_reused"
        assert await _count(owner_engine, program) == 1

    async def test_keys_are_per_patient(self, client: httpx.AsyncClient) -> None:
        program = await create_program(client)
        other = await create_program(client, team=await create_team(client, program.team.admin))
        mine = await log_session(client, program, key="same-key")
        theirs = await log_session(client, other, key="same-key")
        assert mine["id"] != theirs["id"]

    async def test_concurrent_retries_make_one_log(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine
    ) -> None:
        program = await create_program(client)
        body = log_body(program, pain_after=8)  # also raises exactly one alert
        headers = {**program.patient, "Idempotency-Key": "rede-caiu-3x"}
        answers = await asyncio.gather(
            *(client.post(LOGS, json=body, headers=headers) for _ in range(6))
        )
        assert {a.status_code for a in answers} == {201}, [a.text for a in answers]
        assert len({a.json()["id"] for a in answers}) == 1
        assert sum(a.headers.get("Idempotent-Replayed") == "true" for a in answers) == 5
        assert await _count(owner_engine, program) == 1
        alerts = await client.get("/api/v1/alerts", headers=program.team.admin.headers)
        assert [a["kind"] for a in alerts.json()["items"]] == ["pain_high"]

    async def test_bad_key_is_refused(self, client: httpx.AsyncClient) -> None:
        program = await create_program(client)
        headers = {**program.patient, "Idempotency-Key": "x" * 201}
        response = await client.post(LOGS, json=log_body(program), headers=headers)
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "Idempotency-Key"


async def _age(owner_engine: AsyncEngine, log_id: str, hours: float) -> None:
    """Pretend the log was recorded `hours` ago (the guard trigger is lifted to arrange it)."""
    async with owner_engine.begin() as conn:
        await conn.execute(text("alter table exercise_log disable trigger user"))
        await conn.execute(text("alter table exercise_log no force row level security"))
        await conn.execute(
            text(
                "update exercise_log set created_at = now() - make_interval(secs => :s) where id = :id"
            ),
            {"s": hours * 3600, "id": log_id},
        )
        await conn.execute(text("alter table exercise_log force row level security"))
        await conn.execute(text("alter table exercise_log enable trigger user"))


class TestCorrectionWindow:
    async def test_correct_within_24_hours(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine
    ) -> None:
        program = await create_program(client)
        logged = await log_session(client, program)
        await _age(owner_engine, logged["id"], 23.5)
        fixed = await client.patch(
            f"{LOGS}/{logged['id']}",
            json={"pain_after": 4, "note": "Errei"},
            headers=program.patient,
        )
        assert fixed.status_code == 200, fixed.text
        assert fixed.json()["pain_after"] == 4
        assert fixed.json()["note"] == "Errei"
        assert fixed.json()["pain_before"] == logged["pain_before"]

    async def test_frozen_after_24_hours(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine, app_engine: AsyncEngine
    ) -> None:
        program = await create_program(client)
        logged = await log_session(client, program)
        await _age(owner_engine, logged["id"], 24.1)
        response = await client.patch(
            f"{LOGS}/{logged['id']}", json={"pain_after": 9}, headers=program.patient
        )
        assert response.status_code == 409
        assert response.json()["code"] == "log_frozen"
        async with app_engine.connect() as conn:  # the database refuses it too
            await conn.execute(
                text("select set_config('app.tenant_id', :t, true)"),
                {"t": str(program.team.admin.clinic_id)},
            )
            with pytest.raises(IntegrityError, match="frozen"):
                await conn.execute(
                    text("update exercise_log set pain_after = 9 where id = :id"),
                    {"id": logged["id"]},
                )
        listed = await client.get(LOGS, headers=program.patient)
        assert listed.json()["items"][0]["pain_after"] == logged["pain_after"]

    async def test_identity_never_changes(
        self, client: httpx.AsyncClient, app_engine: AsyncEngine
    ) -> None:
        program = await create_program(client)
        logged = await log_session(client, program)
        async with app_engine.connect() as conn:
            await conn.execute(
                text("select set_config('app.tenant_id', :t, true)"),
                {"t": str(program.team.admin.clinic_id)},
            )
            with pytest.raises(IntegrityError, match="not whose or which"):
                await conn.execute(
                    text(
                        "update exercise_log set created_at = now() - interval '1 hour'"
                        " where id = :id"
                    ),
                    {"id": logged["id"]},
                )

    async def test_correction_is_validated(self, client: httpx.AsyncClient) -> None:
        program = await create_program(client)
        logged = await log_session(client, program)
        url = f"{LOGS}/{logged['id']}"
        future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
        for body, field in (
            ({"pain_after": 11}, "pain_after"),
            ({"performed_at": future}, "performed_at"),
            ({"item_version_id": program.version_id}, "item_version_id"),
        ):
            response = await client.patch(url, json=body, headers=program.patient)
            assert response.status_code == 422, body
            assert response.json()["errors"][0]["field"] == field


class TestAccess:
    async def test_anonymous_gets_401(self, client: httpx.AsyncClient) -> None:
        for method, url in (
            ("GET", "/api/v1/me/program"),
            ("GET", LOGS),
            ("POST", LOGS),
            ("PATCH", f"{LOGS}/{uuid.uuid4()}"),
        ):
            assert (await client.request(method, url, json={})).status_code == 401

    async def test_staff_are_not_patients(self, client: httpx.AsyncClient) -> None:
        program = await create_program(client)
        logged = await log_session(client, program)
        receptionist = await create_user(client, program.team.admin, role="receptionist")
        for actor in (program.team.admin, program.team.practitioner, receptionist):
            for method, url, body in (
                ("GET", "/api/v1/me/program", None),
                ("GET", LOGS, None),
                ("POST", LOGS, log_body(program)),
            ):
                response = await client.request(method, url, json=body, headers=actor.headers)
                assert response.status_code == 403, (actor.role, method, url)
                assert response.json()["code"] == "patients_only"
            patched = await client.patch(
                f"{LOGS}/{logged['id']}", json={"pain_after": 0}, headers=actor.headers
            )
            assert patched.status_code == 404

    async def test_other_patient_cannot_see_or_correct(
        self, client: httpx.AsyncClient, database: DatabaseLocation
    ) -> None:
        program = await create_program(client)
        logged = await log_session(client, program, note="Nota íntima")
        neighbour = await create_team(client, program.team.admin)
        headers = await patient_portal(client, neighbour)
        response = await client.patch(
            f"{LOGS}/{logged['id']}", json={"pain_after": 0}, headers=headers
        )
        assert response.status_code == 404
        listed = await client.get(LOGS, headers=headers)
        assert listed.json()["items"] == []
        program_today = await client.get("/api/v1/me/program", headers=headers)
        assert program_today.json()["items"] == []
        outsider = await create_patient_user(client, database.app_url, await create_clinic(client))
        response = await client.patch(
            f"{LOGS}/{logged['id']}", json={"pain_after": 0}, headers=outsider.headers
        )
        assert response.status_code == 404
        assert "Nota íntima" not in response.text
