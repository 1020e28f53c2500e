from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import httpx

from tests.fixtures.clinical import create_patient, create_practitioner
from tests.fixtures.identity import create_clinic, create_patient_user, create_user
from tests.fixtures.scheduling import SAO_PAULO, WEEKDAY_HOURS, at, booked, create_agenda

AVAILABILITY = "/api/v1/availability"


def _starts(body: dict[str, object], tz: ZoneInfo = SAO_PAULO) -> list[str]:
    slots = body["slots"]
    assert isinstance(slots, list)
    return [
        dt.datetime.fromisoformat(s["starts_at"]).astimezone(tz).strftime("%a %H:%M") for s in slots
    ]


class TestAvailability:
    async def test_working_hours_minus_bookings_and_time_off(
        self, client: httpx.AsyncClient
    ) -> None:
        agenda = await create_agenda(client)
        monday = agenda.monday
        await booked(client, agenda, at(monday, 9), minutes=60)
        blocked = await client.post(
            "/api/v1/time-off",
            json={
                "practitioner_id": agenda.practitioner_id,
                "kind": "blocked",
                "starts_at": at(monday, 14).isoformat(),
                "ends_at": at(monday, 16).isoformat(),
                "reason": "Reunião",
            },
            headers=agenda.admin.headers,
        )
        assert blocked.status_code == 201, blocked.text
        response = await client.get(
            AVAILABILITY,
            params={
                "practitioner_id": agenda.practitioner_id,
                "from": str(monday),
                "to": str(monday),
                "duration": 60,
            },
            headers=agenda.admin.headers,
        )
        assert response.status_code == 200, response.text
        assert _starts(response.json()) == [
            "Mon 08:00",
            "Mon 10:00",
            "Mon 11:00",
            "Mon 13:00",
            "Mon 16:00",
            "Mon 17:00",
        ]
        assert response.json()["timezone"] == "America/Sao_Paulo"

    async def test_step_and_a_clinic_holiday(self, client: httpx.AsyncClient) -> None:
        agenda = await create_agenda(client)
        tuesday = agenda.monday + dt.timedelta(days=1)
        holiday = await client.post(
            "/api/v1/time-off",
            json={
                "kind": "holiday",
                "starts_at": at(tuesday, 0).isoformat(),
                "ends_at": at(tuesday + dt.timedelta(days=1), 0).isoformat(),
                "reason": "Feriado municipal",
            },
            headers=agenda.admin.headers,
        )
        assert holiday.status_code == 201
        response = await client.get(
            AVAILABILITY,
            params={
                "practitioner_id": agenda.practitioner_id,
                "from": str(agenda.monday),
                "to": str(tuesday),
                "duration": 50,
                "step": 30,
            },
            headers=agenda.admin.headers,
        )
        starts = _starts(response.json())
        assert starts[:3] == ["Mon 08:00", "Mon 08:30", "Mon 09:00"]
        assert "Mon 11:00" in starts
        assert "Mon 11:30" not in starts  # 11:30 + 50 min > 12:00
        assert not [s for s in starts if s.startswith("Tue")]

    async def test_correct_across_daylight_saving(self, client: httpx.AsyncClient) -> None:
        admin = await create_clinic(client)
        await client.patch(
            "/api/v1/clinic", json={"timezone": "Europe/Lisbon"}, headers=admin.headers
        )
        practitioner = await create_practitioner(client, admin, working_hours=WEEKDAY_HOURS)
        lisbon = ZoneInfo("Europe/Lisbon")
        year = dt.date.today().year + 1
        last_sunday = max(
            dt.date(year, 10, d) for d in range(25, 32) if dt.date(year, 10, d).weekday() == 6
        )  # summer time ends on the last Sunday of October
        friday, monday = last_sunday - dt.timedelta(days=2), last_sunday + dt.timedelta(days=1)
        response = await client.get(
            AVAILABILITY,
            params={
                "practitioner_id": practitioner["id"],
                "from": str(friday),
                "to": str(monday),
                "duration": 60,
            },
            headers=admin.headers,
        )
        slots = response.json()["slots"]
        first_by_day = {}
        for slot in slots:
            start = dt.datetime.fromisoformat(slot["starts_at"])
            first_by_day.setdefault(start.astimezone(lisbon).date(), start)
        assert sorted(first_by_day) == [friday, monday]
        assert {s.astimezone(lisbon).strftime("%H:%M") for s in first_by_day.values()} == {"08:00"}
        assert first_by_day[friday].astimezone(dt.UTC).hour == 7
        assert first_by_day[monday].astimezone(dt.UTC).hour == 8

    async def test_bad_ranges(self, client: httpx.AsyncClient) -> None:
        agenda = await create_agenda(client)
        base = {"practitioner_id": agenda.practitioner_id, "from": str(agenda.monday)}
        for params, field in [
            ({"to": str(agenda.monday - dt.timedelta(days=1))}, "to"),
            ({"to": str(agenda.monday + dt.timedelta(days=40))}, "to"),
            ({"to": str(agenda.monday), "duration": 5}, "duration"),
        ]:
            response = await client.get(
                AVAILABILITY, params={**base, **params}, headers=agenda.admin.headers
            )
            assert response.status_code == 422, response.text
            assert response.json()["errors"][0]["field"] == field
        other = await create_clinic(client)
        foreign = await client.get(
            AVAILABILITY, params={**base, "to": str(agenda.monday)}, headers=other.headers
        )
        assert foreign.status_code == 404


class TestAgenda:
    async def test_day_and_week_views_with_patient_names(self, client: httpx.AsyncClient) -> None:
        agenda = await create_agenda(client)
        other = await create_patient(
            client, agenda.admin, full_name="Mário Quarta", social_name="Maria Quarta"
        )
        colleague = await create_practitioner(
            client, agenda.admin, full_name="Dr. Colega", working_hours=WEEKDAY_HOURS
        )
        wednesday = agenda.monday + dt.timedelta(days=2)
        late = await booked(client, agenda, at(agenda.monday, 15))
        early = await booked(client, agenda, at(agenda.monday, 8))
        await booked(client, agenda, at(wednesday, 10), patient_id=other["id"])
        await booked(
            client,
            agenda,
            at(agenda.monday, 10),
            practitioner_id=colleague["id"],
            patient_id=other["id"],
        )
        cancelled = await booked(client, agenda, at(agenda.monday, 11))
        await client.post(
            f"/api/v1/appointments/{cancelled['id']}/cancel",
            json={"reason": "x", "cancelled_by": "clinic"},
            headers=agenda.admin.headers,
        )
        day = await client.get(
            "/api/v1/agenda",
            params={"date": str(agenda.monday), "practitioner_id": agenda.practitioner_id},
            headers=agenda.admin.headers,
        )
        assert day.status_code == 200
        [monday] = day.json()["days"]
        assert [a["id"] for a in monday["appointments"]] == [early["id"], late["id"]]
        assert monday["appointments"][0]["patient_name"] == "Beatriz Agendada"
        assert monday["appointments"][0]["starts_at"].endswith("-03:00")
        week = await client.get(
            "/api/v1/agenda",
            params={"date": str(wednesday), "view": "week", "include_cancelled": "true"},
            headers=agenda.admin.headers,
        )
        days = week.json()["days"]
        assert days[0]["date"] == str(agenda.monday)
        assert len(days) == 7
        assert len(days[0]["appointments"]) == 4
        assert [a["patient_name"] for a in days[2]["appointments"]] == ["Maria Quarta"]

    async def test_roles(self, client: httpx.AsyncClient, database: object) -> None:
        agenda = await create_agenda(client)
        receptionist = await create_user(client, agenda.admin, role="receptionist")
        ok = await client.get(
            "/api/v1/agenda", params={"date": str(agenda.monday)}, headers=receptionist.headers
        )
        assert ok.status_code == 200
        patient = await create_patient_user(client, database.app_url, agenda.admin)  # type: ignore[attr-defined]
        refused = await client.get(
            "/api/v1/agenda", params={"date": str(agenda.monday)}, headers=patient.headers
        )
        assert refused.status_code == 403
        assert (
            await client.get("/api/v1/agenda", params={"date": "2027-01-01"})
        ).status_code == 401


class TestRoomsAndTimeOff:
    async def test_rooms_are_managed_by_admins(self, client: httpx.AsyncClient) -> None:
        agenda = await create_agenda(client)
        made = await client.post(
            "/api/v1/rooms", json={"name": "Sala Pilates"}, headers=agenda.admin.headers
        )
        assert made.status_code == 201
        again = await client.post(
            "/api/v1/rooms", json={"name": "Sala Pilates"}, headers=agenda.admin.headers
        )
        assert again.status_code == 409
        assert again.json()["errors"][0]["field"] == "name"
        receptionist = await create_user(client, agenda.admin, role="receptionist")
        refused = await client.post(
            "/api/v1/rooms", json={"name": "Outra"}, headers=receptionist.headers
        )
        assert refused.status_code == 403
        inactive = await client.patch(
            f"/api/v1/rooms/{made.json()['id']}",
            json={"status": "inactive"},
            headers=agenda.admin.headers,
        )
        assert inactive.json()["status"] == "inactive"
        booking = await client.post(
            "/api/v1/appointments",
            json={
                "patient_id": agenda.patient_id,
                "practitioner_id": agenda.practitioner_id,
                "room_id": made.json()["id"],
                "starts_at": at(agenda.monday, 9).isoformat(),
                "duration_minutes": 50,
            },
            headers=agenda.admin.headers,
        )
        assert booking.status_code == 422
        assert booking.json()["errors"][0]["field"] == "room_id"

    async def test_time_off_lifecycle_and_validation(self, client: httpx.AsyncClient) -> None:
        agenda = await create_agenda(client)
        body = {
            "practitioner_id": agenda.practitioner_id,
            "kind": "vacation",
            "starts_at": at(agenda.monday, 0).isoformat(),
            "ends_at": at(agenda.monday + dt.timedelta(days=14), 0).isoformat(),
        }
        made = await client.post("/api/v1/time-off", json=body, headers=agenda.admin.headers)
        assert made.status_code == 201
        listed = await client.get(
            "/api/v1/time-off",
            params={
                "from": str(agenda.monday),
                "to": str(agenda.monday + dt.timedelta(days=3)),
                "practitioner_id": agenda.practitioner_id,
            },
            headers=agenda.admin.headers,
        )
        assert [t["id"] for t in listed.json()] == [made.json()["id"]]
        backwards = await client.post(
            "/api/v1/time-off",
            json={**body, "ends_at": body["starts_at"]},
            headers=agenda.admin.headers,
        )
        assert backwards.status_code == 422
        assert backwards.json()["errors"][0]["field"] == "ends_at"
        receptionist = await create_user(client, agenda.admin, role="receptionist")
        clinic_wide = await client.post(
            "/api/v1/time-off",
            json={**body, "practitioner_id": None, "kind": "holiday"},
            headers=receptionist.headers,
        )
        assert clinic_wide.status_code == 403
        deleted = await client.delete(
            f"/api/v1/time-off/{made.json()['id']}", headers=agenda.admin.headers
        )
        assert deleted.status_code == 204
        gone = await client.delete(
            f"/api/v1/time-off/{made.json()['id']}", headers=agenda.admin.headers
        )
        assert gone.status_code == 404
