"""Exercises: the global library shipped with the product and each clinic's own.

`exercise_library` is global reference data (no tenant; the application role may only
read it), loaded by migration from `fisioflow/exercise/library.json` with ids derived
from each slug (uuid5), so an entry has the same id on every installation.
`exercise` holds a clinic's custom exercises and its adapted copies of library entries
(`source_exercise_id`). Both carry `search_text` (unaccented, lower-case name and
description) for accent- and case-insensitive search.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import (
    CheckConstraint,
    Computed,
    ForeignKeyConstraint,
    Index,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from fisioflow.models.base import Base, TenantScoped

BODY_REGIONS = (
    "cervical",
    "thoracic",
    "lumbar",
    "core",
    "shoulder",
    "elbow",
    "wrist_hand",
    "hip",
    "knee",
    "ankle_foot",
    "full_body",
)
CATEGORIES = (
    "strengthening",
    "mobility",
    "stretching",
    "balance",
    "motor_control",
    "cardio",
    "breathing",
)
DIFFICULTIES = ("beginner", "intermediate", "advanced")
SEARCH_TEXT = "f_unaccent(lower(((name)::text || ' '::text) || (description)::text))"


def _checks() -> tuple[CheckConstraint, ...]:
    return (
        CheckConstraint(f"body_region in {BODY_REGIONS!r}", name="body_region"),
        CheckConstraint(f"category in {CATEGORIES!r}", name="category"),
        CheckConstraint(f"difficulty in {DIFFICULTIES!r}", name="difficulty"),
        CheckConstraint(
            "default_sets between 1 and 1000 and default_reps between 1 and 1000"
            " and default_hold_seconds between 1 and 3600"
            " and default_duration_seconds between 1 and 86400",
            name="defaults",
        ),
        CheckConstraint("jsonb_typeof(instructions) = 'array'", name="instructions_array"),
        CheckConstraint(
            "jsonb_typeof(contraindications) = 'array'", name="contraindications_array"
        ),
    )


class _ExerciseFields:
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(2000))
    body_region: Mapped[str] = mapped_column(String(20))
    category: Mapped[str] = mapped_column(String(20))
    difficulty: Mapped[str] = mapped_column(String(20))
    default_sets: Mapped[int | None] = mapped_column(SmallInteger)
    default_reps: Mapped[int | None] = mapped_column(SmallInteger)
    default_hold_seconds: Mapped[int | None] = mapped_column(SmallInteger)
    default_duration_seconds: Mapped[int | None]
    instructions: Mapped[list[str]] = mapped_column(JSONB)
    contraindications: Mapped[list[str]] = mapped_column(JSONB)
    image_url: Mapped[str | None] = mapped_column(String(500))
    video_url: Mapped[str | None] = mapped_column(String(500))
    search_text: Mapped[str] = mapped_column(Text, Computed(SEARCH_TEXT, persisted=True))


class LibraryExercise(_ExerciseFields, Base):
    __tablename__ = "exercise_library"
    __table_args__ = _checks()

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)


class Exercise(_ExerciseFields, TenantScoped, Base):
    __tablename__ = "exercise"
    __table_args__ = (
        *_checks(),
        ForeignKeyConstraint(["tenant_id"], ["clinic.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["source_exercise_id"], ["exercise_library.id"]),
        ForeignKeyConstraint(
            ["tenant_id", "created_by"], ["user_account.tenant_id", "user_account.id"]
        ),
        Index(None, "tenant_id", "source_exercise_id"),
    )

    source_exercise_id: Mapped[uuid.UUID | None]
    created_by: Mapped[uuid.UUID | None]
    archived_at: Mapped[dt.datetime | None]
