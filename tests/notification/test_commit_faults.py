"""The COMMIT that records a message as sent fails after the message was let go (what a
database crash does): the message is recorded as sent once the database answers again,
and it is never sent a second time. PostgreSQL refuses the COMMIT for real here: a
deferred constraint trigger fails the first COMMIT that marks a notification sent."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from fisioflow.settings import Settings
from tests.fixtures.clinical import create_patient
from tests.fixtures.receivers import HttpReceiver, SmtpReceiver
from tests.fixtures.scheduling import at, booked, create_agenda
from tests.notification.helpers import daytime_zone, deliver, rows

FAIL_FIRST_SENT_COMMIT = [
    # nextval is not rolled back with the failed COMMIT: the trigger fails exactly once.
    "create sequence sent_commits",
    """
    create function fail_first_sent_commit() returns trigger
    language plpgsql security definer set search_path = public as $$
    begin
        if nextval('sent_commits') = 1 then
            raise exception 'injected: COMMIT refused';
        end if;
        return null;
    end $$
    """,
    "create constraint trigger fail_first_sent_commit after update on notification"
    " deferrable initially deferred for each row when (new.status = 'sent')"
    " execute function fail_first_sent_commit()",
]


async def _fail_first_sent_commit(owner_engine: AsyncEngine) -> None:
    async with owner_engine.begin() as conn:
        for statement in FAIL_FIRST_SENT_COMMIT:
            await conn.execute(text(statement))


async def _commit_failures(owner_engine: AsyncEngine) -> int:
    async with owner_engine.connect() as conn:
        return int(await conn.scalar(text("select last_value - 1 from sent_commits")) or 0)


async def _lease_runs_out(owner_engine: AsyncEngine, clinic_id: uuid.UUID) -> None:
    await rows(
        owner_engine,
        clinic_id,
        "update notification set lease_until = now() - interval '1 second'"
        " where status = 'sending'",
    )


async def _statuses(engine: AsyncEngine, clinic_id: uuid.UUID, channel: str) -> list[str]:
    found = await rows(
        engine, clinic_id, "select status from notification where channel = :c", c=channel
    )
    return [r[0] for r in found]


async def _booking_with_contacts(client: httpx.AsyncClient) -> uuid.UUID:
    agenda = await create_agenda(client)
    patient = await create_patient(
        client,
        agenda.admin,
        full_name="Beatriz Souza",
        email="bia@example.com",
        phone="11987654321",
    )
    agenda = type(agenda)(agenda.admin, agenda.practitioner, patient, agenda.monday)
    response = await client.put(
        f"/api/v1/patients/{agenda.patient_id}/notification-preferences",
        json={"channels": {"sms": True}, "consent": True},
        headers=agenda.admin.headers,
    )
    assert response.status_code == 200, response.text
    await booked(client, agenda, at(agenda.monday, 10))
    return agenda.admin.clinic_id


async def test_an_email_whose_sent_commit_failed_is_recorded_and_never_sent_again(
    client: httpx.AsyncClient,
    app_sessionmaker: async_sessionmaker[AsyncSession],
    notify_settings: Settings,
    smtp: SmtpReceiver,
    owner_engine: AsyncEngine,
) -> None:
    clinic = await _booking_with_contacts(client)
    await _fail_first_sent_commit(owner_engine)

    assert await deliver(app_sessionmaker, notify_settings, clinic) == 1
    assert await _commit_failures(owner_engine) == 1
    assert len(smtp.to("bia@example.com")) == 1
    assert await _statuses(owner_engine, clinic, "email") == ["sent"]

    await _lease_runs_out(owner_engine, clinic)
    assert await deliver(app_sessionmaker, notify_settings, clinic) == 0
    assert len(smtp.to("bia@example.com")) == 1


async def test_an_sms_whose_sent_commit_failed_is_recorded_and_never_sent_again(
    client: httpx.AsyncClient,
    app_sessionmaker: async_sessionmaker[AsyncSession],
    notify_settings: Settings,
    provider: HttpReceiver,
    owner_engine: AsyncEngine,
) -> None:
    clinic = await _booking_with_contacts(client)
    await rows(owner_engine, clinic, "update clinic set timezone = :tz", tz=daytime_zone())
    await _fail_first_sent_commit(owner_engine)

    assert await deliver(app_sessionmaker, notify_settings, clinic, "sms") == 1
    assert await _commit_failures(owner_engine) == 1
    assert provider.attempts() == 1
    await _lease_runs_out(owner_engine, clinic)
    assert await deliver(app_sessionmaker, notify_settings, clinic, "sms") == 0
    assert provider.attempts() == 1
    assert await _statuses(owner_engine, clinic, "sms") == ["sent"]
