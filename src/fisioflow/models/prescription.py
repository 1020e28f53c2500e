"""Home-exercise prescriptions: items, their immutable versions, and the patient's logs.

A prescription belongs to one patient and one practitioner and holds items. An item's
parameters live in `prescription_item_version` rows: changing an item adds a version and
marks the previous one superseded (never updated otherwise, trigger
`prescription_item_version_guard`), so a log always points at the version the patient
actually did. Invariants kept by the database (migration 0016_exercise):
- a version names exactly one exercise, from the library or from the clinic;
- an `exercise_log` belongs to the patient of the version it points at (composite FK);
- a log may be corrected for 24 hours after it was recorded, then it is frozen, and its
  identity columns never change (trigger `exercise_log_guard`);
- one log per (patient, Idempotency-Key) (unique constraint).
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKeyConstraint,
    Index,
    Numeric,
    SmallInteger,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from fisioflow.models.base import Base, TenantScoped

PRESCRIPTION_STATUSES = ("active", "paused", "completed", "cancelled")


class Prescription(TenantScoped, Base):
    __tablename__ = "prescription"
    __table_args__ = (
        CheckConstraint(f"status in {PRESCRIPTION_STATUSES!r}", name="status"),
        CheckConstraint("jsonb_typeof(status_history) = 'array'", name="status_history_array"),
        ForeignKeyConstraint(["tenant_id"], ["clinic.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "patient_id"], ["patient.tenant_id", "patient.id"]),
        ForeignKeyConstraint(
            ["tenant_id", "practitioner_id"], ["practitioner.tenant_id", "practitioner.id"]
        ),
        # Also the patient's list index (newest first = id descending).
        UniqueConstraint("tenant_id", "patient_id", "id"),
        Index(None, "tenant_id", "status"),
    )

    patient_id: Mapped[uuid.UUID]
    practitioner_id: Mapped[uuid.UUID]
    title: Mapped[str] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(String(2000))
    status: Mapped[str] = mapped_column(String(12), default="active", server_default="active")
    # [{"status": ..., "at": ISO timestamp, "by": user id}], oldest first: which days
    # were due (active) and which were not (paused, ended).
    status_history: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    created_by: Mapped[uuid.UUID]


class PrescriptionItem(TenantScoped, Base):
    __tablename__ = "prescription_item"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "patient_id", "prescription_id"],
            ["prescription.tenant_id", "prescription.patient_id", "prescription.id"],
        ),
        UniqueConstraint("tenant_id", "prescription_id", "position"),
        UniqueConstraint("tenant_id", "patient_id", "id"),
    )

    prescription_id: Mapped[uuid.UUID]
    patient_id: Mapped[uuid.UUID]
    position: Mapped[int] = mapped_column(SmallInteger)


class PrescriptionItemVersion(TenantScoped, Base):
    __tablename__ = "prescription_item_version"
    __table_args__ = (
        CheckConstraint("num_nonnulls(library_exercise_id, exercise_id) = 1", name="one_exercise"),
        CheckConstraint("sets between 1 and 1000", name="sets"),
        CheckConstraint("reps between 1 and 1000", name="reps"),
        CheckConstraint("hold_seconds between 1 and 3600", name="hold_seconds"),
        CheckConstraint("duration_seconds between 1 and 86400", name="duration_seconds"),
        CheckConstraint("num_nonnulls(reps, hold_seconds, duration_seconds) >= 1", name="dose"),
        CheckConstraint("load_kg > 0 and load_kg <= 500", name="load_kg"),
        CheckConstraint("times_per_day between 1 and 10", name="times_per_day"),
        CheckConstraint(
            "cardinality(days_of_week) between 1 and 7 and days_of_week <@ '{1,2,3,4,5,6,7}'",
            name="days_of_week",
        ),
        CheckConstraint("end_on >= start_on", name="dates"),
        ForeignKeyConstraint(
            ["tenant_id", "patient_id", "item_id"],
            ["prescription_item.tenant_id", "prescription_item.patient_id", "prescription_item.id"],
        ),
        ForeignKeyConstraint(["library_exercise_id"], ["exercise_library.id"]),
        ForeignKeyConstraint(["tenant_id", "exercise_id"], ["exercise.tenant_id", "exercise.id"]),
        UniqueConstraint("tenant_id", "item_id", "version"),
        UniqueConstraint("tenant_id", "patient_id", "id"),
        Index(
            "uq_prescription_item_version_current",
            "tenant_id",
            "item_id",
            unique=True,
            postgresql_where=text("superseded_at is null"),
        ),
    )

    item_id: Mapped[uuid.UUID]
    patient_id: Mapped[uuid.UUID]
    version: Mapped[int] = mapped_column(SmallInteger)
    library_exercise_id: Mapped[uuid.UUID | None]
    exercise_id: Mapped[uuid.UUID | None]
    sets: Mapped[int] = mapped_column(SmallInteger)
    reps: Mapped[int | None] = mapped_column(SmallInteger)
    hold_seconds: Mapped[int | None] = mapped_column(SmallInteger)
    duration_seconds: Mapped[int | None]
    load_kg: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    times_per_day: Mapped[int] = mapped_column(SmallInteger)
    days_of_week: Mapped[list[int]] = mapped_column(ARRAY(SmallInteger))
    start_on: Mapped[dt.date]
    end_on: Mapped[dt.date | None]
    notes: Mapped[str | None] = mapped_column(String(2000))
    # First day (clinic time) on which this version applies; the previous version
    # applies before it.
    effective_on: Mapped[dt.date]
    superseded_at: Mapped[dt.datetime | None]
    created_by: Mapped[uuid.UUID]


class ExerciseLog(TenantScoped, Base):
    __tablename__ = "exercise_log"
    __table_args__ = (
        CheckConstraint("sets_done between 1 and 1000", name="sets_done"),
        CheckConstraint("reps_done between 1 and 1000", name="reps_done"),
        CheckConstraint("duration_seconds between 1 and 86400", name="duration_seconds"),
        CheckConstraint("num_nonnulls(sets_done, reps_done, duration_seconds) >= 1", name="done"),
        CheckConstraint("pain_before between 0 and 10", name="pain_before"),
        CheckConstraint("pain_after between 0 and 10", name="pain_after"),
        CheckConstraint("difficulty between 0 and 10", name="difficulty"),
        CheckConstraint("octet_length(sensor_data::text) <= 131072", name="sensor_data_size"),
        ForeignKeyConstraint(["tenant_id"], ["clinic.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(
            ["tenant_id", "patient_id", "item_version_id"],
            [
                "prescription_item_version.tenant_id",
                "prescription_item_version.patient_id",
                "prescription_item_version.id",
            ],
        ),
        # A patient's logs in time order: adherence, trends, alerts.
        Index(None, "tenant_id", "patient_id", "performed_at"),
        UniqueConstraint("tenant_id", "patient_id", "idempotency_key"),
    )

    patient_id: Mapped[uuid.UUID]
    item_version_id: Mapped[uuid.UUID]
    performed_at: Mapped[dt.datetime]
    sets_done: Mapped[int | None] = mapped_column(SmallInteger)
    reps_done: Mapped[int | None] = mapped_column(SmallInteger)
    duration_seconds: Mapped[int | None]
    pain_before: Mapped[int] = mapped_column(SmallInteger)
    pain_after: Mapped[int] = mapped_column(SmallInteger)
    difficulty: Mapped[int | None] = mapped_column(SmallInteger)
    note: Mapped[str | None] = mapped_column(String(2000))
    sensor_data: Mapped[dict[str, Any] | None]
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    request_hash: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[uuid.UUID]
