"""Fault tests with real worker processes on the shared PostgreSQL: SIGKILL the worker
again and again while 500 reminders are due, and every reminder reaches the SMTP
receiver exactly once; SIGTERM lets a delivery in flight finish, in `fisioflow worker` and
in `fisioflow run`; a provider that fails then recovers opens and closes the breaker and
gets every message once."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from fisioflow.core.bootstrap import libpq_dsn
from fisioflow.core.database import DatabaseLocation
from fisioflow.core.jobs import job_app
from tests.core.test_cli import free_port
from tests.fixtures.receivers import HttpReceiver, SmtpReceiver
from tests.fixtures.scheduling import at, booked
from tests.notification.helpers import KEY, daytime_zone, make_due, rows
from tests.notification.test_delivery import (
    _agenda_with_email,
    _circuit,
    _consent_sms,
)

REMINDERS = 500


def worker_env(database: DatabaseLocation, smtp: SmtpReceiver, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": libpq_dsn(database.owner_url),
        "APP_DATABASE_URL": libpq_dsn(database.app_url),
        "FISIOFLOW_SECRET_KEY": KEY,
        "FISIOFLOW_SMTP_PORT": str(smtp.port),
        "FISIOFLOW_NOTIFICATION_LEASE_S": "2",
        "FISIOFLOW_WORKER_HEARTBEAT_S": "1",
        "FISIOFLOW_LOG_LEVEL": "WARNING",
        **extra,
    }


@asynccontextmanager
async def worker(env: dict[str, str], *command: str) -> AsyncIterator[asyncio.subprocess.Process]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "fisioflow",
        *(command or ("worker",)),
        env=env,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def wait_for(check: object, *, seconds: float) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def clinic_with_due_reminders(engine: AsyncEngine, count: int) -> uuid.UUID:
    """A clinic, a practitioner and `count` patients with one appointment each, written
    in SQL (the booking API is not under test here); the trigger plans the reminders."""
    clinic = uuid.uuid4()
    async with engine.begin() as conn:
        await conn.execute(text("select set_config('app.tenant_id', :t, true)"), {"t": str(clinic)})
        await conn.execute(
            text(
                "insert into clinic (id, name, slug, timezone, locale, reminder_offsets_minutes)"
                " values (:t, 'Clínica Falha', :slug, 'America/Sao_Paulo', 'pt-BR', '{1440}')"
            ),
            {"t": clinic, "slug": f"falha-{clinic.hex[:8]}"},
        )
        await conn.execute(
            text(
                "insert into practitioner (tenant_id, id, full_name, council, council_number,"
                " council_state) values (:t, :t, 'Dra. Teste', 'CREFITO', '1', 'SP')"
            ),
            {"t": clinic},
        )
        await conn.execute(
            text(
                "insert into patient (tenant_id, id, full_name, email)"
                " select :t, app_new_id(), 'Paciente ' || i, 'p' || i || '@example.com'"
                " from generate_series(1, :n) i"
            ),
            {"t": clinic, "n": count},
        )
        await conn.execute(
            text(
                "insert into appointment (tenant_id, id, slot_id, patient_id, practitioner_id,"
                " type, channel, starts_at, ends_at)"
                " select :t, id, id, id, :t, 'session', 'in_person', s, s + interval '30 minutes'"
                " from (select id, now() + interval '3 days' + (row_number() over (order by id))"
                "       * interval '30 minutes' as s from patient where tenant_id = :t) p"
            ),
            {"t": clinic},
        )
    await make_due(engine, clinic)
    return clinic


async def defer_due_reminders(database: DatabaseLocation) -> None:
    jobs = job_app(database)
    async with jobs.open_async():
        task = jobs.configure_task("notification.enqueue_due_reminders")
        await task.defer_async(timestamp=0)


class TestSigkill:
    async def test_killed_again_and_again_every_reminder_is_sent_exactly_once(
        self, database: DatabaseLocation, owner_engine: AsyncEngine, smtp: SmtpReceiver
    ) -> None:
        clinic = await clinic_with_due_reminders(owner_engine, REMINDERS)
        await defer_due_reminders(database)
        # One lane: the outbox's one unavoidable window (a kill between writing the COMMIT
        # and the SMTP final "." a few microseconds later loses that message: at most once
        # wins, see recorder.py) is open once per message, not four times.
        env = worker_env(
            database, smtp, FISIOFLOW_NOTIFICATION_BATCH="20", FISIOFLOW_NOTIFICATION_LANES="1"
        )
        kills = 0
        while kills < 5 and len(smtp.messages) < REMINDERS * 0.8:
            before = len(smtp.messages)
            async with worker(env) as process:

                async def delivering(before: int = before) -> bool:
                    return len(smtp.messages) >= before + 25

                await wait_for(delivering, seconds=60)
                process.send_signal(signal.SIGKILL)
                await process.wait()
                kills += 1
        assert kills >= 3, "the worker was too fast to be killed mid-way"
        async with worker(env) as process:

            async def all_sent() -> bool:
                return len(smtp.messages) >= REMINDERS

            try:
                await wait_for(all_sent, seconds=180)  # a bound for a busy machine
            except AssertionError:
                state = await rows(
                    owner_engine, clinic, "select status, count(*) from notification group by 1"
                )
                raise AssertionError(f"{len(smtp.messages)} received; outbox {state}") from None
            await asyncio.sleep(1)  # anything sent twice would arrive by now
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), timeout=30)
        keys = smtp.keys()
        assert len(keys) == REMINDERS
        assert max(keys.values()) == 1, [k for k, n in keys.items() if n > 1]
        sent = await rows(
            owner_engine, clinic, "select status, count(*) from notification group by 1"
        )
        assert sent == [("sent", REMINDERS)]


class TestSigterm:
    async def test_a_delivery_in_flight_finishes_before_the_worker_exits(
        self, database: DatabaseLocation, owner_engine: AsyncEngine, smtp: SmtpReceiver
    ) -> None:
        clinic = await clinic_with_due_reminders(owner_engine, 1)
        await defer_due_reminders(database)
        smtp.reply_delay = 3.0
        async with worker(worker_env(database, smtp)) as process:
            await asyncio.to_thread(smtp.receiving.wait, 60)
            process.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
        assert process.returncode == 0, stderr.decode()[-2000:]
        assert len(smtp.messages) == 1
        assert await rows(owner_engine, clinic, "select status from notification") == [("sent",)]
        left = await rows(
            owner_engine, clinic, "select status from procrastinate_jobs where status = 'doing'"
        )
        assert left == []

    async def test_run_lets_a_delivery_in_flight_finish_before_it_exits(
        self,
        database: DatabaseLocation,
        owner_engine: AsyncEngine,
        smtp: SmtpReceiver,
        tmp_path: Path,
    ) -> None:
        """`fisioflow run` (server and worker in one process) on the same terms."""
        clinic = await clinic_with_due_reminders(owner_engine, 1)
        await defer_due_reminders(database)
        smtp.reply_delay = 3.0
        env = worker_env(database, smtp, FISIOFLOW_DATA_DIR=str(tmp_path))
        async with worker(env, "run", "--port", str(free_port())) as process:

            async def in_flight() -> bool:
                return "p1@example.com" in smtp.arriving

            await wait_for(in_flight, seconds=90)
            process.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
        assert process.returncode == 0, stderr.decode()[-2000:]
        assert [m["To"] for m in smtp.messages].count("p1@example.com") == 1
        assert await rows(owner_engine, clinic, "select status from notification") == [("sent",)]
        left = await rows(
            owner_engine, clinic, "select status from procrastinate_jobs where status = 'doing'"
        )
        assert left == []


class TestProviderOutage:
    async def test_provider_500s_then_recovers_all_sent_once_breaker_opened_and_closed(
        self,
        client: httpx.AsyncClient,
        database: DatabaseLocation,
        owner_engine: AsyncEngine,
        smtp: SmtpReceiver,
        provider: HttpReceiver,
    ) -> None:
        """A real worker sends SMS through a provider that answers 500 until told to
        recover: the circuit opens (no more calls while open), then closes, and every
        message reaches the provider with a distinct delivery key."""
        agenda = await _agenda_with_email(client)
        await _consent_sms(client, agenda)
        clinic = agenda.admin.clinic_id
        await rows(owner_engine, clinic, "update clinic set timezone = :tz", tz=daytime_zone())
        provider.status = 500
        for hour in (8, 9, 10, 11, 13, 14, 15, 16):
            await booked(client, agenda, at(agenda.monday, hour))
        env = worker_env(
            database,
            smtp,
            FISIOFLOW_MESSAGING_PROVIDER_URL=f"http://127.0.0.1:{provider.port}/messages",
            FISIOFLOW_BREAKER_THRESHOLD="3",
            FISIOFLOW_BREAKER_COOLDOWN_S="2",
            FISIOFLOW_NOTIFICATION_RETRY_BASE_S="0.2",
            FISIOFLOW_NOTIFICATION_RETRY_MAX_S="1",
            FISIOFLOW_NOTIFICATION_LANES="1",
        )
        async with worker(env) as process:

            async def opened() -> bool:
                return await _circuit(owner_engine) == "open"

            await wait_for(opened, seconds=60)
            failed = provider.attempts()
            assert failed >= 3
            provider.status = 200

            async def all_sent() -> bool:
                return len({b["delivery_key"] for b in provider.bodies()}) == 8

            await wait_for(all_sent, seconds=90)
            await asyncio.sleep(1)  # anything sent twice would arrive by now
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), timeout=30)
        keys = [b["delivery_key"] for b in provider.bodies()]
        assert len(keys) == len(set(keys)) == 8
        assert await _circuit(owner_engine) == "closed"
        sms = await rows(
            owner_engine, clinic, "select status from notification where channel = 'sms'"
        )
        assert sms == [("sent",)] * 8
