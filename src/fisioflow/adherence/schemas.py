"""Adherence report bodies."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, Field


class Counts(BaseModel):
    due: int = Field(description="Sessions due (times per day on due days)")
    done: int = Field(description="Due sessions that were logged (at most `due` per day)")
    logged: int = Field(description="Every logged session, extra ones included")
    adherence: float | None = Field(description="done / due, 0-1; null when nothing was due")


class Week(Counts):
    week_start: dt.date = Field(description="Monday of the ISO week")


class ItemAdherence(Counts):
    item_id: uuid.UUID
    prescription_id: uuid.UUID
    prescription_title: str
    exercise_name: str
    weeks: list[Week]


class PainDay(BaseModel):
    date: dt.date
    sessions: int
    pain_before: float = Field(description="Mean of the day's sessions")
    pain_after: float


class AdherenceOut(BaseModel):
    patient_id: uuid.UUID
    from_: dt.date = Field(alias="from")
    to: dt.date
    timezone: str
    overall: Counts
    weeks: list[Week]
    items: list[ItemAdherence]
    pain: list[PainDay]

    model_config = {"populate_by_name": True}
