"""Two years of agenda for 10 practitioners of the largest bench clinic (issue 5's data).

Eight 50-minute visits a weekday per practitioner, from 18 months ago to 6 months ahead
(about 42,000 rows), with the past ones attended, missed or cancelled. Patients are
assigned so no patient has two visits at one time (the exclusion constraints would refuse
the load otherwise). Loaded once, through a staging table (see bulk.py).
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from benchmarks import bulk
from benchmarks.datagen import Clinic
from fisioflow.core.ids import new_id

PRACTITIONERS = 10
HOURS = (8, 9, 10, 11, 13, 14, 15, 16)
PAST_DAYS, FUTURE_DAYS = 548, 183
TZ = ZoneInfo("America/Sao_Paulo")
COLUMNS = (
    "tenant_id", "id", "slot_id", "patient_id", "practitioner_id", "starts_at", "ends_at",
    "type", "channel", "status", "cancelled_by", "cancel_reason", "backfilled",
)  # fmt: skip


@dataclass(frozen=True)
class AgendaData:
    practitioners: list[uuid.UUID]
    patients: list[uuid.UUID]
    first_day: dt.date
    last_day: dt.date
    rows: int


def ensure_agenda(dsn: str, clinic: Clinic) -> AgendaData:
    today = dt.datetime.now(TZ).date()
    with bulk.connect(dsn) as conn, bulk.tenant_transaction(conn, clinic.id):
        practitioners = [
            r[0]
            for r in conn.execute(
                "select id from practitioner order by id limit %s", [PRACTITIONERS]
            ).fetchall()
        ]
        patients = [
            r[0]
            for r in conn.execute(
                "select id from patient where archived_at is null order by id"
            ).fetchall()
        ]
        existing = conn.execute(
            "select min(starts_at), max(starts_at), count(*) from appointment"
            " where practitioner_id = any(%s)",
            [practitioners],
        ).fetchone()
        assert existing is not None
        if existing[2]:
            first, last = (existing[0].astimezone(TZ).date(), existing[1].astimezone(TZ).date())
            return AgendaData(practitioners, patients, first, last, int(existing[2]))
        first, last = today - dt.timedelta(days=PAST_DAYS), today + dt.timedelta(days=FUTURE_DAYS)
        rows = _rows(clinic.id, practitioners, patients, first=first, last=last)
        count = bulk.staged_insert(conn, "appointment", COLUMNS, rows)
    bulk.vacuum_analyze(dsn, ("appointment",))
    return AgendaData(practitioners, patients, first, last, count)


def _rows(
    tenant: uuid.UUID,
    practitioners: Sequence[uuid.UUID],
    patients: Sequence[uuid.UUID],
    *,
    first: dt.date,
    last: dt.date,
) -> Iterator[tuple[Any, ...]]:
    rng, now = random.Random(2026), dt.datetime.now(dt.UTC)
    day, n = first, 0
    while day <= last:
        if day.weekday() < 5:
            for s, hour in enumerate(HOURS):
                start = dt.datetime.combine(day, dt.time(hour), TZ)
                for p, practitioner in enumerate(practitioners):
                    # distinct patients at one time: p * len(HOURS) + s differs per practitioner
                    patient = patients[
                        (n * len(practitioners) * len(HOURS) + p * len(HOURS) + s) % len(patients)
                    ]
                    yield _row(tenant, practitioner, patient, start, past=start < now, rng=rng)
            n += 1
        day += dt.timedelta(days=1)


def _row(
    tenant: uuid.UUID,
    practitioner: uuid.UUID,
    patient: uuid.UUID,
    start: dt.datetime,
    *,
    past: bool,
    rng: random.Random,
) -> tuple[Any, ...]:
    status, by, reason = "scheduled", None, None
    roll = rng.random()
    if roll < 0.08:
        status, by, reason = "cancelled", rng.choice(("clinic", "patient")), "Remarcado"
    elif past:
        status = "no_show" if roll < 0.13 else "completed"
    elif roll < 0.5:
        status = "confirmed"
    appointment_id = new_id()
    end = start + dt.timedelta(minutes=50)
    kind = "evaluation" if rng.random() < 0.1 else "session"
    return (
        tenant, appointment_id, appointment_id, patient, practitioner, start, end, kind,
        "in_person", status, by, reason, past,
    )  # fmt: skip
