"""Many requests for one slot at once, against the real database: exactly one wins."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fixtures.clinical import create_patient, create_practitioner
from tests.fixtures.scheduling import WEEKDAY_HOURS, at, book, booked, create_agenda

BURST = 50


async def _live_rows(owner_engine: AsyncEngine, clinic_id: uuid.UUID) -> int:
    async with owner_engine.connect() as conn:
        await conn.execute(
            text("select set_config('app.tenant_id', :t, false)"), {"t": str(clinic_id)}
        )
        count = await conn.scalar(text("select count(*) from appointment"))
        return int(count or 0)


class TestBurst:
    async def test_fifty_bookings_of_one_practitioner_slot(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine
    ) -> None:
        agenda = await create_agenda(client)
        patients = [
            await create_patient(client, agenda.admin, full_name=f"Paciente Corrida {n}")
            for n in range(BURST)
        ]
        responses = await asyncio.gather(
            *(
                book(
                    client,
                    agenda.admin,
                    patient_id=p["id"],
                    practitioner_id=agenda.practitioner_id,
                    starts_at=at(agenda.monday, 9),
                )
                for p in patients
            )
        )
        assert Counter(r.status_code for r in responses) == {201: 1, 409: BURST - 1}
        winner = next(r.json()["id"] for r in responses if r.status_code == 201)
        assert all(
            r.json()["conflicts"][0]["appointment_id"] == winner
            for r in responses
            if r.status_code == 409
        )
        assert await _live_rows(owner_engine, agenda.admin.clinic_id) == 1

    async def test_fifty_bookings_of_one_patient_with_different_practitioners(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine
    ) -> None:
        agenda = await create_agenda(client)
        practitioners = [
            await create_practitioner(client, agenda.admin, working_hours=WEEKDAY_HOURS)
            for _ in range(BURST)
        ]
        responses = await asyncio.gather(
            *(
                book(
                    client,
                    agenda.admin,
                    patient_id=agenda.patient_id,
                    practitioner_id=p["id"],
                    starts_at=at(agenda.monday, 10, 10 * (n % 3)),
                )
                for n, p in enumerate(practitioners)
            )
        )
        assert Counter(r.status_code for r in responses) == {201: 1, 409: BURST - 1}
        assert all(
            r.json()["conflicts"][0]["resource"] == "patient"
            for r in responses
            if r.status_code == 409
        )
        assert await _live_rows(owner_engine, agenda.admin.clinic_id) == 1

    async def test_fifty_overlapping_series(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine
    ) -> None:
        agenda = await create_agenda(client)
        patients = [
            await create_patient(client, agenda.admin, full_name=f"Paciente Série {n}")
            for n in range(BURST)
        ]
        responses = await asyncio.gather(
            *(
                client.post(
                    "/api/v1/appointment-series",
                    json={
                        "patient_id": p["id"],
                        "practitioner_id": agenda.practitioner_id,
                        # every series shares the second occurrence's slot at least
                        "starts_at": at(agenda.monday, 8, 30 * (n % 2)).isoformat(),
                        "duration_minutes": 50,
                        "rrule": "FREQ=WEEKLY;BYDAY=MO,TH;COUNT=6",
                    },
                    headers=agenda.admin.headers,
                )
                for n, p in enumerate(patients)
            )
        )
        assert Counter(r.status_code for r in responses) == {201: 1, 409: BURST - 1}
        assert {r.json()["code"] for r in responses if r.status_code == 409} == {"series_conflict"}
        assert await _live_rows(owner_engine, agenda.admin.clinic_id) == 6

    async def test_twenty_patients_joining_a_group_of_five(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine
    ) -> None:
        agenda = await create_agenda(client)
        group = await booked(
            client, agenda, at(agenda.monday, 9), type="group", capacity=5, minutes=60
        )
        patients = [
            await create_patient(client, agenda.admin, full_name=f"Paciente Grupo {n}")
            for n in range(20)
        ]
        responses = await asyncio.gather(
            *(
                client.post(
                    f"/api/v1/appointments/{group['id']}/participants",
                    json={"patient_id": p["id"]},
                    headers=agenda.admin.headers,
                )
                for p in patients
            )
        )
        assert Counter(r.status_code for r in responses) == {201: 4, 409: 16}
        assert {r.json()["code"] for r in responses if r.status_code == 409} == {"group_full"}
        assert await _live_rows(owner_engine, agenda.admin.clinic_id) == 5
