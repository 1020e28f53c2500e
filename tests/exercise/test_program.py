"""The patient's program for a day, computed in the clinic's timezone."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import httpx

from tests.fixtures.exercise import SQUAT, create_program, days_ago, item, log_session
from tests.fixtures.records import create_team

PROGRAM = "/api/v1/me/program"


def _today(tz: str) -> dt.date:
    return dt.datetime.now(ZoneInfo(tz)).date()


async def _set_timezone(client: httpx.AsyncClient, headers: dict[str, str], tz: str) -> None:
    response = await client.patch("/api/v1/clinic", json={"timezone": tz}, headers=headers)
    assert response.status_code == 200, response.text


class TestProgram:
    async def test_due_today_and_done_count(self, client: httpx.AsyncClient) -> None:
        program = await create_program(client, item(times_per_day=2), item(SQUAT, sets=2))
        today = await client.get(PROGRAM, headers=program.patient)
        assert today.status_code == 200
        body = today.json()
        assert body["date"] == _today("America/Sao_Paulo").isoformat()
        assert body["timezone"] == "America/Sao_Paulo"
        first, second = body["items"]
        assert first["exercise"]["name"] == "Ponte de glúteo"
        assert first["item_version_id"] == program.version_id
        assert (first["times_per_day"], first["done"], first["remaining"]) == (2, 0, 2)
        assert second["sets"] == 2
        await log_session(client, program)
        after = (await client.get(PROGRAM, headers=program.patient)).json()["items"][0]
        assert (after["done"], after["remaining"]) == (1, 1)

    async def test_only_due_weekdays_and_dates(self, client: httpx.AsyncClient) -> None:
        today = _today("America/Sao_Paulo")
        other_days = [d for d in range(1, 8) if d != today.isoweekday()]
        program = await create_program(
            client,
            item(days_of_week=other_days),
            item(SQUAT, start_on=(today + dt.timedelta(days=1)).isoformat()),
        )
        assert (await client.get(PROGRAM, headers=program.patient)).json()["items"] == []
        tomorrow = today + dt.timedelta(days=1)
        later = await client.get(
            PROGRAM, params={"date": tomorrow.isoformat()}, headers=program.patient
        )
        assert len(later.json()["items"]) == 2

    async def test_paused_and_cancelled_are_not_due(self, client: httpx.AsyncClient) -> None:
        program = await create_program(client)
        headers = program.team.practitioner.headers
        await client.post(f"{program.url}/pause", headers=headers)
        assert (await client.get(PROGRAM, headers=program.patient)).json()["items"] == []
        await client.post(f"{program.url}/resume", headers=headers)
        assert len((await client.get(PROGRAM, headers=program.patient)).json()["items"]) == 1
        await client.post(f"{program.url}/cancel", headers=headers)
        assert (await client.get(PROGRAM, headers=program.patient)).json()["items"] == []

    async def test_new_version_is_what_is_due(self, client: httpx.AsyncClient) -> None:
        program = await create_program(client)
        changed = await client.patch(
            f"{program.url}/items/{program.prescription['items'][0]['id']}",
            json={"reps": 20},
            headers=program.team.practitioner.headers,
        )
        new = changed.json()["items"][0]["current"]["id"]
        due = (await client.get(PROGRAM, headers=program.patient)).json()["items"][0]
        assert due["item_version_id"] == new
        assert due["reps"] == 20
        assert due["version"] == 2

    async def test_bad_date_is_named(self, client: httpx.AsyncClient) -> None:
        program = await create_program(client)
        response = await client.get(PROGRAM, params={"date": "2026-02-30"}, headers=program.patient)
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "date"


class TestClinicTimezone:
    async def test_today_is_the_clinics_today(self, client: httpx.AsyncClient) -> None:
        # UTC+14 and UTC-11: their calendar dates always differ.
        for tz in ("Pacific/Kiritimati", "Pacific/Pago_Pago"):
            team = await create_team(client)
            await _set_timezone(client, team.admin.headers, tz)
            weekday = _today(tz).isoweekday()
            program = await create_program(client, item(days_of_week=[weekday]), team=team)
            body = (await client.get(PROGRAM, headers=program.patient)).json()
            assert body["date"] == _today(tz).isoformat()
            assert body["timezone"] == tz
            assert len(body["items"]) == 1, tz
            await _set_timezone(
                client,
                team.admin.headers,
                "Pacific/Pago_Pago" if tz == "Pacific/Kiritimati" else "Pacific/Kiritimati",
            )
            assert (await client.get(PROGRAM, headers=program.patient)).json()["items"] == []

    async def test_late_evening_session_counts_on_the_local_day(
        self, client: httpx.AsyncClient
    ) -> None:
        program = await create_program(client)
        # 23:30 in São Paulo is 02:30 UTC of the next day.
        await log_session(
            client, program, performed_at=days_ago(2, hour=23).replace(":00:00", ":30:00")
        )
        local = _today("America/Sao_Paulo") - dt.timedelta(days=2)
        that_day = await client.get(
            PROGRAM, params={"date": local.isoformat()}, headers=program.patient
        )
        assert that_day.json()["items"][0]["done"] == 1
        next_day = await client.get(
            PROGRAM,
            params={"date": (local + dt.timedelta(days=1)).isoformat()},
            headers=program.patient,
        )
        assert next_day.json()["items"][0]["done"] == 0
