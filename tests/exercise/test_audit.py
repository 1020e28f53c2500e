"""Home-exercise data in the audit trail: prescriptions, logs, corrections and alerts are
write events; reads of programs, logs and adherence are access events; a patient never
sees the events of alerts (staff-only, like the alerts themselves)."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fixtures.audit import audit_events
from tests.fixtures.exercise import LOGS, Program, create_program, log_session

READS = "operation = 'READ'"


def _writes(events: list[dict[str, object]]) -> list[tuple[object, object, str]]:
    return [
        (e["table_name"], e["operation"], str(e["patient_id"]))
        for e in events
        if e["operation"] != "READ"
    ]


async def _events(
    owner_engine: AsyncEngine, program: Program, where: str
) -> list[dict[str, object]]:
    return await audit_events(owner_engine, program.team.admin.clinic_id, where=where)


class TestWrites:
    async def test_prescription_log_correction_and_alert(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine
    ) -> None:
        program = await create_program(client)
        patient = program.team.patient_id
        logged = await log_session(client, program, pain_after=8)
        corrected = await client.patch(
            f"{LOGS}/{logged['id']}", json={"pain_after": 9}, headers=program.patient
        )
        assert corrected.status_code == 200, corrected.text
        events = await _events(
            owner_engine,
            program,
            "table_name like 'prescription%' or table_name in ('exercise_log', 'alert')",
        )
        assert _writes(events) == [
            ("prescription", "INSERT", patient),
            ("prescription_item", "INSERT", patient),
            ("prescription_item_version", "INSERT", patient),
            ("exercise_log", "INSERT", patient),
            ("alert", "INSERT", patient),
            ("exercise_log", "UPDATE", patient),
        ]
        log_events = [e for e in events if e["table_name"] == "exercise_log"]
        assert {e["actor_role"] for e in log_events} == {"patient"}
        assert log_events[1]["changed_fields"] == ["pain_after", "updated_at"]

    async def test_clinic_exercises_are_audited(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine
    ) -> None:
        program = await create_program(client)
        created = await client.post(
            "/api/v1/exercises",
            json={
                "name": "Ponte adaptada",
                "description": "Versão da clínica",
                "body_region": "hip",
                "category": "strengthening",
                "difficulty": "beginner",
                "default_reps": 10,
                "instructions": ["Deite", "Eleve o quadril"],
            },
            headers=program.team.admin.headers,
        )
        assert created.status_code == 201, created.text
        events = await _events(owner_engine, program, "table_name = 'exercise'")
        assert [(e["operation"], str(e["record_id"])) for e in events] == [
            ("INSERT", created.json()["id"])
        ]


class TestReads:
    async def test_staff_reads_are_access_events(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine
    ) -> None:
        program = await create_program(client)
        patient = program.team.patient_id
        await log_session(client, program, pain_after=9)
        headers = program.team.practitioner.headers
        base = f"/api/v1/patients/{patient}"
        for url in (f"{base}/prescriptions", program.url, f"{base}/adherence", "/api/v1/alerts"):
            response = await client.get(url, headers=headers)
            assert response.status_code == 200, (url, response.text)
        events = await _events(owner_engine, program, READS)
        assert [(e["table_name"], str(e["patient_id"])) for e in events] == [
            ("prescription", patient),
            ("prescription", patient),
            ("exercise_log", patient),
            ("alert", patient),
        ]
        assert events[0]["detail"] == {"ids": [program.prescription["id"]]}

    async def test_the_portal_patient_reading_their_program_and_logs(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine
    ) -> None:
        program = await create_program(client)
        logged = await log_session(client, program)
        for url in ("/api/v1/me/program", LOGS):
            response = await client.get(url, headers=program.patient)
            assert response.status_code == 200, (url, response.text)
        events = await _events(owner_engine, program, READS)
        assert [(e["table_name"], e["detail"]) for e in events] == [
            ("prescription", {"ids": [program.prescription["id"]]}),
            ("exercise_log", {"ids": [logged["id"]]}),
        ]
        assert {e["actor_role"] for e in events} == {"patient"}


class TestSecretEvents:
    async def test_the_patient_never_sees_alert_events(self, client: httpx.AsyncClient) -> None:
        program = await create_program(client)
        await log_session(client, program, pain_after=9)
        log_url = f"/api/v1/patients/{program.team.patient_id}/access-log?limit=200"
        staff_view = await client.get(log_url, headers=program.team.admin.headers)
        assert {i["entity"]["table"] for i in staff_view.json()["items"]} >= {"alert"}
        own_view = await client.get(log_url, headers=program.patient)
        assert own_view.status_code == 200, own_view.text
        tables = {i["entity"]["table"] for i in own_view.json()["items"]}
        assert "alert" not in tables
        assert "exercise_log" in tables
