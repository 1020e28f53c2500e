"""Clinic (tenant) input and output, with Brazilian validation (CNPJ)."""

from __future__ import annotations

import re
import uuid
import zoneinfo
from typing import Annotated

from pydantic import BaseModel, EmailStr, Field, field_validator
from validate_docbr import CNPJ

from fisioflow.core.schemas import StrictModel

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,61}[a-z0-9])$")
LOCALES = ("pt-BR", "en")


def _valid_timezone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError("unknown time zone (use an IANA name like America/Sao_Paulo)") from exc
    return value


def _valid_cnpj(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    digits = re.sub(r"[.\-/\s]", "", value)
    if not digits.isdigit() or len(digits) != 14 or not CNPJ().validate(digits):
        raise ValueError("invalid CNPJ (check digits do not match)")
    return digits


def _valid_locale(value: str) -> str:
    if value not in LOCALES:
        raise ValueError(f"locale must be one of {', '.join(LOCALES)}")
    return value


class ClinicIn(StrictModel):
    name: str = Field(min_length=2, max_length=200)
    slug: str = Field(min_length=3, max_length=63)
    cnpj: str | None = Field(default=None, max_length=18)
    timezone: str = Field(default="America/Sao_Paulo", max_length=64)
    locale: str = "pt-BR"

    @field_validator("slug")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _SLUG.match(value):
            raise ValueError("use lowercase letters, digits and hyphens (3 to 63 characters)")
        return value

    _cnpj = field_validator("cnpj")(_valid_cnpj)
    _timezone = field_validator("timezone")(_valid_timezone)
    _locale = field_validator("locale")(_valid_locale)


class ClinicUpdate(StrictModel):
    name: str | None = Field(default=None, min_length=2, max_length=200)
    cnpj: str | None = Field(default=None, max_length=18)
    timezone: str | None = Field(default=None, max_length=64)
    locale: str | None = None
    patients_read_records: bool | None = None
    reminder_offsets_minutes: list[Annotated[int, Field(ge=15, le=20160)]] | None = Field(
        default=None,
        max_length=5,
        description="Minutes before each appointment at which reminders go out "
        "(15 min to 14 days, at most 5; [] turns reminders off). Applies to "
        "appointments booked or moved afterwards.",
    )

    @field_validator("reminder_offsets_minutes")
    @classmethod
    def _offsets(cls, value: list[int] | None) -> list[int] | None:
        return None if value is None else sorted(set(value), reverse=True)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str | None) -> str | None:
        return None if value is None else _valid_timezone(value)

    @field_validator("locale")
    @classmethod
    def _locale(cls, value: str | None) -> str | None:
        return None if value is None else _valid_locale(value)

    _cnpj = field_validator("cnpj")(_valid_cnpj)


class AdminIn(StrictModel):
    full_name: str = Field(min_length=2, max_length=200)
    email: EmailStr = Field(max_length=254)
    password: str = Field(min_length=1, max_length=128)


class SignupRequest(StrictModel):
    clinic: ClinicIn
    admin: AdminIn


class ClinicOut(BaseModel):
    id: uuid.UUID
    name: str
    slug: str
    cnpj: str | None
    timezone: str
    locale: str
    patients_read_records: bool
    reminder_offsets_minutes: list[int]
