"""The outbox delivered to real receivers on loopback: SMTP (aiosmtpd) and an HTTP
SMS/WhatsApp provider; exactly one delivery per message, retries with backoff, dead
letters with the reason, the per-channel circuit breaker."""

from __future__ import annotations

import asyncio
import datetime as dt

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from fisioflow.notification.delivery import quiet_until
from fisioflow.notification.links import read_token
from fisioflow.settings import Settings
from tests.fixtures.clinical import create_patient
from tests.fixtures.receivers import HttpReceiver, SmtpReceiver
from tests.fixtures.scheduling import Agenda, at, booked, create_agenda
from tests.notification.helpers import (
    KEY,
    daytime_zone,
    deliver,
    enqueue_due,
    make_due,
    night_zone,
    rows,
    statuses,
)


async def _agenda_with_email(client: httpx.AsyncClient, email: str = "bia@example.com") -> Agenda:
    agenda = await create_agenda(client)
    patient = await create_patient(
        client, agenda.admin, full_name="Beatriz Souza", email=email, phone="11987654321"
    )
    return Agenda(agenda.admin, agenda.practitioner, patient, agenda.monday)


async def _consent_sms(client: httpx.AsyncClient, agenda: Agenda, channel: str = "sms") -> None:
    response = await client.put(
        f"/api/v1/patients/{agenda.patient_id}/notification-preferences",
        json={"channels": {channel: True}, "consent": True},
        headers=agenda.admin.headers,
    )
    assert response.status_code == 200, response.text


class TestEmail:
    async def test_booking_sends_a_pt_br_confirmation_once(
        self,
        client: httpx.AsyncClient,
        app_sessionmaker: async_sessionmaker[AsyncSession],
        notify_settings: Settings,
        smtp: SmtpReceiver,
        owner_engine: AsyncEngine,
    ) -> None:
        agenda = await _agenda_with_email(client)
        await booked(client, agenda, at(agenda.monday, 10))
        clinic = agenda.admin.clinic_id
        assert await deliver(app_sessionmaker, notify_settings, clinic) == 1
        assert await deliver(app_sessionmaker, notify_settings, clinic) == 0
        [message] = smtp.to("bia@example.com")
        assert message["Subject"] == "Consulta agendada em Clínica São João"
        body = message.get_payload(decode=True).decode()
        assert "Olá, Beatriz!" in body
        assert "às 10:00" in body
        assert await statuses(owner_engine, clinic) == {"sent": 1}

    async def test_due_reminders_are_sent_exactly_once_with_a_signed_link(
        self,
        client: httpx.AsyncClient,
        app_sessionmaker: async_sessionmaker[AsyncSession],
        notify_settings: Settings,
        smtp: SmtpReceiver,
        owner_engine: AsyncEngine,
    ) -> None:
        agenda = await _agenda_with_email(client)
        for hour in (9, 11, 14):
            await booked(client, agenda, at(agenda.monday, hour))
        clinic = agenda.admin.clinic_id
        await make_due(owner_engine, clinic)
        assert await enqueue_due(app_sessionmaker, clinic) == 6
        assert await enqueue_due(app_sessionmaker, clinic) == 0
        assert await deliver(app_sessionmaker, notify_settings, clinic) == 3 + 6
        await make_due(owner_engine, clinic)
        assert await enqueue_due(app_sessionmaker, clinic) == 0
        assert await deliver(app_sessionmaker, notify_settings, clinic) == 0
        keys = smtp.keys()
        assert len(keys) == 9
        assert set(keys.values()) == {1}
        reminders = [m for m in smtp.messages if str(m["Subject"]).startswith("Lembrete")]
        assert len(reminders) == 6
        body = reminders[0].get_payload(decode=True).decode()
        token = body.split("http://test/r/")[1].split()[0]
        tenant, reminder_id = read_token(KEY, token)
        assert tenant == clinic
        assert await rows(
            owner_engine,
            clinic,
            "select 1 from reminder where id = :r and status = 'queued'",
            r=reminder_id,
        )

    async def test_an_invalid_address_is_dead_with_the_reason_and_never_retried(
        self,
        client: httpx.AsyncClient,
        app_sessionmaker: async_sessionmaker[AsyncSession],
        notify_settings: Settings,
        smtp: SmtpReceiver,
        owner_engine: AsyncEngine,
    ) -> None:
        agenda = await _agenda_with_email(client)
        await booked(client, agenda, at(agenda.monday, 10))
        clinic = agenda.admin.clinic_id
        await rows(owner_engine, clinic, "update notification set recipient = 'not-an-address@'")
        assert await deliver(app_sessionmaker, notify_settings, clinic) == 0
        [(status, error, attempts)] = await rows(
            owner_engine, clinic, "select status, last_error, attempts from notification"
        )
        assert status == "dead"
        assert "invalid email address" in error
        assert attempts == 1
        assert await deliver(app_sessionmaker, notify_settings, clinic) == 0
        assert smtp.messages == []

    async def test_a_mailbox_refused_by_the_server_is_dead(
        self,
        client: httpx.AsyncClient,
        app_sessionmaker: async_sessionmaker[AsyncSession],
        notify_settings: Settings,
        smtp: SmtpReceiver,
        owner_engine: AsyncEngine,
    ) -> None:
        smtp.refuse["gone@example.com"] = "550 5.1.1 no such user"
        agenda = await _agenda_with_email(client, email="gone@example.com")
        await booked(client, agenda, at(agenda.monday, 10))
        clinic = agenda.admin.clinic_id
        assert await deliver(app_sessionmaker, notify_settings, clinic) == 0
        [(status, error)] = await rows(
            owner_engine, clinic, "select status, last_error from notification"
        )
        assert status == "dead"
        assert "550" in error


class TestProvider:
    async def test_sms_goes_to_the_provider_with_the_delivery_key(
        self,
        client: httpx.AsyncClient,
        app_sessionmaker: async_sessionmaker[AsyncSession],
        notify_settings: Settings,
        provider: HttpReceiver,
        owner_engine: AsyncEngine,
    ) -> None:
        agenda = await _agenda_with_email(client)
        await _consent_sms(client, agenda)
        await rows(
            owner_engine,
            agenda.admin.clinic_id,
            "update clinic set timezone = :tz",
            tz=daytime_zone(),
        )
        await booked(client, agenda, at(agenda.monday, 10))
        assert await deliver(app_sessionmaker, notify_settings, agenda.admin.clinic_id, "sms") == 1
        [request] = provider.requests
        assert request["body"]["to"] == "+5511987654321"
        assert request["body"]["channel"] == "sms"
        assert request["headers"]["Idempotency-Key"] == request["body"]["delivery_key"]
        assert "consulta agendada" in request["body"]["text"]

    async def test_a_4xx_from_the_provider_is_dead_at_once(
        self,
        client: httpx.AsyncClient,
        app_sessionmaker: async_sessionmaker[AsyncSession],
        notify_settings: Settings,
        provider: HttpReceiver,
        owner_engine: AsyncEngine,
    ) -> None:
        agenda = await _agenda_with_email(client)
        await _consent_sms(client, agenda, "whatsapp")
        await rows(
            owner_engine,
            agenda.admin.clinic_id,
            "update clinic set timezone = :tz",
            tz=daytime_zone(),
        )
        await booked(client, agenda, at(agenda.monday, 10))
        provider.status = 400
        clinic = agenda.admin.clinic_id
        assert await deliver(app_sessionmaker, notify_settings, clinic, "whatsapp") == 0
        [(status, error, attempts)] = await rows(
            owner_engine,
            clinic,
            "select status, last_error, attempts from notification where channel = 'whatsapp'",
        )
        assert (status, attempts) == ("dead", 1)
        assert "400" in error
        assert provider.attempts() == 1

    async def test_provider_down_then_back_breaker_opens_and_closes_nothing_twice(
        self,
        client: httpx.AsyncClient,
        app_sessionmaker: async_sessionmaker[AsyncSession],
        notify_settings: Settings,
        provider: HttpReceiver,
        owner_engine: AsyncEngine,
    ) -> None:
        agenda = await _agenda_with_email(client)
        await _consent_sms(client, agenda)
        clinic = agenda.admin.clinic_id
        await rows(owner_engine, clinic, "update clinic set timezone = :tz", tz=daytime_zone())
        for hour in (8, 9, 10, 11, 13, 14, 15, 16):
            await booked(client, agenda, at(agenda.monday, hour))
        provider.status = 500
        settings = notify_settings.model_copy(update={"notification_lanes": 1})
        assert await deliver(app_sessionmaker, settings, clinic, "sms") == 0
        assert provider.attempts() == 3  # the threshold: then the circuit opens
        assert await _circuit(owner_engine) == "open"
        assert await deliver(app_sessionmaker, settings, clinic, "sms") == 0
        assert provider.attempts() == 3  # open: nothing tried
        provider.status = 200
        sent = 0
        for _ in range(40):
            await asyncio.sleep(0.25)
            sent += await deliver(app_sessionmaker, settings, clinic, "sms")
            if sent == 8:
                break
        assert sent == 8
        assert await _circuit(owner_engine) == "closed"
        keys = [b["delivery_key"] for b in provider.bodies()]
        assert len(keys) == 8 == len(set(keys))
        assert await statuses(owner_engine, clinic) == {"sent": 8, "pending": 8}  # emails wait


class TestQuietHours:
    def test_quiet_hours_run_from_21_to_8_clinic_time(self) -> None:
        zone = "America/Sao_Paulo"
        local = dt.datetime(2026, 11, 24, 22, 30, tzinfo=dt.timezone(dt.timedelta(hours=-3)))
        assert quiet_until(local, zone) == dt.datetime(2026, 11, 25, 8, 0, tzinfo=local.tzinfo)
        early = local.replace(hour=7, minute=59)
        assert quiet_until(early, zone) == dt.datetime(2026, 11, 24, 8, 0, tzinfo=local.tzinfo)
        assert quiet_until(local.replace(hour=8), zone) is None
        assert quiet_until(local.replace(hour=20, minute=59), zone) is None

    async def test_sms_waits_for_morning_but_email_does_not(
        self,
        client: httpx.AsyncClient,
        app_sessionmaker: async_sessionmaker[AsyncSession],
        notify_settings: Settings,
        provider: HttpReceiver,
        smtp: SmtpReceiver,
        owner_engine: AsyncEngine,
    ) -> None:
        agenda = await _agenda_with_email(client)
        await _consent_sms(client, agenda)
        clinic = agenda.admin.clinic_id
        await rows(owner_engine, clinic, "update clinic set timezone = :tz", tz=night_zone())
        await booked(client, agenda, at(agenda.monday, 10))
        assert await deliver(app_sessionmaker, notify_settings, clinic, "sms") == 0
        assert await deliver(app_sessionmaker, notify_settings, clinic, "email") == 1
        assert provider.requests == []
        [(status, next_at, attempts)] = await rows(
            owner_engine,
            clinic,
            "select status, next_attempt_at, attempts from notification where channel = 'sms'",
        )
        assert status == "pending"
        assert attempts == 0
        assert dt.timedelta(0) < next_at - dt.datetime.now(dt.UTC) <= dt.timedelta(hours=11)


async def _circuit(engine: AsyncEngine) -> str:
    async with engine.connect() as conn:
        return str(
            await conn.scalar(text("select state from notification_circuit where channel = 'sms'"))
        )
