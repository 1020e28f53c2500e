"""The reminder's one-click link `/r/{token}`: confirm or cancel without logging in,
once, until the appointment starts, only for the time the reminder announced. Anything
else shows a clear page and changes nothing."""

from __future__ import annotations

import datetime as dt
import uuid

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from fisioflow.notification.links import make_token
from tests.fixtures.scheduling import Agenda, at, booked, create_agenda
from tests.notification.helpers import KEY, rows


async def _link(client: httpx.AsyncClient, owner_engine: AsyncEngine) -> tuple[Agenda, dict, str]:  # type: ignore[type-arg]
    agenda = await create_agenda(client)
    appointment = await booked(client, agenda, at(agenda.monday, 10))
    [(reminder_id,)] = await rows(
        owner_engine,
        agenda.admin.clinic_id,
        "select id from reminder where appointment_id = :a and offset_minutes = 1440",
        a=uuid.UUID(appointment["id"]),
    )
    token = make_token(KEY, tenant=agenda.admin.clinic_id, reminder_id=reminder_id)
    return agenda, appointment, f"/r/{token}"


async def _status(client: httpx.AsyncClient, agenda: Agenda, appointment: dict) -> str:  # type: ignore[type-arg]
    got = await client.get(
        f"/api/v1/appointments/{appointment['id']}", headers=agenda.admin.headers
    )
    return str(got.json()["status"])


class TestConfirm:
    async def test_get_only_shows_then_post_confirms_once(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine
    ) -> None:
        agenda, appointment, url = await _link(client, owner_engine)
        page = await client.get(url)
        assert page.status_code == 200
        assert "Confirmar presença" in page.text
        assert "às 10:00" in page.text
        assert page.headers["cache-control"] == "no-store"
        assert await _status(client, agenda, appointment) == "scheduled"
        done = await client.post(url, data={"action": "confirm"})
        assert done.status_code == 200
        assert "Presença confirmada" in done.text
        assert await _status(client, agenda, appointment) == "confirmed"
        reused = await client.post(url, data={"action": "cancel"})
        assert reused.status_code == 410
        assert "Link já utilizado" in reused.text
        assert await _status(client, agenda, appointment) == "confirmed"

    async def test_cancel_records_the_patient_and_the_link(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine
    ) -> None:
        agenda, appointment, url = await _link(client, owner_engine)
        done = await client.post(url, data={"action": "cancel"})
        assert "Consulta cancelada" in done.text
        got = await client.get(
            f"/api/v1/appointments/{appointment['id']}", headers=agenda.admin.headers
        )
        assert got.json()["status"] == "cancelled"
        assert got.json()["cancelled_by"] == "patient"
        assert (await client.get(url)).status_code == 410


class TestRefused:
    async def test_a_tampered_token_is_invalid(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine
    ) -> None:
        agenda, appointment, url = await _link(client, owner_engine)
        forged = url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB")
        for bad in (forged, "/r/garbage", "/r/" + "x" * 300):
            response = await client.post(bad, data={"action": "cancel"})
            assert response.status_code == 404
            assert "Link inválido" in response.text
        other_key = make_token(
            "another-key", tenant=agenda.admin.clinic_id, reminder_id=uuid.uuid4()
        )
        assert (await client.get(f"/r/{other_key}")).status_code == 404
        assert await _status(client, agenda, appointment) == "scheduled"

    async def test_expired_at_the_start_time(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine
    ) -> None:
        agenda, appointment, url = await _link(client, owner_engine)
        past = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
        await rows(
            owner_engine,
            agenda.admin.clinic_id,
            "update appointment set starts_at = :s, ends_at = :e where id = :a",
            s=past,
            e=past + dt.timedelta(minutes=50),
            a=uuid.UUID(appointment["id"]),
        )
        response = await client.post(url, data={"action": "confirm"})
        assert response.status_code == 410
        assert "Link expirado" in response.text
        assert await _status(client, agenda, appointment) == "scheduled"

    async def test_void_once_the_appointment_moved(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine
    ) -> None:
        agenda, appointment, url = await _link(client, owner_engine)
        moved = await client.patch(
            f"/api/v1/appointments/{appointment['id']}",
            json={"starts_at": at(agenda.monday, 15).isoformat()},
            headers=agenda.admin.headers,
        )
        assert moved.status_code == 200
        response = await client.post(url, data={"action": "confirm"})
        assert response.status_code == 410
        assert "Link sem efeito" in response.text
        assert await _status(client, agenda, appointment) == "scheduled"

    async def test_a_bad_action_is_refused(
        self, client: httpx.AsyncClient, owner_engine: AsyncEngine
    ) -> None:
        agenda, appointment, url = await _link(client, owner_engine)
        response = await client.post(url, data={"action": "delete"})
        assert response.status_code == 422
        assert await _status(client, agenda, appointment) == "scheduled"
