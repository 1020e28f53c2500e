"""The agenda: appointments, recurring series, rooms and practitioners' time off.

Invariants enforced by the database (migration scheduling), not only by the service:
- no two non-cancelled appointments overlap for the same practitioner, room or patient
  (exclusion constraints on `during`, a `[)` range, so back-to-back slots are fine);
- group sessions: the rows of one group share a `slot_id` and may overlap each other,
  never anything else (`slot_id <>` in the practitioner and room constraints); an
  individual appointment's `slot_id` is its own id;
- status moves only along the lifecycle (trigger `appointment_status_guard`);
- appointments are never deleted by the application role: they are cancelled.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Computed,
    ForeignKeyConstraint,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import TSTZRANGE, ExcludeConstraint, Range
from sqlalchemy.orm import Mapped, mapped_column

from fisioflow.models.base import Base, TenantScoped

APPOINTMENT_TYPES = ("evaluation", "session", "reevaluation", "teleconsultation", "group")
CHANNELS = ("in_person", "online")
APPOINTMENT_STATUSES = (
    "scheduled",
    "confirmed",
    "checked_in",
    "in_progress",
    "completed",
    "cancelled",
    "no_show",
)
CANCELLED_BY = ("clinic", "patient")
TIME_OFF_KINDS = ("holiday", "vacation", "blocked")
_LIVE = "status <> 'cancelled'"


def _tenant_fk(column: str, table: str) -> ForeignKeyConstraint:
    return ForeignKeyConstraint(["tenant_id", column], [f"{table}.tenant_id", f"{table}.id"])


class Room(TenantScoped, Base):
    __tablename__ = "room"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name"),
        CheckConstraint("status in ('active', 'inactive')", name="status"),
        ForeignKeyConstraint(["tenant_id"], ["clinic.id"], ondelete="CASCADE"),
    )

    name: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(10), default="active", server_default="active")


class TimeOff(TenantScoped, Base):
    """A holiday, vacation or blocked time; without a practitioner it closes the clinic."""

    __tablename__ = "time_off"
    __table_args__ = (
        CheckConstraint(f"kind in {TIME_OFF_KINDS!r}", name="kind"),
        CheckConstraint("ends_at > starts_at", name="ordered"),
        ForeignKeyConstraint(["tenant_id"], ["clinic.id"], ondelete="CASCADE"),
        _tenant_fk("practitioner_id", "practitioner"),
        Index(None, "tenant_id", "practitioner_id", "starts_at"),
    )

    practitioner_id: Mapped[uuid.UUID | None]
    kind: Mapped[str] = mapped_column(String(10))
    starts_at: Mapped[dt.datetime]
    ends_at: Mapped[dt.datetime]
    reason: Mapped[str | None] = mapped_column(String(200))


class _Booking:
    """Columns an appointment shares with the series that generates it."""

    patient_id: Mapped[uuid.UUID]
    practitioner_id: Mapped[uuid.UUID]
    room_id: Mapped[uuid.UUID | None]
    type: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(10), default="in_person")
    price: Mapped[Decimal | None]
    notes: Mapped[str | None] = mapped_column(String(2000))
    created_by: Mapped[uuid.UUID | None]


class AppointmentSeries(_Booking, TenantScoped, Base):
    """An RFC 5545 recurrence; each occurrence is a real appointment row."""

    __tablename__ = "appointment_series"
    __table_args__ = (
        CheckConstraint(f"type in {APPOINTMENT_TYPES!r}", name="type"),
        CheckConstraint(f"channel in {CHANNELS!r}", name="channel"),
        CheckConstraint("duration_minutes between 15 and 240", name="duration"),
        ForeignKeyConstraint(["tenant_id"], ["clinic.id"], ondelete="CASCADE"),
        _tenant_fk("patient_id", "patient"),
        _tenant_fk("practitioner_id", "practitioner"),
        _tenant_fk("room_id", "room"),
        _tenant_fk("created_by", "user_account"),
        Index(None, "tenant_id", "patient_id"),
    )

    rrule: Mapped[str] = mapped_column(String(500))
    starts_at: Mapped[dt.datetime]
    duration_minutes: Mapped[int]
    timezone: Mapped[str] = mapped_column(String(64))


class Appointment(_Booking, TenantScoped, Base):
    __tablename__ = "appointment"
    __table_args__ = (
        CheckConstraint(f"type in {APPOINTMENT_TYPES!r}", name="type"),
        CheckConstraint(f"channel in {CHANNELS!r}", name="channel"),
        CheckConstraint(f"status in {APPOINTMENT_STATUSES!r}", name="status"),
        CheckConstraint(
            "ends_at - starts_at between interval '15 minutes' and interval '4 hours'",
            name="duration",
        ),
        CheckConstraint("price >= 0", name="price"),
        CheckConstraint(
            "(type = 'group') = (capacity is not null) and (type = 'group' or slot_id = id)",
            name="group_slot",
        ),
        CheckConstraint("capacity between 2 and 100", name="capacity"),
        CheckConstraint("(status = 'cancelled') = (cancelled_by is not null)", name="cancelled_by"),
        CheckConstraint(f"cancelled_by in {CANCELLED_BY!r}", name="cancelled_by_value"),
        ForeignKeyConstraint(["tenant_id"], ["clinic.id"], ondelete="CASCADE"),
        _tenant_fk("patient_id", "patient"),
        _tenant_fk("practitioner_id", "practitioner"),
        _tenant_fk("room_id", "room"),
        _tenant_fk("series_id", "appointment_series"),
        _tenant_fk("created_by", "user_account"),
        ExcludeConstraint(
            ("tenant_id", "="),
            ("practitioner_id", "="),
            ("slot_id", "<>"),
            ("during", "&&"),
            name="appointment_practitioner_overlap",
            using="gist",
            deferrable=True,
            initially="IMMEDIATE",
            where=_LIVE,
        ),
        ExcludeConstraint(
            ("tenant_id", "="),
            ("room_id", "="),
            ("slot_id", "<>"),
            ("during", "&&"),
            name="appointment_room_overlap",
            using="gist",
            deferrable=True,
            initially="IMMEDIATE",
            where=f"{_LIVE} and room_id is not null",
        ),
        ExcludeConstraint(
            ("tenant_id", "="),
            ("patient_id", "="),
            ("during", "&&"),
            name="appointment_patient_overlap",
            using="gist",
            deferrable=True,
            initially="IMMEDIATE",
            where=_LIVE,
        ),
        Index(None, "tenant_id", "practitioner_id", "starts_at"),
        Index(None, "tenant_id", "patient_id", "starts_at"),
        Index(None, "tenant_id", "series_id", "starts_at"),
        Index(None, "tenant_id", "starts_at"),
    )

    series_id: Mapped[uuid.UUID | None]
    slot_id: Mapped[uuid.UUID]
    capacity: Mapped[int | None]
    starts_at: Mapped[dt.datetime]
    ends_at: Mapped[dt.datetime]
    during: Mapped[Range[dt.datetime]] = mapped_column(
        TSTZRANGE, Computed("tstzrange(starts_at, ends_at, '[)')", persisted=True)
    )
    status: Mapped[str] = mapped_column(String(12), default="scheduled", server_default="scheduled")
    status_changed_at: Mapped[dt.datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(String(500))
    cancelled_by: Mapped[str | None] = mapped_column(String(10))
    # An admin booked it after the fact (start in the past), e.g. when migrating paper.
    backfilled: Mapped[bool] = mapped_column(default=False, server_default="false")
    version: Mapped[int] = mapped_column(default=1, server_default="1")
