"""Realistic pt-BR demo clinic (Faker), loaded once and idempotent, through the same
services (and validation) as the API.

Each domain adds its part here as it lands (agenda: demo/agenda.py; engagement:
demo/engagement.py; home-exercise programs: demo/programs.py).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any
from zoneinfo import ZoneInfo

from faker import Faker
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession

from fisioflow.auth import passwords, repository
from fisioflow.auth.principal import Principal, Role
from fisioflow.clinic.schemas import AdminIn, ClinicIn
from fisioflow.clinic.service import NewClinic, create_clinic
from fisioflow.core.database import DatabaseLocation, Tenancy, command_transaction
from fisioflow.demo.agenda import load_agenda
from fisioflow.demo.engagement import load_engagement, portal_user
from fisioflow.demo.programs import PROGRAMS, Case, load_programs
from fisioflow.models import User
from fisioflow.patient.schemas import Address, PatientCreated, PatientIn, PatientOut
from fisioflow.patient.service import create_patient
from fisioflow.practitioner.schemas import PractitionerIn
from fisioflow.practitioner.service import create_practitioner
from fisioflow.settings import Settings

DEMO_SLUG = "demo"
DEMO_PASSWORD = "fisioflow-demo-2026"  # noqa: S105 - public demo credential, in README
DEMO_ADMIN = "admin@demo.fisioflow.dev"
STAFF = [("practitioner", 3), ("receptionist", 1)]
PROFESSIONS = [
    ("CREFITO", "Fisioterapia ortopédica"),
    ("CREFITO", "Fisioterapia neurológica"),
    ("CRP", "Psicologia clínica"),
]
_WEEKDAY = [
    {"start": dt.time(8), "end": dt.time(12)},
    {"start": dt.time(13), "end": dt.time(18)},
]
WORKING_HOURS: dict[str, Any] = dict.fromkeys(("mon", "tue", "wed", "thu", "fri"), _WEEKDAY)
PATIENTS = 30
# Patient n is treated by practitioner n % 3; the third practitioner is the psychologist.
THERAPY_PATIENT = 2


def load_demo(settings: Settings, location: DatabaseLocation, *, console: Console) -> bool:
    """Return True when the demo clinic was created now, False when it already existed."""
    return asyncio.run(_load(settings, location, console=console))


async def _load(settings: Settings, location: DatabaseLocation, *, console: Console) -> bool:
    async with command_transaction(location, settings, Tenancy(actor="command:demo")) as session:
        if await repository.clinic_id_by_slug(session, DEMO_SLUG) is not None:
            return False
        fake = Faker("pt_BR")
        fake.seed_instance(2026)
        created = await _create_clinic(session)
        staff = await _create_staff(session, created, fake)
        practitioner_ids = await _create_practitioners(session, created, staff, fake)
        patients = await _create_patients(session, created, practitioner_ids, fake)
        await load_agenda(
            session,
            created.principal,
            practitioner_ids=practitioner_ids,
            patients=patients,
            tz=ZoneInfo(created.clinic.timezone),
        )
        await _create_therapy_portal(session, created, staff, patients[THERAPY_PATIENT])
        await load_programs(
            session,
            created.clinic.id,
            _program_cases(staff, practitioner_ids, patients),
            fake=fake,
            password_hash=_staff_hash(staff),
        )
    console.print(f"loaded demo clinic [bold]{DEMO_SLUG}[/]")
    return True


async def _create_clinic(session: AsyncSession) -> NewClinic:
    return await create_clinic(
        session,
        ClinicIn(name="Clínica Movimento (demo)", slug=DEMO_SLUG, cnpj="11222333000181"),
        AdminIn(full_name="Ana Souza", email=DEMO_ADMIN, password=DEMO_PASSWORD),
        command="command:demo",
    )


async def _create_staff(session: AsyncSession, created: NewClinic, fake: Faker) -> list[User]:
    password_hash = passwords.hash_password(DEMO_PASSWORD)
    users = [
        User(
            tenant_id=created.clinic.id,
            email=f"{role}{n}@demo.fisioflow.dev",
            full_name=fake.name(),
            role=role,
            password_hash=password_hash,
        )
        for role, count in STAFF
        for n in range(1, count + 1)
    ]
    session.add_all(users)
    await session.flush()
    return users


async def _create_practitioners(
    session: AsyncSession, created: NewClinic, staff: list[User], fake: Faker
) -> list[uuid.UUID]:
    ids = []
    users = [u for u in staff if u.role == "practitioner"]
    for n, user in enumerate(users):
        council, specialty = PROFESSIONS[n % len(PROFESSIONS)]
        body = PractitionerIn(
            full_name=user.full_name,
            email=user.email,
            phone=fake.cellphone_number(),
            council=council,
            council_number=f"{fake.random_number(digits=6, fix_len=True)}-F",
            council_state="SP",
            specialty=specialty,
            working_hours=WORKING_HOURS,
            user_id=user.id,
        )
        practitioner = await create_practitioner(session, created.principal, body)
        ids.append(practitioner.id)
    return ids


async def _create_patients(
    session: AsyncSession, created: NewClinic, practitioner_ids: list[uuid.UUID], fake: Faker
) -> list[PatientCreated]:
    patients: list[PatientCreated] = []
    for n in range(PATIENTS):
        birth = fake.date_of_birth(minimum_age=18, maximum_age=85)
        body = PatientIn(
            full_name=fake.name(),
            cpf=fake.cpf(),
            birth_on=birth,
            phone=fake.cellphone_number(),
            email=f"paciente{n + 1}@demo.fisioflow.dev",
            address=Address(
                cep=fake.postcode(),
                street=fake.street_name(),
                number=fake.building_number(),
                district=fake.bairro(),
                city=fake.city(),
                uf=fake.estado_sigla(),
            ),
            practitioner_id=practitioner_ids[n % len(practitioner_ids)],
            consent_version="2026-01",
        )
        patients.append(await create_patient(session, created.principal, body))
    return patients


def _staff_hash(staff: list[User]) -> str:
    """Portal accounts share the staff hash of DEMO_PASSWORD (argon2 is slow on purpose)."""
    return staff[0].password_hash or passwords.hash_password(DEMO_PASSWORD)


async def _create_therapy_portal(
    session: AsyncSession, created: NewClinic, staff: list[User], patient: PatientOut
) -> None:
    """The psychologist's patient gets a portal account, a diary, moods and messages."""
    tenant = created.principal.tenant_id
    user = portal_user(
        tenant=tenant,
        patient_id=patient.id,
        name=patient.full_name,
        hash_=_staff_hash(staff),
    )
    session.add(user)
    await session.flush()
    psychologist = [u for u in staff if u.role == "practitioner"][THERAPY_PATIENT]
    await load_engagement(
        session,
        patient=Principal(tenant, user.id, Role.PATIENT, patient.id),
        patient_name=patient.full_name,
        psychologist=Principal(tenant, psychologist.id, Role.PRACTITIONER),
        psychologist_name=psychologist.full_name,
    )


def _program_cases(
    staff: list[User], practitioner_ids: list[uuid.UUID], patients: list[PatientCreated]
) -> list[Case]:
    """Six patients of the two physiotherapists: steady, improving, worsening, lapsed."""
    practitioners = [u.id for u in staff if u.role == "practitioner"]
    users = dict(zip(practitioner_ids, practitioners, strict=True))
    physios = practitioner_ids[:2]
    treated = [p for p in patients if p.practitioner_id in physios][:6]
    titles = list(PROGRAMS)
    shapes = [(0.9, -1, 0), (0.7, -1, 0), (0.8, 1, 0), (0.6, 0, 5), (0.95, -2, 0), (0.5, 0, 0)]
    return [
        Case(
            patient_id=patient.id,
            practitioner_user=users[patient.practitioner_id],
            title=titles[n % len(titles)],
            adherence=adherence,
            pain_trend=trend,
            stopped_days_ago=stopped,
        )
        for n, (patient, (adherence, trend, stopped)) in enumerate(
            zip(treated, shapes, strict=False)
        )
        if patient.practitioner_id is not None
    ]
