"""Bench rows for home-exercise programs: portal accounts, prescriptions, item versions and
a year of logged sessions per program patient (two daily items, most days done).

Rows are tuples in the column orders below, for `bulk.staged_insert` (COPY). Times are
São Paulo clinic time (UTC-03:00, no daylight saving since 2019).
"""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from fisioflow.core.ids import new_id
from fisioflow.exercise.library import library_id

TZ = dt.timezone(dt.timedelta(hours=-3))
ITEMS = (("ponte-de-gluteo", 12), ("mini-agachamento", 10))
ADHERENCE = 0.86  # chance that a due daily session was logged
DAYS = 365

USER_COLUMNS = ("tenant_id", "id", "email", "full_name", "role", "password_hash", "patient_id")
PRESCRIPTION_COLUMNS = (
    "tenant_id", "id", "patient_id", "practitioner_id", "title", "status", "status_history",
    "created_by", "created_at", "updated_at",
)  # fmt: skip
ITEM_COLUMNS = ("tenant_id", "id", "prescription_id", "patient_id", "position")
VERSION_COLUMNS = (
    "tenant_id", "id", "item_id", "patient_id", "version", "library_exercise_id", "sets", "reps",
    "times_per_day", "days_of_week", "start_on", "effective_on", "created_by",
)  # fmt: skip
LOG_COLUMNS = (
    "tenant_id", "id", "patient_id", "item_version_id", "performed_at", "sets_done", "reps_done",
    "pain_before", "pain_after", "difficulty", "created_by", "created_at", "updated_at",
)  # fmt: skip


@dataclass(frozen=True)
class Program:
    patient_id: uuid.UUID
    user_id: uuid.UUID
    version_ids: tuple[uuid.UUID, ...]


@dataclass
class ProgramRows:
    users: list[tuple[Any, ...]]
    prescriptions: list[tuple[Any, ...]]
    items: list[tuple[Any, ...]]
    versions: list[tuple[Any, ...]]
    programs: list[Program]


def program_rows(
    *,
    tenant_id: uuid.UUID,
    slug: str,
    patients: Sequence[tuple[uuid.UUID, uuid.UUID, uuid.UUID]],
    start: dt.date,
    password_hash: str,
    accounts: dict[uuid.UUID, uuid.UUID],
) -> ProgramRows:
    """`patients`: (patient id, practitioner id, practitioner's user id); `accounts`: the
    portal user of patients that already have one (kept, e.g. from an earlier run)."""
    out = ProgramRows([], [], [], [], [])
    started = dt.datetime.combine(start, dt.time(9), tzinfo=TZ)
    history = json.dumps([{"status": "active", "at": started.isoformat(), "by": None}])
    for patient_id, practitioner_id, prescriber in patients:
        prescription_id = new_id()
        user_id = accounts.get(patient_id)
        if user_id is None:
            user_id = new_id()
            email = f"paciente-{patient_id.hex[-12:]}@{slug}.example.com"
            out.users.append(
                (tenant_id, user_id, email, "Paciente", "patient", password_hash, patient_id)
            )
        out.prescriptions.append(
            (tenant_id, prescription_id, patient_id, practitioner_id, "Programa domiciliar",
             "active", history, prescriber, started, started)
        )  # fmt: skip
        versions = []
        for position, (slug_, reps) in enumerate(ITEMS, start=1):
            item_id, version_id = new_id(), new_id()
            out.items.append((tenant_id, item_id, prescription_id, patient_id, position))
            out.versions.append(
                (tenant_id, version_id, item_id, patient_id, 1, library_id(slug_), 3, reps, 1,
                 "{1,2,3,4,5,6,7}", start, start, prescriber)
            )  # fmt: skip
            versions.append(version_id)
        out.programs.append(Program(patient_id, user_id, tuple(versions)))
    return out


def log_rows(
    rng: random.Random, *, tenant_id: uuid.UUID, programs: Sequence[Program], start: dt.date
) -> Iterator[tuple[Any, ...]]:
    """One session per item on most days from `start` to yesterday, pain easing slowly."""
    midnight = dt.datetime.combine(start, dt.time(0), tzinfo=TZ)
    for program in programs:
        baseline = rng.randint(3, 7)
        for day in range(DAYS):
            if rng.random() > ADHERENCE:
                continue
            at = midnight + dt.timedelta(days=day, minutes=rng.randint(7 * 60, 21 * 60))
            pain = max(0, baseline - day // 60 + rng.randint(-1, 1))
            logged = at + dt.timedelta(minutes=rng.randint(1, 30))
            for version_id in program.version_ids:
                yield (
                    tenant_id, new_id(), program.patient_id, version_id, at, 3,
                    rng.randint(8, 12), pain, max(0, pain + rng.randint(-1, 1)),
                    rng.randint(2, 7), program.user_id, logged, logged,
                )  # fmt: skip
