"""Reminders and notifications (issue 8): reminder throughput end to end, and what
queueing a booking's messages adds to it.

- `reminders-100k`: a clinic of its own per run with 100,000 appointments whose reminders
  are due (1,000 with `--data-profile small`; `BENCH_REMINDERS=N` in the environment sets
  another count, for quick before/after comparisons), written in SQL through the real
  reminder trigger; one real `fisioflow worker` process turns them into outbox messages
  and sends them over SMTP to a local receiver (aiosmtpd, in this process) that counts
  distinct delivery keys; `FISIOFLOW_NOTIFICATION_*` variables of the harness reach the
  worker. Timed from queueing `notification.enqueue_due_reminders` to the last message
  accepted. "Req/s" = reminders delivered per second.
- `booking-unnotified`: the `booking` requests with the reminder trigger disabled and the
  outbox refusing rows for the run (a temporary trigger; teardown restores both): the
  baseline of the "Overheads" row that compares it with `booking` (reminder rows, the
  confirmation message and its delivery job, all in the booking's transaction).
"""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.controller import Controller

from benchmarks import bulk
from benchmarks.runner import log
from benchmarks.scenario import (
    Comparison,
    RequestSpec,
    Scenario,
    ScenarioSetupError,
    SetupContext,
    Target,
    Timing,
)
from benchmarks.scenarios import scheduling
from benchmarks.server import fisioflow_command
from fisioflow.core.database import OWNER_ROLE

ISSUE = "issue 8 (reminders)"
REMINDERS = {"full": 100_000, "small": 1_000}
DELIVERY_TIMEOUT_S = 1800


def _reminder_count(profile: str) -> int:
    override = os.environ.get("BENCH_REMINDERS", "").replace("_", "")
    if not override:
        return REMINDERS[profile]
    if not override.isdigit() or int(override) < 1:
        raise ScenarioSetupError(f"BENCH_REMINDERS must be a positive count, not {override!r}")
    return int(override)


def _owner_dsn(ctx: SetupContext) -> str:
    if ctx.owner_dsn is None:
        raise ScenarioSetupError("no owner connection to the bench database")
    return ctx.owner_dsn


# -- reminders-100k ---------------------------------------------------------------------

PLAN = [
    """
insert into practitioner (tenant_id, id, full_name, council, council_number, council_state)
values (app_current_tenant(), app_current_tenant(), 'Dra. Lembrete', 'CREFITO', '1', 'SP')
""",
    """
insert into patient (tenant_id, id, full_name, email)
select app_current_tenant(), app_new_id(), 'Paciente Lembrete ' || n,
       'p' || n || '@' || %(domain)s
from generate_series(1, %(count)s) n
""",
    """
insert into appointment (tenant_id, id, slot_id, patient_id, practitioner_id, type, channel,
                         starts_at, ends_at)
select app_current_tenant(), id, id, id, app_current_tenant(), 'session', 'in_person', s,
       s + interval '30 minutes'
from (select id, now() + interval '3 days' + (row_number() over (order by id))
             * interval '30 minutes' as s
      from patient where tenant_id = app_current_tenant()) p
""",
    "update reminder set due_at = now() - interval '1 second' where status = 'scheduled'",
]
DEFER = (
    "insert into procrastinate_jobs (queue_name, task_name, priority, args)"
    " values ('default', 'notification.enqueue_due_reminders', 0, '{\"timestamp\": 0}')"
)


@dataclass
class Sink:
    """SMTP receiver that counts distinct delivery keys of one clinic's messages."""

    domain: str
    keys: set[str] = field(default_factory=set)
    duplicates: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if any(r.endswith(self.domain) for r in envelope.rcpt_tos):
            key = _header(envelope.original_content or b"", b"X-FisioFlow-Delivery")
            with self.lock:
                self.duplicates += key in self.keys
                self.keys.add(key)
        return "250 Message accepted"

    def count(self) -> int:
        with self.lock:
            return len(self.keys)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _header(raw: bytes, name: bytes) -> str:
    for line in raw.split(b"\r\n"):
        if line.lower().startswith(name.lower() + b":"):
            return line.split(b":", 1)[1].strip().decode()
        if not line:
            break
    return ""


def _signup(ctx: SetupContext, slug: str) -> uuid.UUID:
    response = ctx.client.post(
        "/api/v1/signup",
        json={
            "clinic": {"name": "Bench Lembretes", "slug": slug},
            "admin": {
                "full_name": "Bench Admin",
                "email": f"admin@{slug}.example.com",
                "password": "bench reminders password 2026",
            },
        },
    )
    if response.status_code != 201:
        raise ScenarioSetupError(f"signup of {slug}: {response.status_code} {response.text[:300]}")
    return uuid.UUID(response.json()["clinic"]["id"])


def _reminders_setup(ctx: SetupContext) -> Sequence[RequestSpec]:
    count = _reminder_count(ctx.data_profile)
    slug = f"bench-lembretes-{ctx.run_id}".lower()[:60]
    clinic_id = _signup(ctx, slug)
    started = time.perf_counter()
    with bulk.connect(_owner_dsn(ctx)) as conn, bulk.tenant_transaction(conn, clinic_id):
        conn.execute("update clinic set reminder_offsets_minutes = '{1440}'")
        params = {"domain": f"{slug}.example.com", "count": count}
        for statement in PLAN:
            conn.execute(statement, {k: v for k, v in params.items() if f"%({k})s" in statement})
    with bulk.connect(_owner_dsn(ctx)) as conn:
        # Fresh statistics, as after any bulk load (datagen does the same): the planner
        # would otherwise take the new clinic for an empty one until autovacuum comes by.
        conn.execute("analyze patient, appointment, reminder")
    log(f"[reminders-100k] {count:,} due reminders in {time.perf_counter() - started:.0f} s")
    ctx.shared["reminders"] = (count, f"{slug}.example.com")
    return []


def _worker_env(ctx: SetupContext, smtp_port: int) -> dict[str, str]:
    dsn = _owner_dsn(ctx)
    return {
        "DATABASE_URL": dsn,
        "APP_DATABASE_URL": dsn.replace(f"//{OWNER_ROLE}@", "//fisioflow_app@", 1),
        "FISIOFLOW_SMTP_HOST": "127.0.0.1",
        "FISIOFLOW_SMTP_PORT": str(smtp_port),
        "FISIOFLOW_LOG_LEVEL": "WARNING",
        "PATH": "/usr/bin:/bin",
        **{k: v for k, v in os.environ.items() if k.startswith("FISIOFLOW_NOTIFICATION_")},
    }


def _reminders_measure(ctx: SetupContext) -> Timing:
    count, domain = ctx.shared["reminders"]
    sink = Sink(domain)
    port = _free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    stderr = tempfile.TemporaryFile("w+")  # noqa: SIM115 - closed below
    worker = subprocess.Popen(
        [*fisioflow_command(), "worker"],
        env=_worker_env(ctx, port),
        cwd=tempfile.gettempdir(),
        stderr=stderr,
        text=True,
    )
    try:
        time.sleep(3)  # the worker is up and idle before the clock starts
        with bulk.connect(_owner_dsn(ctx)) as conn:
            conn.execute(DEFER)
        started = time.perf_counter()
        deadline = started + DELIVERY_TIMEOUT_S
        while sink.count() < count and time.perf_counter() < deadline:
            if worker.poll() is not None:
                stderr.seek(0)
                raise ScenarioSetupError(f"the worker exited: {stderr.read()[-500:]}")
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        controller.stop()
        stderr.close()
    delivered = sink.count()
    ctx.notes.append(
        f"{count:,} due reminders of one clinic, one `fisioflow worker` process, SMTP to a "
        f"local receiver: {delivered:,} delivered in {elapsed:.1f} s, "
        f"{sink.duplicates} duplicates. Reminders/s = delivered ÷ time from queueing the "
        "due-reminders job to the last message accepted."
    )
    failures = count - delivered + sink.duplicates
    detail = f"{count - delivered} not delivered, {sink.duplicates} duplicates" if failures else ""
    return Timing(delivered, (elapsed,), failures=failures, failure_detail=detail)


REMINDERS_100K = Scenario(
    name="reminders-100k",
    description="100,000 due reminders (1,000 with `--data-profile small`) to outbox "
    "messages and over SMTP to a local receiver by one `fisioflow worker`. "
    "Req/s here = reminders delivered per second.",
    setup=_reminders_setup,
    measure=_reminders_measure,
    target=Target(min_rps=500, source=f"{ISSUE}: ≥ 500 deliveries/s on 2 cores"),
    concurrency=1,
)


# -- booking-unnotified -------------------------------------------------------------------

SKIP_OUTBOX = """
create or replace function bench_skip_notification() returns trigger
language plpgsql as $$ begin return null; end $$;
create trigger bench_skip_notification before insert on notification
for each row execute function bench_skip_notification();
alter table appointment disable trigger appointment_reminders;
"""
RESTORE = """
drop trigger if exists bench_skip_notification on notification;
drop function if exists bench_skip_notification();
alter table appointment enable trigger appointment_reminders;
"""


def _unnotified_setup(ctx: SetupContext) -> Sequence[RequestSpec]:
    specs = scheduling.booking_specs(ctx, burst=False)
    with bulk.connect(_owner_dsn(ctx)) as conn:
        conn.execute(SKIP_OUTBOX)
    ctx.notes.append(
        "The reminder trigger is disabled and the outbox skips every row for this run only "
        "(restored afterwards): no reminder rows, no confirmation message, no delivery job. "
        "The booking still reads the patient's contact preferences."
    )
    return specs


def _restore(ctx: SetupContext) -> None:
    with bulk.connect(_owner_dsn(ctx)) as conn:
        conn.execute(RESTORE)


BOOKING_UNNOTIFIED = Scenario(
    name="booking-unnotified",
    description="booking without reminders and messages (baseline of their overhead)."
    + scheduling.AT_ONE,
    setup=_unnotified_setup,
    teardown=_restore,
    concurrency=1,
    single_use=True,
)

NOTIFICATION_SCENARIOS = (BOOKING_UNNOTIFIED, REMINDERS_100K)

COMPARISONS = (
    Comparison(
        label="Reminders and confirmation queued on booking",
        baseline=BOOKING_UNNOTIFIED.name,
        measured=scheduling.BOOKING.name,
        max_added=None,
        source=ISSUE,
    ),
)
