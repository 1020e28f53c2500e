"""Alerts: pain at log time, missed sessions from the periodic job, the care team's list."""

from __future__ import annotations

import contextlib
import datetime as dt

import httpx
import pytest
from procrastinate.exceptions import AlreadyEnqueued
from sqlalchemy.ext.asyncio import AsyncEngine

from fisioflow.core.database import DatabaseLocation, create_sessionmaker
from fisioflow.core.jobs import job_app, worker_options
from fisioflow.settings import Settings
from tests.fixtures.exercise import Program, create_program, days_ago, item, log_session
from tests.fixtures.identity import create_clinic, create_patient_user, create_user
from tests.fixtures.records import create_team, practitioner_user

ALERTS = "/api/v1/alerts"


async def _alerts(client: httpx.AsyncClient, program: Program, **params: str) -> list[dict]:  # type: ignore[type-arg]
    response = await client.get(ALERTS, params=params, headers=program.team.practitioner.headers)
    assert response.status_code == 200, response.text
    items: list[dict] = response.json()["items"]  # type: ignore[type-arg]
    return items


class TestPainAlerts:
    async def test_high_pain_after_a_session(self, client: httpx.AsyncClient) -> None:
        program = await create_program(client)
        await log_session(client, program, pain_before=5, pain_after=6)
        assert await _alerts(client, program) == []
        logged = await log_session(client, program, pain_before=5, pain_after=7)
        [alert] = await _alerts(client, program)
        assert alert["kind"] == "pain_high"
        assert alert["status"] == "open"
        assert alert["patient_id"] == program.team.patient_id
        assert alert["patient_name"] == "Marta Paciente"
        assert alert["practitioner_id"] == program.team.practitioner_id
        assert alert["details"]["exercise_log_id"] == logged["id"]
        assert alert["details"]["pain_after"] == 7

    async def test_pain_rising_by_three_within_a_week(self, client: httpx.AsyncClient) -> None:
        program = await create_program(client)
        await log_session(client, program, performed_at=days_ago(9), pain_before=2, pain_after=1)
        await log_session(client, program, performed_at=days_ago(6), pain_before=2, pain_after=1)
        await log_session(client, program, performed_at=days_ago(4), pain_before=3, pain_after=2)
        await log_session(client, program, performed_at=days_ago(2), pain_before=4, pain_after=3)
        assert await _alerts(client, program) == []  # +2 from the week's lowest day
        await log_session(client, program, performed_at=days_ago(1), pain_before=5, pain_after=3)
        await log_session(
            client, program, performed_at=days_ago(1, hour=18), pain_before=6, pain_after=4
        )
        [alert] = await _alerts(client, program)
        assert alert["kind"] == "pain_rising"
        assert alert["details"]["measure"] == "before"
        assert alert["details"]["baseline"] == 2.0
        assert alert["details"]["pain"] == 5

    async def test_correction_to_high_pain_raises_it(self, client: httpx.AsyncClient) -> None:
        program = await create_program(client)
        logged = await log_session(client, program, pain_after=2)
        fixed = await client.patch(
            f"/api/v1/me/exercise-logs/{logged['id']}",
            json={"pain_after": 9},
            headers=program.patient,
        )
        assert fixed.status_code == 200
        assert [a["kind"] for a in await _alerts(client, program)] == ["pain_high"]


async def _run_jobs(
    database: DatabaseLocation, app_engine: AsyncEngine, settings: Settings
) -> None:
    """Defer the job and run a worker until the queue is empty (the worker's periodic
    deferrer may have queued the same job already: one queued job is enough)."""
    jobs = job_app(database)
    async with jobs.open_async():
        with contextlib.suppress(AlreadyEnqueued):
            await jobs.configure_task("exercise.detect_missed_sessions").defer_async(timestamp=0)
        options = worker_options(
            create_sessionmaker(app_engine), location=database, settings=settings, until_empty=True
        )
        await jobs.run_worker_async(**options)


class TestMissedSessions:
    async def test_three_due_days_without_a_session(
        self,
        client: httpx.AsyncClient,
        database: DatabaseLocation,
        app_engine: AsyncEngine,
        settings: Settings,
    ) -> None:
        today = dt.date.today()
        start = (today - dt.timedelta(days=12)).isoformat()
        lapsed = await create_program(client, item(start_on=start))
        await log_session(client, lapsed, performed_at=days_ago(5))
        team = await create_team(client, lapsed.team.admin)
        keeping_up = await create_program(client, item(start_on=start), team=team)
        await log_session(client, keeping_up, performed_at=days_ago(1))
        weekly = await create_program(
            client,
            item(start_on=start, days_of_week=[(today - dt.timedelta(days=3)).isoweekday()]),
            team=await create_team(client, lapsed.team.admin),
        )
        await log_session(client, weekly, performed_at=days_ago(3))
        await _run_jobs(database, app_engine, settings)
        await _run_jobs(
            database, app_engine, settings
        )  # hourly: no second alert for the same streak
        admin = lapsed.team.admin.headers
        found = (await client.get(ALERTS, params={"kind": "missed_sessions"}, headers=admin)).json()
        [alert] = found["items"]
        assert alert["patient_id"] == lapsed.team.patient_id
        assert alert["details"]["prescription_id"] == lapsed.prescription["id"]
        assert len(alert["details"]["missed_days"]) >= 3
        assert alert["details"]["last_logged_on"] is not None

    async def test_paused_prescriptions_owe_nothing(
        self,
        client: httpx.AsyncClient,
        database: DatabaseLocation,
        app_engine: AsyncEngine,
        settings: Settings,
    ) -> None:
        program = await create_program(client)
        await client.post(f"{program.url}/pause", headers=program.team.practitioner.headers)
        await _run_jobs(database, app_engine, settings)
        assert await _alerts(client, program) == []


class TestAlertList:
    async def test_acknowledge_then_resolve(self, client: httpx.AsyncClient) -> None:
        program = await create_program(client)
        await log_session(client, program, pain_after=8)
        [alert] = await _alerts(client, program)
        headers = program.team.practitioner.headers
        acked = await client.post(f"{ALERTS}/{alert['id']}/acknowledge", headers=headers)
        assert acked.status_code == 200
        assert acked.json()["status"] == "acknowledged"
        assert acked.json()["acknowledged_by"] == str(program.team.practitioner.user_id)
        again = await client.post(f"{ALERTS}/{alert['id']}/acknowledge", headers=headers)
        assert again.status_code == 409
        assert again.json()["code"] == "invalid_transition"
        resolved = await client.post(
            f"{ALERTS}/{alert['id']}/resolve", headers=program.team.admin.headers
        )
        assert resolved.json()["status"] == "resolved"
        assert resolved.json()["resolved_at"]
        assert await _alerts(client, program, status="open") == []
        assert len(await _alerts(client, program, status="resolved")) == 1

    async def test_filters(self, client: httpx.AsyncClient) -> None:
        program = await create_program(client)
        other = await create_program(client, team=await create_team(client, program.team.admin))
        await log_session(client, program, pain_after=9)
        await log_session(client, other, pain_after=9)
        admin = program.team.admin.headers
        everything = (await client.get(ALERTS, headers=admin)).json()["items"]
        assert len(everything) == 2
        mine = await client.get(
            ALERTS, params={"patient_id": program.team.patient_id}, headers=admin
        )
        assert [a["patient_id"] for a in mine.json()["items"]] == [program.team.patient_id]
        assert (await client.get(ALERTS, params={"kind": "sos"}, headers=admin)).json()[
            "items"
        ] == []
        bad = await client.get(ALERTS, params={"status": "closed"}, headers=admin)
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["field"] == "status"

    async def test_practitioners_see_their_own_patients_only(
        self, client: httpx.AsyncClient
    ) -> None:
        program = await create_program(client)
        await log_session(client, program, pain_after=9)
        colleague, _ = await practitioner_user(client, program.team.admin)
        assert (await client.get(ALERTS, headers=colleague.headers)).json()["items"] == []
        [alert] = await _alerts(client, program)
        response = await client.post(f"{ALERTS}/{alert['id']}/resolve", headers=colleague.headers)
        assert response.status_code == 404

    @pytest.mark.parametrize("action", ["acknowledge", "resolve"])
    async def test_access(
        self, client: httpx.AsyncClient, database: DatabaseLocation, action: str
    ) -> None:
        program = await create_program(client)
        await log_session(client, program, pain_after=9)
        [alert] = await _alerts(client, program)
        url = f"{ALERTS}/{alert['id']}/{action}"
        assert (await client.get(ALERTS)).status_code == 401
        assert (await client.post(url)).status_code == 401
        receptionist = await create_user(client, program.team.admin, role="receptionist")
        stranger = await create_patient_user(client, database.app_url, program.team.admin)
        for headers in (receptionist.headers, program.patient, stranger.headers):
            assert (await client.get(ALERTS, headers=headers)).status_code == 403
            assert (await client.post(url, headers=headers)).status_code == 404
        outsider = await create_clinic(client)
        assert (await client.get(ALERTS, headers=outsider.headers)).json()["items"] == []
        assert (await client.post(url, headers=outsider.headers)).status_code == 404
        [still] = await _alerts(client, program)
        assert still["status"] == "open"
