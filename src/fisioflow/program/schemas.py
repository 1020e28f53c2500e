"""Patient portal bodies: the day's program and logged sessions."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal
from typing import Any, Self

from pydantic import AwareDatetime, BaseModel, Field, field_validator, model_validator

from fisioflow.core.schemas import StrictModel
from fisioflow.exercise.schemas import ExerciseSummary

SENSOR_DATA_MAX_BYTES = 64 * 1024
Pain = Field(ge=0, le=10, description="Numeric rating scale, 0 (no pain) to 10")


class DueItem(BaseModel):
    prescription_id: uuid.UUID
    prescription_title: str
    item_id: uuid.UUID
    item_version_id: uuid.UUID = Field(description="Send this with the log")
    version: int
    exercise: ExerciseSummary
    sets: int
    reps: int | None
    hold_seconds: int | None
    duration_seconds: int | None
    load_kg: Decimal | None
    notes: str | None
    times_per_day: int
    done: int = Field(description="Sessions logged for this item on this date")
    remaining: int


class ProgramOut(BaseModel):
    date: dt.date
    timezone: str
    items: list[DueItem]


class LogIn(StrictModel):
    item_version_id: uuid.UUID = Field(description="From the program: what was done")
    performed_at: AwareDatetime
    sets_done: int | None = Field(default=None, ge=1, le=1000)
    reps_done: int | None = Field(default=None, ge=1, le=1000)
    duration_seconds: int | None = Field(default=None, ge=1, le=86400)
    pain_before: int = Pain
    pain_after: int = Pain
    difficulty: int | None = Field(
        default=None, ge=0, le=10, description="Perceived exertion, 0 (none) to 10 (maximal)"
    )
    note: str | None = Field(default=None, max_length=2000)
    sensor_data: dict[str, Any] | None = Field(
        default=None, description="Free JSON object from a device, at most 64 KiB"
    )

    @field_validator("sensor_data")
    @classmethod
    def _small(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
            if size > SENSOR_DATA_MAX_BYTES:
                raise ValueError(f"must be at most {SENSOR_DATA_MAX_BYTES} bytes of JSON")
        return value

    @model_validator(mode="after")
    def _something_done(self) -> Self:
        if self.sets_done is None and self.reps_done is None and self.duration_seconds is None:
            raise ValueError("give sets_done, reps_done or duration_seconds")
        return self


class LogUpdate(StrictModel):
    """A correction within 24 hours of logging; the item version cannot change."""

    performed_at: AwareDatetime | None = None
    sets_done: int | None = Field(default=None, ge=1, le=1000)
    reps_done: int | None = Field(default=None, ge=1, le=1000)
    duration_seconds: int | None = Field(default=None, ge=1, le=86400)
    pain_before: int | None = Field(default=None, ge=0, le=10)
    pain_after: int | None = Field(default=None, ge=0, le=10)
    difficulty: int | None = Field(default=None, ge=0, le=10)
    note: str | None = Field(default=None, max_length=2000)
    sensor_data: dict[str, Any] | None = None


class LogOut(BaseModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    item_version_id: uuid.UUID
    performed_at: dt.datetime
    sets_done: int | None
    reps_done: int | None
    duration_seconds: int | None
    pain_before: int
    pain_after: int
    difficulty: int | None
    note: str | None
    sensor_data: dict[str, Any] | None
    created_at: dt.datetime
    updated_at: dt.datetime
    editable_until: dt.datetime
