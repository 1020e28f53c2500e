"""Exercise bodies: library and clinic exercises share one shape."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from pydantic import AnyHttpUrl, BaseModel, Field, StringConstraints

from fisioflow.core.schemas import StrictModel

BodyRegion = Literal[
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
]
Category = Literal[
    "strengthening", "mobility", "stretching", "balance", "motor_control", "cardio", "breathing"
]
Difficulty = Literal["beginner", "intermediate", "advanced"]
Source = Literal["library", "clinic"]
Step = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Url = Annotated[AnyHttpUrl, Field(max_length=500)]


class ExerciseFields(StrictModel):
    name: str = Field(min_length=2, max_length=200)
    description: str = Field(min_length=1, max_length=2000)
    body_region: BodyRegion
    category: Category
    difficulty: Difficulty
    default_sets: int | None = Field(default=None, ge=1, le=1000)
    default_reps: int | None = Field(default=None, ge=1, le=1000)
    default_hold_seconds: int | None = Field(default=None, ge=1, le=3600)
    default_duration_seconds: int | None = Field(default=None, ge=1, le=86400)
    instructions: list[Step] = Field(min_length=1, max_length=30)
    contraindications: list[Step] = Field(default_factory=list, max_length=30)
    image_url: Url | None = None
    video_url: Url | None = None


class ExerciseCreate(ExerciseFields):
    """A clinic's own exercise."""


class ExerciseUpdate(StrictModel):
    """Changes to a clinic exercise; `archived` hides it from searches and new items."""

    name: str | None = Field(default=None, min_length=2, max_length=200)
    description: str | None = Field(default=None, min_length=1, max_length=2000)
    body_region: BodyRegion | None = None
    category: Category | None = None
    difficulty: Difficulty | None = None
    default_sets: int | None = Field(default=None, ge=1, le=1000)
    default_reps: int | None = Field(default=None, ge=1, le=1000)
    default_hold_seconds: int | None = Field(default=None, ge=1, le=3600)
    default_duration_seconds: int | None = Field(default=None, ge=1, le=86400)
    instructions: list[Step] | None = Field(default=None, min_length=1, max_length=30)
    contraindications: list[Step] | None = Field(default=None, max_length=30)
    image_url: Url | None = None
    video_url: Url | None = None
    archived: bool | None = None


class ExerciseOut(BaseModel):
    id: uuid.UUID
    source: Source
    slug: str | None = None
    source_exercise_id: uuid.UUID | None = None
    name: str
    description: str
    body_region: BodyRegion
    category: Category
    difficulty: Difficulty
    default_sets: int | None
    default_reps: int | None
    default_hold_seconds: int | None
    default_duration_seconds: int | None
    instructions: list[str]
    contraindications: list[str]
    image_url: str | None
    video_url: str | None
    archived_at: dt.datetime | None = None


class ExerciseSummary(BaseModel):
    """What a prescription item or a program shows of its exercise."""

    id: uuid.UUID
    source: Source
    name: str
    body_region: BodyRegion
    category: Category
    instructions: list[str]
    contraindications: list[str]
    image_url: str | None
    video_url: str | None
