"""Practitioner bodies: council registration and weekly working hours."""

from __future__ import annotations

import datetime as dt
import itertools
import re
import uuid
from typing import Literal

from pydantic import BaseModel, EmailStr, Field, field_validator, model_validator

from fisioflow.core import br
from fisioflow.core.schemas import StrictModel

# CREFITO: physiotherapy/occupational therapy; CRP: psychology. Add councils here.
COUNCILS = ("CREFITO", "CRP", "CREFONO", "CRN", "CRM", "COREN", "CREF")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_NUMBER = re.compile(r"^[0-9A-Z][0-9A-Z/-]{0,19}$")


class Interval(StrictModel):
    start: dt.time
    end: dt.time

    @model_validator(mode="after")
    def _ordered(self) -> Interval:
        if self.start >= self.end:
            raise ValueError("start must be before end")
        return self


WorkingHours = dict[Weekday, list[Interval]]


def _valid_hours(value: WorkingHours | None) -> WorkingHours | None:
    for day, intervals in (value or {}).items():
        ordered = sorted(intervals, key=lambda i: i.start)
        for before, after in itertools.pairwise(ordered):
            if after.start < before.end:
                raise ValueError(f"{day}: intervals overlap")
        if value is not None:
            value[day] = ordered
    return value


class _PractitionerFields(StrictModel):
    @field_validator("council", check_fields=False)
    @classmethod
    def _council(cls, value: str | None) -> str | None:
        if value is not None and value.upper() not in COUNCILS:
            raise ValueError(f"council must be one of {', '.join(COUNCILS)}")
        return value.upper() if value else value

    @field_validator("council_number", check_fields=False)
    @classmethod
    def _number(cls, value: str | None) -> str | None:
        if value is not None and not _NUMBER.match(value.strip().upper()):
            raise ValueError("registration number: digits and letters, up to 20")
        return value.strip().upper() if value else value

    @field_validator("council_state", check_fields=False)
    @classmethod
    def _state(cls, value: str | None) -> str | None:
        return br.uf(value) if value is not None else None

    @field_validator("phone", check_fields=False)
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return br.phone_e164(value) if value else None

    _hours = field_validator("working_hours", check_fields=False)(_valid_hours)


class PractitionerIn(_PractitionerFields):
    full_name: str = Field(min_length=2, max_length=200)
    email: EmailStr | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=30)
    council: str = Field(max_length=20)
    council_number: str = Field(max_length=20)
    council_state: str = Field(max_length=2)
    specialty: str | None = Field(default=None, max_length=120)
    status: Literal["active", "inactive"] = "active"
    working_hours: WorkingHours = Field(default_factory=dict)
    user_id: uuid.UUID | None = None


class PractitionerUpdate(_PractitionerFields):
    full_name: str | None = Field(default=None, min_length=2, max_length=200)
    email: EmailStr | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=30)
    council: str | None = Field(default=None, max_length=20)
    council_number: str | None = Field(default=None, max_length=20)
    council_state: str | None = Field(default=None, max_length=2)
    specialty: str | None = Field(default=None, max_length=120)
    status: Literal["active", "inactive"] | None = None
    working_hours: WorkingHours | None = None
    user_id: uuid.UUID | None = None


class PractitionerOut(BaseModel):
    id: uuid.UUID
    full_name: str
    email: str | None
    phone: str | None
    council: str
    council_number: str
    council_state: str
    specialty: str | None
    status: str
    working_hours: WorkingHours
    user_id: uuid.UUID | None
