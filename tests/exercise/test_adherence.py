"""Adherence (done vs due, per item, per week) and the pain trend."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import httpx
import pytest

from fisioflow.core.database import DatabaseLocation
from tests.fixtures.exercise import SQUAT, create_program, days_ago, item, log_session
from tests.fixtures.identity import create_clinic, create_patient_user, create_user
from tests.fixtures.records import practitioner_user

TODAY = dt.datetime.now(ZoneInfo("America/Sao_Paulo")).date()


def _url(patient_id: str) -> str:
    return f"/api/v1/patients/{patient_id}/adherence"


class TestAdherence:
    async def test_done_vs_due_per_item_week_and_pain_trend(
        self, client: httpx.AsyncClient
    ) -> None:
        start = TODAY - dt.timedelta(days=9)
        program = await create_program(
            client,
            item(start_on=start.isoformat()),  # daily, once
            item(
                SQUAT,
                start_on=start.isoformat(),
                days_of_week=[TODAY.isoweekday()],
                times_per_day=2,
            ),
        )
        bridge = program.version_id
        squat = program.prescription["items"][1]["current"]["id"]
        for days, before, after in (
            (9, 2, 4),
            (8, 4, 6),
            (5, 3, 3),
            (3, 3, 3),
            (1, 5, 5),
            (0, 1, 1),
        ):
            await log_session(
                client,
                program,
                performed_at=days_ago(days, hour=0 if days == 0 else 8),  # never in the future
                pain_before=before,
                pain_after=after,
            )
        await log_session(
            client, program, performed_at=days_ago(1, hour=18), pain_before=1, pain_after=1
        )
        await log_session(client, program, item_version_id=squat, performed_at=days_ago(7, hour=9))
        response = await client.get(
            _url(program.team.patient_id),
            params={"from": start.isoformat(), "to": TODAY.isoformat()},
            headers=program.team.practitioner.headers,
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["from"], body["to"]) == (start.isoformat(), TODAY.isoformat())
        by_item = {i["exercise_name"]: i for i in body["items"]}
        daily = by_item["Ponte de glúteo"]
        assert (daily["due"], daily["done"], daily["logged"]) == (10, 6, 7)
        assert daily["adherence"] == 0.6
        squats = by_item["Mini agachamento"]
        assert (squats["due"], squats["done"], squats["logged"]) == (4, 1, 1)  # 2 days x 2
        assert body["overall"]["due"] == daily["due"] + squats["due"]
        assert (body["overall"]["done"], body["overall"]["logged"]) == (7, 8)
        assert sum(w["due"] for w in body["weeks"]) == body["overall"]["due"]
        assert sum(w["done"] for w in daily["weeks"]) == 6
        assert all(dt.date.fromisoformat(w["week_start"]).weekday() == 0 for w in body["weeks"])
        pain = {p["date"]: p for p in body["pain"]}
        yesterday = pain[(TODAY - dt.timedelta(days=1)).isoformat()]
        assert (yesterday["sessions"], yesterday["pain_before"], yesterday["pain_after"]) == (
            2,
            3.0,
            3.0,
        )
        assert pain[start.isoformat()]["pain_after"] == 4.0
        assert bridge != squat

    async def test_extra_sessions_do_not_inflate_adherence(self, client: httpx.AsyncClient) -> None:
        yesterday = TODAY - dt.timedelta(days=1)
        program = await create_program(client, item(start_on=yesterday.isoformat()))
        for hour in (7, 8, 9):
            await log_session(client, program, performed_at=days_ago(1, hour=hour))
        body = (
            await client.get(
                _url(program.team.patient_id),
                params={"from": yesterday.isoformat(), "to": yesterday.isoformat()},
                headers=program.team.admin.headers,
            )
        ).json()
        assert (body["overall"]["due"], body["overall"]["done"], body["overall"]["logged"]) == (
            1,
            1,
            3,
        )
        assert body["overall"]["adherence"] == 1.0

    async def test_nothing_due_gives_null_adherence(self, client: httpx.AsyncClient) -> None:
        program = await create_program(
            client, item(start_on=(TODAY + dt.timedelta(days=3)).isoformat())
        )
        body = (
            await client.get(_url(program.team.patient_id), headers=program.team.admin.headers)
        ).json()
        assert body["overall"] == {"due": 0, "done": 0, "logged": 0, "adherence": None}

    @pytest.mark.parametrize(
        "params",
        [
            {"from": "2026-11-10", "to": "2026-11-01"},
            {"from": "2020-01-01", "to": "2026-11-01"},
            {"from": "ontem"},
        ],
    )
    async def test_bad_range_is_named(
        self, client: httpx.AsyncClient, params: dict[str, str]
    ) -> None:
        program = await create_program(client)
        response = await client.get(
            _url(program.team.patient_id), params=params, headers=program.team.admin.headers
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "from"


class TestAccess:
    async def test_only_the_care_team(
        self, client: httpx.AsyncClient, database: DatabaseLocation
    ) -> None:
        program = await create_program(client)
        url = _url(program.team.patient_id)
        assert (await client.get(url)).status_code == 401
        receptionist = await create_user(client, program.team.admin, role="receptionist")
        other_practitioner, _ = await practitioner_user(client, program.team.admin)
        outsider = await create_clinic(client)
        stranger = await create_patient_user(client, database.app_url, program.team.admin)
        for headers in (
            receptionist.headers,
            other_practitioner.headers,
            outsider.headers,
            stranger.headers,
            program.patient,
        ):
            assert (await client.get(url, headers=headers)).status_code == 404
        for headers in (program.team.admin.headers, program.team.practitioner.headers):
            assert (await client.get(url, headers=headers)).status_code == 200
