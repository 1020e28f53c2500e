"""Prescription bodies: items dose an exercise and say when it is due."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, Field, field_validator, model_validator

from fisioflow.core.schemas import StrictModel
from fisioflow.exercise.schemas import ExerciseSummary

Status = Literal["active", "paused", "completed", "cancelled"]
Weekday = Annotated[int, Field(ge=1, le=7, description="ISO weekday: 1 Monday ... 7 Sunday")]
EVERY_DAY = [1, 2, 3, 4, 5, 6, 7]


class ItemIn(StrictModel):
    """One exercise of the program: dose (reps, hold or duration) and frequency."""

    exercise_id: uuid.UUID = Field(description="A library or clinic exercise")
    sets: int = Field(ge=1, le=1000)
    reps: int | None = Field(default=None, ge=1, le=1000)
    hold_seconds: int | None = Field(default=None, ge=1, le=3600)
    duration_seconds: int | None = Field(default=None, ge=1, le=86400)
    load_kg: Decimal | None = Field(default=None, gt=0, le=500, decimal_places=2)
    times_per_day: int = Field(default=1, ge=1, le=10)
    days_of_week: list[Weekday] = Field(
        default_factory=lambda: list(EVERY_DAY), min_length=1, max_length=7
    )
    start_on: dt.date
    end_on: dt.date | None = None
    notes: str | None = Field(default=None, max_length=2000)

    @field_validator("days_of_week")
    @classmethod
    def _distinct_days(cls, value: list[int]) -> list[int]:
        return sorted(set(value))

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.reps is None and self.hold_seconds is None and self.duration_seconds is None:
            raise ValueError("give reps, hold_seconds or duration_seconds")
        if self.end_on is not None and self.end_on < self.start_on:
            raise ValueError("end_on must not be before start_on")
        return self


class ItemUpdate(StrictModel):
    """Changes to an item: the current version is kept and a new one takes effect today."""

    exercise_id: uuid.UUID | None = None
    sets: int | None = Field(default=None, ge=1, le=1000)
    reps: int | None = Field(default=None, ge=1, le=1000)
    hold_seconds: int | None = Field(default=None, ge=1, le=3600)
    duration_seconds: int | None = Field(default=None, ge=1, le=86400)
    load_kg: Decimal | None = Field(default=None, gt=0, le=500, decimal_places=2)
    times_per_day: int | None = Field(default=None, ge=1, le=10)
    days_of_week: list[Weekday] | None = Field(default=None, min_length=1, max_length=7)
    start_on: dt.date | None = None
    end_on: dt.date | None = None
    notes: str | None = Field(default=None, max_length=2000)


class PrescriptionCreate(StrictModel):
    title: str = Field(min_length=1, max_length=200)
    notes: str | None = Field(default=None, max_length=2000)
    items: list[ItemIn] = Field(min_length=1, max_length=50)


class PrescriptionUpdate(StrictModel):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    notes: str | None = Field(default=None, max_length=2000)


class ItemVersionOut(BaseModel):
    id: uuid.UUID
    version: int
    exercise_id: uuid.UUID
    exercise: ExerciseSummary
    sets: int
    reps: int | None
    hold_seconds: int | None
    duration_seconds: int | None
    load_kg: Decimal | None
    times_per_day: int
    days_of_week: list[int]
    start_on: dt.date
    end_on: dt.date | None
    notes: str | None
    effective_on: dt.date
    superseded_at: dt.datetime | None
    created_at: dt.datetime


class ItemOut(BaseModel):
    id: uuid.UUID
    position: int
    current: ItemVersionOut
    history: list[ItemVersionOut] = Field(description="Earlier versions, newest first")


class StatusChangeOut(BaseModel):
    status: Status
    at: dt.datetime
    by: uuid.UUID | None = None


class PrescriptionOut(BaseModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    practitioner_id: uuid.UUID
    title: str
    notes: str | None
    status: Status
    status_history: list[StatusChangeOut]
    created_at: dt.datetime
    updated_at: dt.datetime


class PrescriptionDetail(PrescriptionOut):
    items: list[ItemOut]


def history_entry(status: str, at: dt.datetime, by: uuid.UUID | None) -> dict[str, Any]:
    return {"status": status, "at": at.isoformat(), "by": str(by) if by else None}
