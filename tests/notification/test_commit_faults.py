"""The COMMIT that records a message as sent fails after the message was let go (what a
database crash does): the message is recorded as sent once the database answers again,
and it is never sent a second time. PostgreSQL refuses the COMMIT for real here: a
deferred constraint trigger fails the first COMMIT that marks a notification sent."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from fisioflow.notification import delivery
from fisioflow.settings import Settings
from tests.fixtures.clinical import create_patient
from tests.fixtures.receivers import HttpReceiver, SmtpReceiver
from tests.fixtures.scheduling import at, booked, create_agenda
from tests.notification.helpers import daytime_zone, deliver, rows

FAIL_FIRST_SENT_COMMIT = [
    # nextval is not rolled back with the refused COMMIT: the first `times` ones fail.
    "create sequence sent_commits",
    "create table sent_commits_refused (times int not null)",
    """
    create function fail_first_sent_commit() returns trigger
    language plpgsql security definer set search_path = public as $$
    begin
        if nextval('sent_commits') <= (select times from sent_commits_refused) then
            raise exception 'injected: COMMIT refused';
        end if;
        return null;
    end $$
    """,
    "create constraint trigger fail_first_sent_commit after update on notification"
    " deferrable initially deferred for each row when (new.status = 'sent')"
    " execute function fail_first_sent_commit()",
]


async def _fail_first_sent_commit(owner_engine: AsyncEngine, *, times: int = 1) -> None:
    async with owner_engine.begin() as conn:
        for statement in FAIL_FIRST_SENT_COMMIT:
            await conn.execute(text(statement))
        await conn.execute(text("insert into sent_commits_refused values (:n)"), {"n": times})


async def _sent_commits(owner_engine: AsyncEngine) -> int:
    """COMMITs that tried to mark a notification sent, refused or not."""
    async with owner_engine.connect() as conn:
        return int(await conn.scalar(text("select last_value from sent_commits")) or 0)


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
    assert await _sent_commits(owner_engine) == 2  # refused, then recorded
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
    assert await _sent_commits(owner_engine) == 2  # refused, then recorded
    assert provider.attempts() == 1
    await _lease_runs_out(owner_engine, clinic)
    assert await deliver(app_sessionmaker, notify_settings, clinic, "sms") == 0
    assert provider.attempts() == 1
    assert await _statuses(owner_engine, clinic, "sms") == ["sent"]


async def test_a_lane_that_claims_a_message_left_unrecorded_records_it_instead_of_sending(
    client: httpx.AsyncClient,
    app_sessionmaker: async_sessionmaker[AsyncSession],
    notify_settings: Settings,
    smtp: SmtpReceiver,
    owner_engine: AsyncEngine,
) -> None:
    """The database stays away longer than the lease: a lane of the same process claims
    the message again once it is back, and records it rather than resend it."""
    clinic = await _booking_with_contacts(client)
    await _fail_first_sent_commit(owner_engine, times=2)  # the COMMIT, then the confirm
    short = notify_settings.model_copy(update={"notification_lease_s": 0.05})
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(delivery, "CONFIRM_WITHIN_S", 0.0)  # gives up after one try
        assert await deliver(app_sessionmaker, short, clinic) == 1
    assert len(smtp.to("bia@example.com")) == 1

    await _lease_runs_out(owner_engine, clinic)
    assert await deliver(app_sessionmaker, notify_settings, clinic) == 0
    # refused, the confirm refused, then recorded by the lane that claimed it again
    assert await _sent_commits(owner_engine) == 3
    assert len(smtp.to("bia@example.com")) == 1
    assert await _statuses(owner_engine, clinic, "email") == ["sent"]
