"""Agenda bodies. Every datetime a client sends must carry its offset (no naive times)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    Field,
    ValidationInfo,
    field_serializer,
    field_validator,
)

from fisioflow.core.schemas import StrictModel

AppointmentType = Literal["evaluation", "session", "reevaluation", "teleconsultation", "group"]
Channel = Literal["in_person", "online"]
Status = Literal[
    "scheduled", "confirmed", "checked_in", "in_progress", "completed", "cancelled", "no_show"
]
Scope = Literal["this", "following", "series"]
Resource = Literal["practitioner", "room", "patient"]
MIN_MINUTES, MAX_MINUTES = 15, 240
Minutes = Annotated[int, Field(ge=MIN_MINUTES, le=MAX_MINUTES)]
Price = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)]
Notes = Annotated[str, Field(max_length=2000)]


class _Timing(StrictModel):
    """`starts_at` plus either `ends_at` or `duration_minutes`."""

    starts_at: AwareDatetime
    ends_at: AwareDatetime | None = None
    duration_minutes: Minutes | None = Field(default=None, validate_default=True)

    @field_validator("ends_at")
    @classmethod
    def _after_start(cls, value: dt.datetime | None, info: ValidationInfo) -> dt.datetime | None:
        start = info.data.get("starts_at")
        if value is not None and start is not None:
            minutes = (value - start).total_seconds() / 60
            if minutes <= 0:
                raise ValueError("must be after starts_at")
            if not MIN_MINUTES <= minutes <= MAX_MINUTES:
                raise ValueError(f"the appointment must last {MIN_MINUTES} minutes to 4 hours")
        return value

    @field_validator("duration_minutes", mode="after")
    @classmethod
    def _one_end(cls, value: int | None, info: ValidationInfo) -> int | None:
        if (value is None) == (info.data.get("ends_at") is None) and "ends_at" in info.data:
            raise ValueError("give exactly one of ends_at and duration_minutes")
        return value

    @property
    def end(self) -> dt.datetime:
        if self.ends_at is not None:
            return self.ends_at
        assert self.duration_minutes is not None
        return self.starts_at + dt.timedelta(minutes=self.duration_minutes)


class AppointmentIn(_Timing):
    patient_id: uuid.UUID
    practitioner_id: uuid.UUID
    room_id: uuid.UUID | None = None
    type: AppointmentType = "session"
    channel: Channel = "in_person"
    price: Price | None = None
    notes: Notes | None = None
    capacity: int | None = Field(
        default=None, ge=2, le=100, validate_default=True, description="Group sessions only"
    )
    backfill: bool = Field(
        default=False, description="Admins only: record a visit whose start is in the past"
    )

    @field_validator("capacity", mode="after")
    @classmethod
    def _group_capacity(cls, value: int | None, info: ValidationInfo) -> int | None:
        if (info.data.get("type") == "group") != (value is not None):
            raise ValueError("required for group sessions and only for them")
        return value


class ParticipantIn(StrictModel):
    patient_id: uuid.UUID
    price: Price | None = None
    notes: Notes | None = None


class AppointmentUpdate(StrictModel):
    """Reschedule or edit. Moving applies the same wall-clock shift to every occurrence
    the scope selects (`following`, `series`: future, not yet attended ones)."""

    starts_at: AwareDatetime | None = None
    duration_minutes: Minutes | None = None
    practitioner_id: uuid.UUID | None = None
    room_id: uuid.UUID | None = None
    channel: Channel | None = None
    price: Price | None = None
    notes: Notes | None = None
    scope: Scope = "this"


class CancelIn(StrictModel):
    reason: str = Field(min_length=1, max_length=500)
    cancelled_by: Literal["clinic", "patient"]
    scope: Scope = "this"


class AppointmentOut(BaseModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    practitioner_id: uuid.UUID
    room_id: uuid.UUID | None
    series_id: uuid.UUID | None
    slot_id: uuid.UUID
    capacity: int | None
    starts_at: dt.datetime
    ends_at: dt.datetime
    type: str
    channel: str
    price: Decimal | None
    notes: str | None
    status: str
    status_changed_at: dt.datetime | None
    cancel_reason: str | None
    cancelled_by: str | None
    backfilled: bool
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime

    @field_serializer("starts_at", "ends_at")
    def _utc(self, value: dt.datetime) -> dt.datetime:
        return value.astimezone(dt.UTC)  # the same instant reads the same in every answer


class ConflictOut(BaseModel):
    appointment_id: uuid.UUID
    starts_at: dt.datetime
    ends_at: dt.datetime
    resource: Resource


class SeriesIn(StrictModel):
    patient_id: uuid.UUID
    practitioner_id: uuid.UUID
    room_id: uuid.UUID | None = None
    starts_at: AwareDatetime = Field(description="First occurrence; its wall-clock time repeats")
    duration_minutes: Minutes
    rrule: str = Field(min_length=6, max_length=500, examples=["FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10"])
    type: Literal["evaluation", "session", "reevaluation", "teleconsultation"] = "session"
    channel: Channel = "in_person"
    price: Price | None = None
    notes: Notes | None = None
    skip_conflicts: bool = False


class SkippedOccurrence(BaseModel):
    starts_at: dt.datetime
    ends_at: dt.datetime
    conflicts: list[ConflictOut]


class SeriesOut(BaseModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    practitioner_id: uuid.UUID
    room_id: uuid.UUID | None
    rrule: str
    starts_at: dt.datetime
    duration_minutes: int
    timezone: str
    type: str
    channel: str
    appointments: list[AppointmentOut]
    skipped: list[SkippedOccurrence] = Field(default_factory=list)

    @field_serializer("starts_at")
    def _utc(self, value: dt.datetime) -> dt.datetime:
        return value.astimezone(dt.UTC)


class SeriesCancelIn(StrictModel):
    reason: str = Field(min_length=1, max_length=500)
    cancelled_by: Literal["clinic", "patient"]
    from_on: dt.date | None = Field(
        default=None, description="Cancel occurrences from this date on (clinic time)"
    )


class Slot(BaseModel):
    starts_at: dt.datetime
    ends_at: dt.datetime


class AvailabilityOut(BaseModel):
    practitioner_id: uuid.UUID
    timezone: str
    duration_minutes: int
    slots: list[Slot]


class AgendaItem(BaseModel):
    id: uuid.UUID
    starts_at: dt.datetime
    ends_at: dt.datetime
    status: str
    type: str
    channel: str
    patient_id: uuid.UUID
    patient_name: str
    practitioner_id: uuid.UUID
    practitioner_name: str
    room_id: uuid.UUID | None
    room_name: str | None
    series_id: uuid.UUID | None
    slot_id: uuid.UUID


class AgendaDay(BaseModel):
    date: dt.date
    appointments: list[AgendaItem]


class AgendaOut(BaseModel):
    view: Literal["day", "week"]
    timezone: str
    starts_on: dt.date
    ends_on: dt.date
    days: list[AgendaDay]


class RoomIn(StrictModel):
    name: str = Field(min_length=1, max_length=120)
    status: Literal["active", "inactive"] = "active"


class RoomUpdate(StrictModel):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    status: Literal["active", "inactive"] | None = None


class RoomOut(BaseModel):
    id: uuid.UUID
    name: str
    status: str


class TimeOffIn(StrictModel):
    practitioner_id: uuid.UUID | None = Field(
        default=None, description="Omit to close the whole clinic (holiday)"
    )
    kind: Literal["holiday", "vacation", "blocked"]
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    reason: str | None = Field(default=None, max_length=200)

    @field_validator("ends_at")
    @classmethod
    def _ordered(cls, value: dt.datetime, info: ValidationInfo) -> dt.datetime:
        start = info.data.get("starts_at")
        if start is not None and value <= start:
            raise ValueError("must be after starts_at")
        if start is not None and value - start > dt.timedelta(days=366):
            raise ValueError("time off spans at most a year")
        return value


class TimeOffOut(BaseModel):
    id: uuid.UUID
    practitioner_id: uuid.UUID | None
    kind: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    reason: str | None


class Attendance(BaseModel):
    """Counts over the patient's appointments, for the registry."""

    no_shows: int
    cancellations: int
    cancelled_by_patient: int
    completed: int
