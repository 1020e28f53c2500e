"""Reminder rows follow their appointment through every writer: booking, series, group
join, move (this / following / series), cancel (this / following / series), in the same
transaction (a rolled-back booking leaves none)."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from fisioflow.auth.principal import Principal, Role, tenancy_for, trusted_tenant
from fisioflow.core.database import transaction
from fisioflow.scheduling import service
from fisioflow.scheduling.schemas import AppointmentIn
from tests.fixtures.clinical import create_patient
from tests.fixtures.scheduling import Agenda, at, booked, create_agenda
from tests.notification.helpers import reminders_of, rows

DAY = 1440
TWO_HOURS = 120


def _live(found: list[tuple[int, dt.datetime, str]]) -> list[tuple[int, dt.datetime]]:
    return [(offset, due) for offset, due, status in found if status == "scheduled"]


def _expected(starts_at: dt.datetime, *offsets: int) -> list[tuple[int, dt.datetime]]:
    return [(o, starts_at - dt.timedelta(minutes=o)) for o in offsets]


async def _series(client: httpx.AsyncClient, agenda: Agenda, count: int = 4) -> dict:  # type: ignore[type-arg]
    response = await client.post(
        "/api/v1/appointment-series",
        json={
            "patient_id": agenda.patient_id,
            "practitioner_id": agenda.practitioner_id,
            "type": "session",
            "starts_at": at(agenda.monday, 9).isoformat(),
            "duration_minutes": 50,
            "rrule": f"FREQ=WEEKLY;COUNT={count}",
        },
        headers=agenda.admin.headers,
    )
    assert response.status_code == 201, response.text
    result: dict = response.json()  # type: ignore[type-arg]
    return result


class TestBooking:
    async def test_booking_plans_a_reminder_a_day_and_two_hours_before(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine
    ) -> None:
        agenda = await create_agenda(client)
        start = at(agenda.monday, 10)
        appointment = await booked(client, agenda, start)
        found = await reminders_of(owner_engine, agenda.admin.clinic_id, appointment["id"])
        assert _live(found) == _expected(start, DAY, TWO_HOURS)

    async def test_offsets_already_past_are_skipped(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine
    ) -> None:
        agenda = await create_agenda(client)
        soon = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=3)).replace(microsecond=0)
        response = await client.post(
            "/api/v1/appointments",
            json={
                "patient_id": agenda.patient_id,
                "practitioner_id": agenda.practitioner_id,
                "starts_at": soon.isoformat(),
                "duration_minutes": 30,
            },
            headers=agenda.admin.headers,
        )
        assert response.status_code == 201, response.text
        appointment = response.json()
        found = await reminders_of(owner_engine, agenda.admin.clinic_id, appointment["id"])
        assert _live(found) == _expected(soon, TWO_HOURS)

    async def test_the_clinic_setting_decides_the_offsets(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine
    ) -> None:
        agenda = await create_agenda(client)
        response = await client.patch(
            "/api/v1/clinic",
            json={"reminder_offsets_minutes": [2880, 60, 30]},
            headers=agenda.admin.headers,
        )
        assert response.status_code == 200, response.text
        assert response.json()["reminder_offsets_minutes"] == [2880, 60, 30]
        start = at(agenda.monday, 10)
        appointment = await booked(client, agenda, start)
        found = await reminders_of(owner_engine, agenda.admin.clinic_id, appointment["id"])
        assert _live(found) == _expected(start, 2880, 60, 30)

    async def test_bad_offsets_are_refused_naming_the_field(
        self, client: httpx.AsyncClient
    ) -> None:
        agenda = await create_agenda(client)
        for bad in ([5], [60] * 6, [30000], ["x"]):
            response = await client.patch(
                "/api/v1/clinic",
                json={"reminder_offsets_minutes": bad},
                headers=agenda.admin.headers,
            )
            assert response.status_code == 422, (bad, response.text)
            assert "reminder_offsets_minutes" in response.text

    async def test_group_participants_each_get_reminders(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine
    ) -> None:
        agenda = await create_agenda(client)
        start = at(agenda.monday, 15)
        group = await booked(client, agenda, start, type="group", capacity=5)
        other = await create_patient(client, agenda.admin, full_name="Caio Grupo")
        response = await client.post(
            f"/api/v1/appointments/{group['id']}/participants",
            json={"patient_id": other["id"]},
            headers=agenda.admin.headers,
        )
        assert response.status_code == 201, response.text
        joined = response.json()
        found = await reminders_of(owner_engine, agenda.admin.clinic_id, joined["id"])
        assert _live(found) == _expected(start, DAY, TWO_HOURS)

    async def test_a_series_plans_reminders_for_every_occurrence(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine
    ) -> None:
        agenda = await create_agenda(client)
        series = await _series(client, agenda)
        for occurrence in series["appointments"]:
            found = await reminders_of(owner_engine, agenda.admin.clinic_id, occurrence["id"])
            start = dt.datetime.fromisoformat(occurrence["starts_at"])
            assert _live(found) == _expected(start, DAY, TWO_HOURS)


class TestMove:
    async def test_moving_one_replans_its_reminders(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine
    ) -> None:
        agenda = await create_agenda(client)
        appointment = await booked(client, agenda, at(agenda.monday, 10))
        new_start = at(agenda.monday + dt.timedelta(days=1), 14)
        response = await client.patch(
            f"/api/v1/appointments/{appointment['id']}",
            json={"starts_at": new_start.isoformat()},
            headers=agenda.admin.headers,
        )
        assert response.status_code == 200, response.text
        found = await reminders_of(owner_engine, agenda.admin.clinic_id, appointment["id"])
        assert _live(found) == _expected(new_start, DAY, TWO_HOURS)
        assert [s for _, _, s in found].count("cancelled") == 2

    async def test_moving_following_and_whole_series(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine
    ) -> None:
        agenda = await create_agenda(client)
        series = await _series(client, agenda)
        members = series["appointments"]
        for scope, anchor in (("following", members[2]), ("series", members[0])):
            response = await client.patch(
                f"/api/v1/appointments/{anchor['id']}",
                json={
                    "starts_at": (
                        dt.datetime.fromisoformat(anchor["starts_at"]) + dt.timedelta(hours=1)
                    ).isoformat(),
                    "scope": scope,
                },
                headers=agenda.admin.headers,
            )
            assert response.status_code == 200, response.text
        for index, member in enumerate(members):
            current = await client.get(
                f"/api/v1/appointments/{member['id']}", headers=agenda.admin.headers
            )
            start = dt.datetime.fromisoformat(current.json()["starts_at"])
            moved_hours = 2 if index >= 2 else 1
            assert start == dt.datetime.fromisoformat(member["starts_at"]) + dt.timedelta(
                hours=moved_hours
            )
            found = await reminders_of(owner_engine, agenda.admin.clinic_id, member["id"])
            assert _live(found) == _expected(start, DAY, TWO_HOURS)


class TestCancel:
    async def test_cancel_this_following_and_series(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine
    ) -> None:
        agenda = await create_agenda(client)
        members = (await _series(client, agenda, count=6))["appointments"]
        single = await booked(client, agenda, at(agenda.monday, 16))
        headers = agenda.admin.headers
        body = {"reason": "paciente viajou", "cancelled_by": "patient"}
        assert (
            await client.post(
                f"/api/v1/appointments/{single['id']}/cancel", json=body, headers=headers
            )
        ).status_code == 200
        assert (
            await client.post(
                f"/api/v1/appointments/{members[0]['id']}/cancel", json=body, headers=headers
            )
        ).status_code == 200
        following = {**body, "scope": "following"}
        assert (
            await client.post(
                f"/api/v1/appointments/{members[4]['id']}/cancel", json=following, headers=headers
            )
        ).status_code == 200
        clinic = agenda.admin.clinic_id
        for cancelled in (single, members[0], members[4], members[5]):
            assert _live(await reminders_of(owner_engine, clinic, cancelled["id"])) == []
        for kept in members[1:4]:
            assert len(_live(await reminders_of(owner_engine, clinic, kept["id"]))) == 2
        response = await client.post(
            f"/api/v1/appointment-series/{members[0]['series_id']}/cancel",
            json=body,
            headers=headers,
        )
        assert response.status_code == 200, response.text
        for member in members:
            assert _live(await reminders_of(owner_engine, clinic, member["id"])) == []


class TestRollback:
    async def test_a_booking_rolled_back_after_its_job_was_queued_leaves_nothing(
        self,
        client: httpx.AsyncClient,
        owner_engine: AsyncEngine,
        app_sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        agenda = await create_agenda(client)
        patient = await create_patient(
            client, agenda.admin, full_name="Maria Lembrete", email="maria@example.com"
        )
        principal = Principal(
            tenant_id=trusted_tenant(agenda.admin.clinic_id),
            user_id=agenda.admin.user_id,
            role=Role.ADMIN,
        )
        body = AppointmentIn.model_validate(
            {
                "patient_id": patient["id"],
                "practitioner_id": agenda.practitioner_id,
                "starts_at": at(agenda.monday, 11).isoformat(),
                "duration_minutes": 50,
            }
        )

        async def book_then_fail() -> None:
            async with transaction(app_sessionmaker, tenancy_for(principal)) as session:
                await service.book(session, principal, body)
                inside = await session.execute(
                    text(
                        "select (select count(*) from reminder),"
                        " (select count(*) from notification),"
                        " (select count(*) from procrastinate_jobs"
                        "  where task_name = 'notification.deliver')"
                    )
                )
                assert tuple(inside.one()) == (2, 1, 1)
                raise LookupError("the request failed after the enqueue")

        with pytest.raises(LookupError):
            await book_then_fail()
        clinic = agenda.admin.clinic_id
        for table in ("appointment", "reminder", "notification"):
            assert await rows(owner_engine, clinic, f"select 1 from {table}") == []
        assert await rows(owner_engine, clinic, "select 1 from procrastinate_jobs") == []
