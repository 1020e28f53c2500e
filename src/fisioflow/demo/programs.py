"""Demo home-exercise programs: prescriptions by the physiotherapists and two weeks of
sessions logged from the patient portal, through the same services as the API.

Two demo patients get portal logins (`paciente1@...`, `paciente2@...`; `paciente3@...` is
the therapy patient of demo/engagement.py); the others get portal accounts without a
password (their logs need a patient user as author). One of the
programs shows a pain trend that raises alerts, and one patient stopped logging days ago
(the missed-sessions job alerts on the next run).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from faker import Faker
from sqlalchemy.ext.asyncio import AsyncSession

from fisioflow.auth.principal import Principal, Role, tenancy_for, trusted_tenant
from fisioflow.core.database import apply_tenancy
from fisioflow.exercise.library import library_id
from fisioflow.models import User
from fisioflow.prescription.schemas import ItemIn, PrescriptionCreate
from fisioflow.prescription.service import create_prescription
from fisioflow.program.schemas import LogIn
from fisioflow.program.service import create_log

TZ = ZoneInfo("America/Sao_Paulo")
DAYS = 14
PROGRAMS = {
    "Joelho: fortalecimento pós-entorse": ("isometria-quadriceps", "mini-agachamento"),
    "Lombar: estabilização": ("ativacao-transverso-abdominal", "ponte-de-gluteo", "perdigueiro"),
    "Ombro: manguito rotador": ("pendulo-de-codman", "rotacao-externa-faixa"),
}


@dataclass(frozen=True)
class Case:
    """One demo patient's program and how they follow it."""

    patient_id: uuid.UUID
    practitioner_user: uuid.UUID
    title: str
    adherence: float  # chance of doing a due session
    pain_trend: int  # points per week (negative: improving)
    stopped_days_ago: int = 0


async def load_programs(
    session: AsyncSession,
    tenant: uuid.UUID,
    cases: list[Case],
    *,
    fake: Faker,
    password_hash: str,
) -> None:
    for n, case in enumerate(cases):
        versions = await _prescribe(session, tenant, case)
        patient_user = await _portal_user(session, tenant, case, n=n, password_hash=password_hash)
        await _log_sessions(session, tenant, case, patient_user, versions, fake=fake)


async def _prescribe(session: AsyncSession, tenant: uuid.UUID, case: Case) -> list[uuid.UUID]:
    principal = Principal(trusted_tenant(tenant), case.practitioner_user, Role.PRACTITIONER)
    await apply_tenancy(session, tenancy_for(principal))
    start = dt.datetime.now(TZ).date() - dt.timedelta(days=DAYS)
    items = [
        ItemIn(exercise_id=library_id(slug), sets=3, reps=12, start_on=start)
        for slug in PROGRAMS[case.title]
    ]
    body = PrescriptionCreate(title=case.title, notes="Fazer sem dor acima de 5/10.", items=items)
    created = await create_prescription(session, principal, case.patient_id, body, tz=TZ)
    return [item.current.id for item in created.items]


async def _portal_user(
    session: AsyncSession, tenant: uuid.UUID, case: Case, *, n: int, password_hash: str
) -> uuid.UUID:
    number = n + 1 if n < 2 else n + 2  # paciente3 is the therapy patient (engagement demo)
    user = User(
        tenant_id=tenant,
        email=f"paciente{number}@demo.fisioflow.dev",
        full_name=f"Paciente {number}",
        role="patient",
        password_hash=password_hash if n < 2 else None,
        patient_id=case.patient_id,
    )
    session.add(user)
    await session.flush()
    return user.id


async def _log_sessions(
    session: AsyncSession,
    tenant: uuid.UUID,
    case: Case,
    user_id: uuid.UUID,
    versions: list[uuid.UUID],
    *,
    fake: Faker,
) -> None:
    principal = Principal(trusted_tenant(tenant), user_id, Role.PATIENT, patient_id=case.patient_id)
    await apply_tenancy(session, tenancy_for(principal))
    today = dt.datetime.now(TZ).date()
    for days_ago in range(DAYS, case.stopped_days_ago, -1):
        if fake.random.random() > case.adherence:
            continue
        day = today - dt.timedelta(days=days_ago)
        pain = max(0, min(10, 5 + round(case.pain_trend * (DAYS - days_ago) / 7)))
        at = dt.datetime.combine(day, dt.time(7 + fake.random.randint(0, 12)), tzinfo=TZ)
        for version_id in versions:
            body = LogIn(
                item_version_id=version_id,
                performed_at=at,
                sets_done=3,
                reps_done=fake.random.randint(10, 12),
                pain_before=pain,
                pain_after=max(0, pain + fake.random.randint(-1, 1)),
                difficulty=fake.random.randint(3, 7),
            )
            await create_log(session, principal, body, key=None, tz=TZ)
