from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fixtures.clinical import create_patient
from tests.fixtures.scheduling import Agenda, at, booked, create_agenda

SERIES = "/api/v1/appointment-series"
APPOINTMENTS = "/api/v1/appointments"


async def _series(
    client: httpx.AsyncClient, agenda: Agenda, *, rrule: str, start: dt.datetime, **extra: Any
) -> httpx.Response:
    return await client.post(
        SERIES,
        json={
            "patient_id": agenda.patient_id,
            "practitioner_id": agenda.practitioner_id,
            "starts_at": start.isoformat(),
            "duration_minutes": 50,
            "rrule": rrule,
            **extra,
        },
        headers=agenda.admin.headers,
    )


def _local(value: str, tz: ZoneInfo) -> dt.datetime:
    return dt.datetime.fromisoformat(value).astimezone(tz)


class TestCreate:
    async def test_twice_a_week_for_ten_sessions(self, client: httpx.AsyncClient) -> None:
        agenda = await create_agenda(client)
        response = await _series(
            client, agenda, rrule="FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10", start=at(agenda.monday, 9)
        )
        assert response.status_code == 201, response.text
        body = response.json()
        starts = [
            _local(a["starts_at"], ZoneInfo("America/Sao_Paulo")) for a in body["appointments"]
        ]
        assert len(starts) == 10
        assert {s.strftime("%a %H:%M") for s in starts} == {"Mon 09:00", "Wed 09:00"}
        assert {a["series_id"] for a in body["appointments"]} == {body["id"]}
        assert body["skipped"] == []
        again = await client.get(f"{SERIES}/{body['id']}", headers=agenda.admin.headers)
        assert [a["id"] for a in again.json()["appointments"]] == [
            a["id"] for a in body["appointments"]
        ]

    async def test_conflicts_list_every_date_and_nothing_is_booked(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine
    ) -> None:
        agenda = await create_agenda(client)
        other = await create_patient(client, agenda.admin, full_name="Joana Antes")
        blockers = [
            await booked(
                client,
                agenda,
                at(agenda.monday + dt.timedelta(days=d), 9, 30),
                patient_id=other["id"],
            )
            for d in (2, 14)
        ]
        response = await _series(
            client, agenda, rrule="FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10", start=at(agenda.monday, 9)
        )
        assert response.status_code == 409
        body = response.json()
        assert body["code"] == "series_conflict"
        assert [c["conflicts"][0]["appointment_id"] for c in body["conflicts"]] == [
            b["id"] for b in blockers
        ]
        async with owner_engine.connect() as conn:
            await conn.execute(
                text("select set_config('app.tenant_id', :t, false)"),
                {"t": str(agenda.admin.clinic_id)},
            )
            assert await conn.scalar(text("select count(*) from appointment")) == 2
            assert await conn.scalar(text("select count(*) from appointment_series")) == 0

    async def test_skip_conflicts_books_the_free_ones(self, client: httpx.AsyncClient) -> None:
        agenda = await create_agenda(client)
        other = await create_patient(client, agenda.admin, full_name="Kátia Antes")
        await booked(
            client, agenda, at(agenda.monday + dt.timedelta(days=7), 9), patient_id=other["id"]
        )
        response = await _series(
            client,
            agenda,
            rrule="FREQ=WEEKLY;COUNT=4",
            start=at(agenda.monday, 9),
            skip_conflicts=True,
        )
        assert response.status_code == 201
        assert len(response.json()["appointments"]) == 3
        [skipped] = response.json()["skipped"]
        assert dt.datetime.fromisoformat(skipped["starts_at"]) == at(
            agenda.monday + dt.timedelta(days=7), 9
        )

    @pytest.mark.parametrize(
        ("rrule", "field"),
        [
            ("FREQ=WEEKLY;BYDAY=MO", "rrule"),
            ("FREQ=DAILY;COUNT=201", "rrule"),
            ("FREQ=DAILY;UNTIL=20990101", "rrule"),
            ("FREQ=FORTNIGHTLY;COUNT=3", "rrule"),
            ("DTSTART:20270101T090000\nRRULE:FREQ=DAILY;COUNT=2", "rrule"),
            ("FREQ=MINUTELY;INTERVAL=30;COUNT=3", "rrule"),
        ],
    )
    async def test_unbounded_huge_or_invalid_rules(
        self, client: httpx.AsyncClient, rrule: str, field: str
    ) -> None:
        agenda = await create_agenda(client)
        response = await _series(client, agenda, rrule=rrule, start=at(agenda.monday, 9))
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == field

    async def test_group_series_and_past_starts_are_refused(
        self, client: httpx.AsyncClient
    ) -> None:
        agenda = await create_agenda(client)
        group = await _series(
            client, agenda, rrule="FREQ=DAILY;COUNT=2", start=at(agenda.monday, 9), type="group"
        )
        assert group.status_code == 422
        past = await _series(
            client,
            agenda,
            rrule="FREQ=DAILY;COUNT=2",
            start=dt.datetime.now(dt.UTC) - dt.timedelta(days=1),
        )
        assert past.status_code == 422
        assert past.json()["errors"][0]["field"] == "starts_at"

    async def test_wall_clock_is_kept_across_daylight_saving(
        self, client: httpx.AsyncClient
    ) -> None:
        agenda = await create_agenda(client)
        patched = await client.patch(
            "/api/v1/clinic", json={"timezone": "America/New_York"}, headers=agenda.admin.headers
        )
        assert patched.status_code == 200, patched.text
        tz = ZoneInfo("America/New_York")
        year = dt.date.today().year + 1
        start = dt.datetime(
            year, 10, 20, 9, 0, tzinfo=tz
        )  # DST ends on the first Sunday of November
        response = await _series(client, agenda, rrule="FREQ=WEEKLY;COUNT=4", start=start)
        assert response.status_code == 201, response.text
        starts = [
            dt.datetime.fromisoformat(a["starts_at"]) for a in response.json()["appointments"]
        ]
        assert {s.astimezone(tz).strftime("%H:%M") for s in starts} == {"09:00"}
        assert len({s.astimezone(dt.UTC).hour for s in starts}) == 2


class TestOccurrences:
    async def _made(self, client: httpx.AsyncClient) -> tuple[Agenda, list[dict[str, Any]]]:
        agenda = await create_agenda(client)
        response = await _series(
            client, agenda, rrule="FREQ=WEEKLY;COUNT=6", start=at(agenda.monday, 9)
        )
        assert response.status_code == 201
        return agenda, response.json()["appointments"]

    async def _statuses(
        self, client: httpx.AsyncClient, agenda: Agenda, series_id: str
    ) -> list[tuple[str, str]]:
        body = (await client.get(f"{SERIES}/{series_id}", headers=agenda.admin.headers)).json()
        return [(a["id"], a["status"]) for a in body["appointments"]]

    async def test_cancel_one_this_and_following_and_the_rest(
        self, client: httpx.AsyncClient
    ) -> None:
        agenda, made = await self._made(client)
        ids = [a["id"] for a in made]
        series_id = made[0]["series_id"]
        cancel = {"reason": "Férias", "cancelled_by": "patient"}
        one = await client.post(
            f"{APPOINTMENTS}/{ids[1]}/cancel", json=cancel, headers=agenda.admin.headers
        )
        assert one.status_code == 200
        assert [s for _, s in await self._statuses(client, agenda, series_id)] == [
            "scheduled",
            "cancelled",
            "scheduled",
            "scheduled",
            "scheduled",
            "scheduled",
        ]
        following = await client.post(
            f"{APPOINTMENTS}/{ids[4]}/cancel",
            json={**cancel, "scope": "following"},
            headers=agenda.admin.headers,
        )
        assert following.status_code == 200
        assert [s for _, s in await self._statuses(client, agenda, series_id)] == [
            "scheduled",
            "cancelled",
            "scheduled",
            "scheduled",
            "cancelled",
            "cancelled",
        ]
        rest = await client.post(
            f"{SERIES}/{series_id}/cancel",
            json={"reason": "Alta", "cancelled_by": "clinic"},
            headers=agenda.admin.headers,
        )
        assert rest.status_code == 200
        assert [a["status"] for a in rest.json()["appointments"]] == ["cancelled"] * 6
        assert [a["id"] for a in rest.json()["appointments"]] == ids

    async def test_move_this_and_following_keeps_every_occurrence_once(
        self, client: httpx.AsyncClient
    ) -> None:
        agenda, made = await self._made(client)
        ids = [a["id"] for a in made]
        # a week later: onto the next occurrence's current slot, which moves away in the
        # same statement (the exclusion constraints are checked when it ends)
        moved = await client.patch(
            f"{APPOINTMENTS}/{ids[2]}",
            json={
                "starts_at": at(agenda.monday + dt.timedelta(days=14 + 7), 9).isoformat(),
                "scope": "following",
            },
            headers=agenda.admin.headers,
        )
        assert moved.status_code == 200, moved.text
        body = (
            await client.get(f"{SERIES}/{made[0]['series_id']}", headers=agenda.admin.headers)
        ).json()
        assert [a["id"] for a in body["appointments"]] == ids
        tz = ZoneInfo("America/Sao_Paulo")
        starts = [_local(a["starts_at"], tz) for a in body["appointments"]]
        assert [s.date() - agenda.monday for s in starts] == [
            dt.timedelta(days=d) for d in (0, 7, 21, 28, 35, 42)
        ]
        assert {s.strftime("%H:%M") for s in starts} == {"09:00"}

    async def test_moving_the_series_into_a_taken_slot_moves_nothing(
        self, client: httpx.AsyncClient
    ) -> None:
        agenda, made = await self._made(client)
        other = await create_patient(client, agenda.admin, full_name="Lia Ocupando")
        await booked(
            client, agenda, at(agenda.monday + dt.timedelta(days=28), 11), patient_id=other["id"]
        )
        response = await client.patch(
            f"{APPOINTMENTS}/{made[0]['id']}",
            json={"starts_at": at(agenda.monday, 11).isoformat(), "scope": "series"},
            headers=agenda.admin.headers,
        )
        assert response.status_code == 409
        assert [c["moving"] for c in response.json()["conflicts"]] == [made[4]["id"]]
        body = (
            await client.get(f"{SERIES}/{made[0]['series_id']}", headers=agenda.admin.headers)
        ).json()
        assert [a["starts_at"] for a in body["appointments"]] == [a["starts_at"] for a in made]

    async def test_scope_needs_a_series(self, client: httpx.AsyncClient) -> None:
        agenda = await create_agenda(client)
        single = await booked(client, agenda, at(agenda.monday, 9))
        response = await client.patch(
            f"{APPOINTMENTS}/{single['id']}",
            json={"notes": "x", "scope": "following"},
            headers=agenda.admin.headers,
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "scope"

    async def test_other_clinic_cannot_see_a_series(self, client: httpx.AsyncClient) -> None:
        agenda, made = await self._made(client)
        other = await create_agenda(client)
        response = await client.get(f"{SERIES}/{made[0]['series_id']}", headers=other.admin.headers)
        assert response.status_code == 404
        assert (
            await client.get(f"{SERIES}/{uuid.uuid4()}", headers=agenda.admin.headers)
        ).status_code == 404
