"""Row builders for the benchmark data set: pt-BR people, practitioners, record entries.

Pools of Faker values are drawn once per clinic and then sampled with `random.Random`,
because calling Faker per field for 100,000 patients costs more than the COPY itself.
Rows are tuples in the column order of the `*_COLUMNS` constants, values already in
PostgreSQL text form where psycopg would not adapt them (JSON as text).
"""

from __future__ import annotations

import datetime as dt
import json
import random
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from faker import Faker
from faker.providers.person.pt_BR import Provider as PersonProvider
from validate_docbr import CPF

from fisioflow.core.ids import new_id

PATIENT_COLUMNS = (
    "tenant_id", "id", "full_name", "social_name", "cpf", "birth_on", "sex", "phone", "email",
    "address", "emergency_contact", "guardian", "practitioner_id", "status", "notes",
    "consent_version", "consent_at", "archived_at", "created_at", "updated_at",
)  # fmt: skip
USER_COLUMNS = ("tenant_id", "id", "email", "full_name", "role", "password_hash")
PRACTITIONER_COLUMNS = (
    "tenant_id", "id", "user_id", "full_name", "email", "phone", "council", "council_number",
    "council_state", "specialty", "working_hours",
)  # fmt: skip

# Mobile area codes (DDD) across regions; numbers are 9 + 8 digits, as phonenumbers expects.
DDDS = (11, 12, 13, 19, 21, 24, 27, 31, 34, 41, 43, 47, 48, 51, 54, 61, 62, 71, 81, 85, 91, 92)
EMAIL_DOMAINS = ("gmail.com", "hotmail.com", "outlook.com", "yahoo.com.br", "uol.com.br")
UFS = ("SP", "RJ", "MG", "RS", "PR", "SC", "BA", "PE", "CE", "GO", "DF", "ES", "PA", "AM")
CONNECTORS = ("da", "de", "do", "dos", "das")
SPECIALTIES = (
    ("CREFITO", "Fisioterapia ortopédica"),
    ("CREFITO", "Fisioterapia neurológica"),
    ("CREFITO", "Fisioterapia respiratória"),
    ("CREFITO", "Fisioterapia esportiva"),
    ("CRP", "Psicologia clínica"),
)
_HALF_DAYS = [{"start": "08:00:00", "end": "12:00:00"}, {"start": "13:00:00", "end": "18:00:00"}]
WORKING_HOURS = json.dumps(dict.fromkeys(("mon", "tue", "wed", "thu", "fri"), _HALF_DAYS))
CONSENT_VERSION = "2026-01"
# Faker has no Portuguese lorem; notes are drawn from this vocabulary instead of Latin.
CLINICAL_WORDS = (
    "paciente", "relata", "dor", "lombar", "cervical", "ombro", "joelho", "quadril",
    "tornozelo", "melhora", "piora", "leve", "moderada", "intensa", "ao", "movimento",
    "repouso", "noite", "manhã", "marcha", "equilíbrio", "força", "muscular", "amplitude",
    "flexão", "extensão", "rotação", "alongamento", "fortalecimento", "cinesioterapia",
    "exercícios", "domiciliares", "orientado", "mantém", "progressão", "carga", "sessão",
    "anterior", "edema", "crepitação", "palpação", "teste", "positivo", "negativo",
    "funcional", "escala", "sono", "ansiedade", "humor", "trabalho", "atividades", "diárias",
    "postura", "sentado", "escada", "corrida", "bicicleta", "gelo", "calor", "liberação",
    "miofascial", "mobilização", "articular", "treino", "proprioceptivo", "reavaliar", "metas",
    "semanas",
)  # fmt: skip
FEMALE_NAMES: Sequence[str] = PersonProvider.first_names_female
MALE_NAMES: Sequence[str] = PersonProvider.first_names_male
SURNAMES: Sequence[str] = PersonProvider.last_names


def ascii_fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@dataclass(frozen=True)
class Pools:
    """Values sampled per row; drawn from Faker pt_BR once per clinic."""

    streets: Sequence[str]
    districts: Sequence[str]
    cities: Sequence[str]
    sentences: Sequence[str]

    @classmethod
    def draw(cls, fake: Faker, *, size: int = 400) -> Pools:
        return cls(
            streets=[fake.street_name() for _ in range(size)],
            districts=[fake.bairro() for _ in range(size)],
            cities=[fake.city() for _ in range(size // 2)],
            sentences=[
                fake.sentence(nb_words=12, ext_word_list=CLINICAL_WORDS) for _ in range(size * 2)
            ],
        )


class People:
    """pt-BR names, CPFs unique within one clinic, E.164 phones, e-mails, addresses."""

    def __init__(self, rng: random.Random, pools: Pools) -> None:
        self.rng = rng
        self.pools = pools
        self._cpf = CPF()
        self._cpfs: set[str] = set()

    def name(self, sex: str) -> str:
        rng = self.rng
        firsts = FEMALE_NAMES if sex == "female" else MALE_NAMES
        parts = [rng.choice(firsts)]
        if rng.random() < 0.25:
            parts.append(rng.choice(firsts))
        if rng.random() < 0.3:
            parts.append(rng.choice(CONNECTORS))
        parts += [rng.choice(SURNAMES), rng.choice(SURNAMES)]
        return " ".join(parts)

    def cpf(self) -> str:
        while True:
            value = self._cpf.generate()
            if value not in self._cpfs:
                self._cpfs.add(value)
                return value

    def reserve_cpfs(self, taken: Sequence[str]) -> None:
        self._cpfs.update(taken)

    def phone(self) -> str:
        rng = self.rng
        return f"+55{rng.choice(DDDS)}9{rng.randint(6, 9)}{rng.randint(0, 9_999_999):07d}"

    def email(self, full_name: str) -> str:
        words = ascii_fold(full_name).lower().replace(" ", ".").split(".")
        local = f"{words[0]}.{words[-1]}{self.rng.randint(1, 999)}"
        return f"{local}@{self.rng.choice(EMAIL_DOMAINS)}"

    def address(self) -> dict[str, str]:
        rng, pools = self.rng, self.pools
        address = {
            "cep": f"{rng.randint(1_000_000, 99_999_999):08d}",
            "street": rng.choice(pools.streets),
            "number": str(rng.randint(1, 4000)),
            "district": rng.choice(pools.districts),
            "city": rng.choice(pools.cities),
            "uf": rng.choice(UFS),
        }
        if rng.random() < 0.3:
            address["complement"] = f"Apto {rng.randint(1, 300)}"
        return address

    def birth_on(self, today: dt.date) -> dt.date:
        age_days = int(self.rng.triangular(2 * 365, 95 * 365, 45 * 365))
        return today - dt.timedelta(days=age_days)

    def moment(self, *, days_back: int, now: dt.datetime) -> dt.datetime:
        return now - dt.timedelta(seconds=self.rng.randint(0, days_back * 86_400))


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def is_minor(birth_on: dt.date, today: dt.date) -> bool:
    age = today.year - birth_on.year - ((today.month, today.day) < (birth_on.month, birth_on.day))
    return age < 18


def patient_row(
    people: People,
    *,
    tenant_id: uuid.UUID,
    practitioners: Sequence[uuid.UUID],
    today: dt.date,
    now: dt.datetime,
) -> tuple[Any, ...]:
    rng = people.rng
    sex = rng.choice(("female", "female", "male"))
    full_name = people.name(sex)
    birth_on = people.birth_on(today)
    guardian = None
    if is_minor(birth_on, today):
        guardian = {"name": people.name("female"), "cpf": people.cpf(), "relationship": "mãe"}
        guardian["phone"] = people.phone()
    contact = None
    if rng.random() < 0.5:
        contact = {"name": people.name("male"), "phone": people.phone(), "relationship": "irmão"}
    created_at = people.moment(days_back=3 * 365, now=now)
    status = rng.choices(("active", "inactive", "discharged"), (85, 10, 5))[0]
    return (
        tenant_id,
        new_id(),
        full_name,
        people.name("female") if rng.random() < 0.01 else None,
        people.cpf() if rng.random() < 0.97 else None,
        birth_on,
        sex,
        people.phone() if rng.random() < 0.95 else None,
        people.email(full_name) if rng.random() < 0.6 else None,
        _json(people.address() if rng.random() < 0.8 else None),
        _json(contact),
        _json(guardian),
        rng.choice(practitioners) if practitioners and rng.random() < 0.85 else None,
        status,
        rng.choice(people.pools.sentences) if rng.random() < 0.2 else None,
        CONSENT_VERSION,
        created_at,
        created_at + dt.timedelta(days=rng.randint(30, 300)) if rng.random() < 0.02 else None,
        created_at,
        created_at,
    )


@dataclass(frozen=True)
class StaffMember:
    user_id: uuid.UUID
    practitioner_id: uuid.UUID


def staff_rows(
    people: People, *, tenant_id: uuid.UUID, slug: str, count: int, password_hash: str
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """User accounts (role practitioner) and their linked practitioner profiles."""
    users, practitioners = [], []
    for n in range(1, count + 1):
        user_id, full_name = new_id(), people.name(people.rng.choice(("female", "male")))
        email = f"practitioner{n}@{slug}.example.com"
        users.append((tenant_id, user_id, email, full_name, "practitioner", password_hash))
        council, specialty = SPECIALTIES[n % len(SPECIALTIES)]
        practitioners.append(
            (tenant_id, new_id(), user_id, full_name, email, people.phone(), council,
             f"{100_000 + n}-F", "SP", specialty, WORKING_HOURS)
        )  # fmt: skip
    return users, practitioners
