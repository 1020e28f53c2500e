"""Realistic pt-BR demo clinic (Faker), loaded once and idempotent.

Each domain adds its part here as it lands (patients, agenda, prescriptions).
"""

from __future__ import annotations

import asyncio

from faker import Faker
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession

from fisioflow.auth import passwords, repository
from fisioflow.clinic.schemas import AdminIn, ClinicIn
from fisioflow.clinic.service import NewClinic, create_clinic
from fisioflow.core.database import DatabaseLocation, Tenancy, create_engine, create_sessionmaker
from fisioflow.core.database import transaction as db_transaction
from fisioflow.models import User
from fisioflow.settings import Settings

DEMO_SLUG = "demo"
DEMO_PASSWORD = "fisioflow-demo-2026"  # noqa: S105 - public demo credential, in README
DEMO_ADMIN = "admin@demo.fisioflow.dev"
STAFF = [("practitioner", 3), ("receptionist", 1)]


def load_demo(settings: Settings, location: DatabaseLocation, *, console: Console) -> bool:
    """Return True when the demo clinic was created now, False when it already existed."""
    return asyncio.run(_load(settings, location, console=console))


async def _load(settings: Settings, location: DatabaseLocation, *, console: Console) -> bool:
    engine = create_engine(location.app_url, settings)
    try:
        sessions = create_sessionmaker(engine)
        async with db_transaction(sessions, Tenancy(actor="command:demo")) as session:
            if await repository.clinic_id_by_slug(session, DEMO_SLUG) is not None:
                return False
            created = await _create_clinic(session)
            await _create_staff(session, created, Faker("pt_BR"))
        console.print(f"loaded demo clinic [bold]{DEMO_SLUG}[/]")
        return True
    finally:
        await engine.dispose()


async def _create_clinic(session: AsyncSession) -> NewClinic:
    return await create_clinic(
        session,
        ClinicIn(name="Clínica Movimento (demo)", slug=DEMO_SLUG, cnpj="11222333000181"),
        AdminIn(full_name="Ana Souza", email=DEMO_ADMIN, password=DEMO_PASSWORD),
    )


async def _create_staff(session: AsyncSession, created: NewClinic, fake: Faker) -> None:
    password_hash = passwords.hash_password(DEMO_PASSWORD)
    for role, count in STAFF:
        for n in range(1, count + 1):
            session.add(
                User(
                    tenant_id=created.clinic.id,
                    email=f"{role}{n}@demo.fisioflow.dev",
                    full_name=fake.name(),
                    role=role,
                    password_hash=password_hash,
                )
            )
    await session.flush()
