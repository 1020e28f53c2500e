"""Brazilian identifiers and contacts: CPF (validate-docbr), phones (phonenumbers), UF, CEP."""

from __future__ import annotations

import re

import phonenumbers
from validate_docbr import CPF

UFS = frozenset(
    [
        "AC",
        "AL",
        "AP",
        "AM",
        "BA",
        "CE",
        "DF",
        "ES",
        "GO",
        "MA",
        "MT",
        "MS",
        "MG",
        "PA",
        "PB",
        "PR",
        "PE",
        "PI",
        "RJ",
        "RN",
        "RS",
        "RO",
        "RR",
        "SC",
        "SP",
        "SE",
        "TO",
    ]
)
_PUNCTUATION = re.compile(r"[.\-/\s]")
_CPF = CPF()


def cpf_digits(value: str) -> str:
    """11 digits of a valid CPF (punctuation allowed in the input); ValueError otherwise."""
    digits = _PUNCTUATION.sub("", value)
    if not digits.isdigit() or len(digits) != 11 or not _CPF.validate(digits):
        raise ValueError("invalid CPF (check digits do not match)")
    return digits


def looks_like_cpf(value: str) -> str | None:
    digits = _PUNCTUATION.sub("", value)
    return digits if digits.isdigit() and len(digits) == 11 else None


def phone_e164(value: str) -> str:
    """E.164; Brazilian national formats like (11) 98765-4321 are accepted."""
    try:
        parsed = phonenumbers.parse(value, "BR")
    except phonenumbers.NumberParseException as exc:
        raise ValueError("phone number does not parse") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError("phone number is not valid")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def maybe_phone(value: str) -> str | None:
    try:
        return phone_e164(value)
    except ValueError:
        return None


def uf(value: str) -> str:
    code = value.strip().upper()
    if code not in UFS:
        raise ValueError("unknown UF (state code like SP, RJ, MG)")
    return code


def cep(value: str) -> str:
    digits = re.sub(r"[.\-\s]", "", value)
    if not digits.isdigit() or len(digits) != 8:
        raise ValueError("CEP must have 8 digits")
    return digits
