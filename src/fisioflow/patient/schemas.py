"""Patient bodies, with the Brazilian rules: CPF, E.164 phones, UF, CEP, minors' guardians."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from fisioflow.core import br
from fisioflow.core.schemas import StrictModel
from fisioflow.scheduling.schemas import Attendance

MAX_AGE_YEARS = 130
Sex = Literal["female", "male", "intersex", "unknown"]
Status = Literal["active", "inactive", "discharged"]


def _phone(value: str | None) -> str | None:
    return br.phone_e164(value) if value else None


class Address(StrictModel):
    cep: str | None = Field(default=None, max_length=9)
    street: str | None = Field(default=None, max_length=200)
    number: str | None = Field(default=None, max_length=20)
    complement: str | None = Field(default=None, max_length=100)
    district: str | None = Field(default=None, max_length=100)
    city: str | None = Field(default=None, max_length=100)
    uf: str | None = Field(default=None, max_length=2)

    @field_validator("cep")
    @classmethod
    def _cep(cls, value: str | None) -> str | None:
        return br.cep(value) if value else None

    @field_validator("uf")
    @classmethod
    def _uf(cls, value: str | None) -> str | None:
        return br.uf(value) if value else None


class Contact(StrictModel):
    name: str = Field(min_length=2, max_length=200)
    phone: str = Field(max_length=30)
    relationship: str | None = Field(default=None, max_length=50)

    _phone = field_validator("phone")(_phone)


class Guardian(StrictModel):
    name: str = Field(min_length=2, max_length=200)
    cpf: str | None = Field(default=None, max_length=14)
    phone: str | None = Field(default=None, max_length=30)
    relationship: str | None = Field(default=None, max_length=50)

    _phone = field_validator("phone")(_phone)

    @field_validator("cpf")
    @classmethod
    def _cpf(cls, value: str | None) -> str | None:
        return br.cpf_digits(value) if value else None


class PatientIn(StrictModel):
    """A whole patient; PATCH merges its changes into the stored row and validates this."""

    model_config = ConfigDict(extra="forbid", validate_default=True)

    full_name: str = Field(min_length=2, max_length=200)
    social_name: str | None = Field(default=None, max_length=200)
    cpf: str | None = Field(default=None, max_length=14)
    birth_on: dt.date | None = None
    sex: Sex | None = None
    gender: str | None = Field(default=None, max_length=50)
    phone: str | None = Field(default=None, max_length=30)
    email: EmailStr | None = Field(default=None, max_length=254)
    address: Address | None = None
    emergency_contact: Contact | None = None
    guardian: Guardian | None = None
    practitioner_id: uuid.UUID | None = None
    status: Status = "active"
    notes: str | None = Field(default=None, max_length=5000)
    consent_version: str | None = Field(default=None, max_length=20)
    consent_at: dt.datetime | None = None

    _phone = field_validator("phone")(_phone)

    @field_validator("cpf")
    @classmethod
    def _cpf(cls, value: str | None) -> str | None:
        return br.cpf_digits(value) if value else None

    @field_validator("birth_on")
    @classmethod
    def _birth(cls, value: dt.date | None) -> dt.date | None:
        if value is None:
            return None
        today = dt.date.today()
        if value > today:
            raise ValueError("birth date is in the future")
        if value < today.replace(year=today.year - MAX_AGE_YEARS):
            raise ValueError(f"birth date is more than {MAX_AGE_YEARS} years ago")
        return value

    @field_validator("consent_at")
    @classmethod
    def _aware(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("timestamp needs a time zone offset")
        return value

    @field_validator("guardian")
    @classmethod
    def _minor_needs_guardian(cls, value: Guardian | None, info: ValidationInfo) -> Guardian | None:
        birth_on = info.data.get("birth_on")
        if value is None and birth_on is not None and _age(birth_on) < 18:
            raise ValueError("guardian is required for patients under 18")
        return value

    @model_validator(mode="after")
    def _consent_time(self) -> PatientIn:
        if self.consent_version and self.consent_at is None:
            self.consent_at = dt.datetime.now(dt.UTC)
        return self


def _age(birth_on: dt.date) -> int:
    today = dt.date.today()
    return today.year - birth_on.year - ((today.month, today.day) < (birth_on.month, birth_on.day))


class PatientUpdate(StrictModel):
    """Only the fields sent change; `null` clears an optional field."""

    full_name: str | None = Field(default=None, min_length=2, max_length=200)
    social_name: str | None = Field(default=None, max_length=200)
    cpf: str | None = Field(default=None, max_length=14)
    birth_on: dt.date | None = None
    sex: Sex | None = None
    gender: str | None = Field(default=None, max_length=50)
    phone: str | None = Field(default=None, max_length=30)
    email: EmailStr | None = Field(default=None, max_length=254)
    address: Address | None = None
    emergency_contact: Contact | None = None
    guardian: Guardian | None = None
    practitioner_id: uuid.UUID | None = None
    status: Status | None = None
    notes: str | None = Field(default=None, max_length=5000)
    consent_version: str | None = Field(default=None, max_length=20)
    consent_at: dt.datetime | None = None


class PatientOut(BaseModel):
    id: uuid.UUID
    full_name: str
    social_name: str | None
    cpf: str | None
    birth_on: dt.date | None
    sex: str | None
    gender: str | None
    phone: str | None
    email: str | None
    address: Address | None
    emergency_contact: Contact | None
    guardian: Guardian | None
    practitioner_id: uuid.UUID | None
    status: str
    notes: str | None
    consent_version: str | None
    consent_at: dt.datetime | None
    archived_at: dt.datetime | None
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime
    attendance: Attendance | None = Field(
        default=None, description="Appointment counts; included when reading one patient"
    )


class DuplicateWarning(BaseModel):
    code: Literal["possible_duplicate"] = "possible_duplicate"
    message: str
    patient_id: uuid.UUID


class PatientCreated(PatientOut):
    warnings: list[DuplicateWarning] = Field(default_factory=list)


class PatientListItem(BaseModel):
    id: uuid.UUID
    full_name: str
    social_name: str | None
    cpf: str | None
    birth_on: dt.date | None
    phone: str | None
    email: str | None
    status: str
    practitioner_id: uuid.UUID | None
    archived_at: dt.datetime | None
    score: float | None = None
