"""PostgreSQL stopped in immediate mode (a crash) in the middle of a burst of bookings
against a real `fisioflow run` process, then started again: every booking that was
answered 201 has its reminders, and the in-process worker resumes by itself (every such
booking's confirmation reaches the SMTP receiver, exactly once)."""

from __future__ import annotations

import asyncio
import datetime as dt
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy.engine import make_url

from fisioflow.core.bootstrap import libpq_dsn
from fisioflow.core.embedded import EmbeddedPostgres
from tests.core.test_cli import FISIOFLOW, WAIT_S, cli, environment, free_port, server_data_dir
from tests.fixtures.clinical import create_patient
from tests.fixtures.receivers import SmtpReceiver
from tests.fixtures.scheduling import at, book, create_agenda

BOOKINGS = 40
KILL_AFTER = 10  # answers before PostgreSQL is stopped
CONCURRENCY = 4


@pytest.fixture
def run_server(smtp: SmtpReceiver) -> Iterator[tuple[str, EmbeddedPostgres, Path]]:
    with server_data_dir() as data_dir:
        migrated = cli("migrate", data_dir=data_dir)
        assert migrated.returncode == 0, migrated.stderr
        port = free_port()
        env = environment(
            data_dir,
            FISIOFLOW_SMTP_HOST="127.0.0.1",
            FISIOFLOW_SMTP_PORT=str(smtp.port),
            FISIOFLOW_IP_RATE_LIMIT="100000/minute",
            FISIOFLOW_LOG_LEVEL="WARNING",
            FISIOFLOW_WORKER_HEARTBEAT_S="1",
            FISIOFLOW_NOTIFICATION_LEASE_S="2",
        )
        stderr_path = data_dir.parent / "run.stderr"
        with stderr_path.open("w") as stderr:
            process = subprocess.Popen(
                [*FISIOFLOW, "run", "--port", str(port)],
                env=env,
                cwd=data_dir.parent,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        embedded = EmbeddedPostgres(data_dir)
        try:
            _wait_ready(f"http://127.0.0.1:{port}", process, stderr_path)
            embedded.acquire()  # a second user: PostgreSQL is ours to stop and start
            yield f"http://127.0.0.1:{port}", embedded, stderr_path
        finally:
            process.kill()
            process.wait()
            embedded.release()


def _wait_ready(base_url: str, process: subprocess.Popen[bytes], stderr: Path) -> None:
    deadline = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=WAIT_S)
    while dt.datetime.now(dt.UTC) < deadline:
        assert process.poll() is None, stderr.read_text()
        try:
            if httpx.get(f"{base_url}/health/ready", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"run did not become ready: {stderr.read_text()}")


def _slots(monday: dt.date) -> list[dt.datetime]:
    days = [monday + dt.timedelta(days=d) for d in range(14) if d % 7 < 5]
    return [at(day, hour) for day in days for hour in (8, 9, 10, 11, 13, 14, 15, 16, 17)]


class TestPostgresCrash:
    async def test_every_201_booking_has_its_reminders_and_the_worker_resumes(
        self, run_server: tuple[str, EmbeddedPostgres, Path], smtp: SmtpReceiver
    ) -> None:
        base_url, embedded, stderr = run_server
        async with httpx.AsyncClient(base_url=base_url, timeout=WAIT_S) as http:
            agenda = await create_agenda(http)
            patient = await create_patient(
                http, agenda.admin, full_name="Rita Rajada", email="rita@example.com"
            )
            answers: dict[int, httpx.Response | None] = {}
            gate = asyncio.Semaphore(CONCURRENCY)

            async def one(index: int, starts_at: dt.datetime) -> None:
                async with gate:
                    try:
                        answers[index] = await book(
                            http,
                            agenda.admin,
                            patient_id=str(patient["id"]),
                            practitioner_id=agenda.practitioner_id,
                            starts_at=starts_at,
                        )
                    except httpx.TransportError:
                        answers[index] = None
                    if len(answers) >= KILL_AFTER:
                        enough.set()

            enough = asyncio.Event()

            async def crash() -> int:
                await enough.wait()
                seen = len(answers)
                await asyncio.to_thread(embedded.kill)
                await asyncio.sleep(1)
                await asyncio.to_thread(embedded.acquire)
                return seen

            slots = _slots(agenda.monday)[:BOOKINGS]
            crashed_at, *_ = await asyncio.gather(
                crash(), *(one(i, s) for i, s in enumerate(slots))
            )
        assert crashed_at < BOOKINGS, "the burst was over before PostgreSQL stopped"
        created = {
            uuid.UUID(r.json()["id"])
            for r in answers.values()
            if r is not None and r.status_code == 201
        }
        refused = [
            r.status_code for r in answers.values() if r is not None and r.status_code != 201
        ]
        assert all(code >= 500 for code in refused), refused
        assert len(created) >= KILL_AFTER // 2

        superuser = libpq_dsn(make_url(embedded.url(database="fisioflow")))
        async with await psycopg.AsyncConnection.connect(superuser) as conn:
            cursor = await conn.execute(
                "select a.id, count(r.id) from appointment a"
                " left join reminder r on r.tenant_id = a.tenant_id and r.appointment_id = a.id"
                " and r.status = 'scheduled' where a.tenant_id = %s group by a.id",
                [agenda.admin.clinic_id],
            )
            reminders = {row[0]: row[1] for row in await cursor.fetchall()}
        assert created <= reminders.keys()
        # Committed without a 201 (the answer was lost) is possible; half-written is not.
        assert set(reminders.values()) == {2}, reminders

        async def confirmed() -> set[uuid.UUID]:
            return {uuid.UUID(key.split(":")[1]) for key in smtp.keys()}  # noqa: SIM118 - a Counter

        deadline = asyncio.get_running_loop().time() + WAIT_S
        while not reminders.keys() <= await confirmed():
            late = asyncio.get_running_loop().time() > deadline
            assert not late, f"the worker did not resume: {stderr.read_text()[-3000:]}"
            await asyncio.sleep(0.2)
        assert max(smtp.keys().values()) == 1
