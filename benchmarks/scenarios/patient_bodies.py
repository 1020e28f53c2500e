"""Varied, valid POST /api/v1/patients bodies (the formats a front desk would send)."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from typing import Any

from faker import Faker

from benchmarks import fakes


def national_phone(e164: str) -> str:
    """+5511987654321 -> (11) 98765-4321"""
    digits = e164.removeprefix("+55")
    return f"({digits[:2]}) {digits[2:7]}-{digits[7:]}"


def punctuated_cpf(digits: str) -> str:
    return f"{digits[:3]}.{digits[3:6]}.{digits[6:9]}-{digits[9:]}"


def generate(
    count: int, *, seed: str, practitioners: Sequence[str], taken_cpfs: Sequence[str]
) -> list[dict[str, Any]]:
    """`count` bodies whose CPFs are unique among themselves and unlike `taken_cpfs`."""
    fake = Faker("pt_BR")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    people = fakes.People(rng, fakes.Pools.draw(fake, size=100))
    people.reserve_cpfs(taken_cpfs)
    return [_body(people, practitioners) for _ in range(count)]


def _body(people: fakes.People, practitioners: Sequence[str]) -> dict[str, Any]:
    rng, today = people.rng, dt.date.today()
    sex = rng.choice(("female", "male"))
    name, birth_on, cpf, phone = (
        people.name(sex),
        people.birth_on(today),
        people.cpf(),
        people.phone(),
    )
    body: dict[str, Any] = {
        "full_name": name,
        "cpf": punctuated_cpf(cpf) if rng.random() < 0.5 else cpf,
        "birth_on": birth_on.isoformat(),
        "sex": sex,
        "phone": national_phone(phone) if rng.random() < 0.5 else phone,
        "email": people.email(name),
        "address": people.address(),
        "consent_version": fakes.CONSENT_VERSION,
    }
    if practitioners and rng.random() < 0.8:
        body["practitioner_id"] = rng.choice(practitioners)
    if rng.random() < 0.5:
        body["emergency_contact"] = {"name": people.name("male"), "phone": people.phone()}
    if fakes.is_minor(birth_on, today):
        body["guardian"] = {
            "name": people.name("female"),
            "cpf": people.cpf(),
            "relationship": "mãe",
        }
    return body
