"""Patient engagement: diary, mood check-ins, secure messages, internal notes, SOS.

Invariants enforced by the database (migration 0013_engagement), not only by the service:
- a private diary entry is visible to its patient (and system actors) only: the staff
  roles' RLS policy keeps `private` rows out, whatever the SQL;
- internal notes have no patient-role policy at all: a patient reads and writes none;
- messages, mood check-ins, internal notes and SOS events are append-only for the
  application role; a message only takes its read receipt (`read_at`, `read_by`) and an
  SOS event its acknowledgement (column grants), from the other side of the thread.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import CheckConstraint, ForeignKeyConstraint, Index, SmallInteger, String, Text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from fisioflow.models.base import Base, TenantScoped

MAX_TAGS = 10
MESSAGE_SENDERS = ("patient", "staff")


def _of_patient() -> tuple[ForeignKeyConstraint | Index, ...]:
    """Owned by a patient; the index serves each patient's newest-first lists (UUIDv7)."""
    return (
        ForeignKeyConstraint(["tenant_id"], ["clinic.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "patient_id"], ["patient.tenant_id", "patient.id"]),
        Index(None, "tenant_id", "patient_id", "id"),
    )


def _by_user(column: str) -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["tenant_id", column], ["user_account.tenant_id", "user_account.id"]
    )


class DiaryEntry(TenantScoped, Base):
    __tablename__ = "diary_entry"
    __table_args__ = (
        *_of_patient(),
        CheckConstraint("char_length(text) between 1 and 5000", name="text_length"),
        CheckConstraint("mood between 1 and 5", name="mood_range"),
        CheckConstraint(f"cardinality(tags) <= {MAX_TAGS}", name="tags_count"),
    )

    patient_id: Mapped[uuid.UUID]
    title: Mapped[str | None] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    mood: Mapped[int | None] = mapped_column(SmallInteger)
    tags: Mapped[list[str]] = mapped_column(ARRAY(String(40)), default=list, server_default="{}")
    private: Mapped[bool] = mapped_column(default=False, server_default="false")


class MoodEntry(TenantScoped, Base):
    __tablename__ = "mood_entry"
    __table_args__ = (
        *_of_patient(),
        CheckConstraint("mood between 1 and 5", name="mood_range"),
        CheckConstraint("energy between 0 and 3", name="energy_range"),
        CheckConstraint("char_length(note) <= 1000", name="note_length"),
    )

    patient_id: Mapped[uuid.UUID]
    mood: Mapped[int] = mapped_column(SmallInteger)
    energy: Mapped[int | None] = mapped_column(SmallInteger)
    note: Mapped[str | None] = mapped_column(Text)


class PatientMessage(TenantScoped, Base):
    """One thread per patient: every message of a patient with their clinic's staff."""

    __tablename__ = "patient_message"
    __table_args__ = (
        *_of_patient(),
        _by_user("sender_user_id"),
        _by_user("read_by"),
        CheckConstraint(f"sender_role in {MESSAGE_SENDERS!r}", name="sender_role"),
        CheckConstraint("char_length(body) between 1 and 5000", name="body_length"),
        CheckConstraint("(read_at is null) = (read_by is null)", name="read_receipt"),
    )

    patient_id: Mapped[uuid.UUID]
    sender_user_id: Mapped[uuid.UUID]
    sender_role: Mapped[str] = mapped_column(String(10))
    # The sender's name when they wrote: patients may not read staff user rows.
    sender_name: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    read_at: Mapped[dt.datetime | None]
    read_by: Mapped[uuid.UUID | None]


class InternalNote(TenantScoped, Base):
    """Staff-only note on a patient; never visible to the patient (RLS)."""

    __tablename__ = "internal_note"
    __table_args__ = (
        *_of_patient(),
        _by_user("author_user_id"),
        CheckConstraint("char_length(body) between 1 and 5000", name="body_length"),
    )

    patient_id: Mapped[uuid.UUID]
    author_user_id: Mapped[uuid.UUID]
    author_name: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)


class SosEvent(TenantScoped, Base):
    __tablename__ = "sos_event"
    __table_args__ = (
        *_of_patient(),
        _by_user("acknowledged_by"),
        CheckConstraint("char_length(message) <= 1000", name="message_length"),
        CheckConstraint("char_length(location) <= 300", name="location_length"),
        CheckConstraint(
            "(acknowledged_at is null) = (acknowledged_by is null)", name="acknowledgement"
        ),
    )

    patient_id: Mapped[uuid.UUID]
    message: Mapped[str | None] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(Text)
    # Resolved when the event is raised (function sos_recipients()): the patient's
    # assigned practitioner's user and the clinic's active admins.
    recipient_user_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(UUID(as_uuid=True)))
    acknowledged_at: Mapped[dt.datetime | None]
    acknowledged_by: Mapped[uuid.UUID | None]
