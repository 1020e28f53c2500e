"""`fisioflow audit verify`: every clinic's chain (or one), each in its own transaction."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

from fisioflow.audit import repository
from fisioflow.audit.verify import ChainReport, verify_chain
from fisioflow.core.database import (
    DatabaseLocation,
    Tenancy,
    create_engine,
    create_sessionmaker,
    transaction,
)
from fisioflow.core.jobs import SYSTEM_ROLE
from fisioflow.settings import Settings

ACTOR = "command:audit verify"


class UnknownClinicError(ValueError):
    pass


@dataclass(frozen=True)
class ClinicChain:
    clinic_id: uuid.UUID
    slug: str
    report: ChainReport


def verify_from_cli(
    settings: Settings, location: DatabaseLocation, *, slug: str | None
) -> list[ClinicChain]:
    return asyncio.run(_verify(settings, location, slug))


async def _verify(
    settings: Settings, location: DatabaseLocation, slug: str | None
) -> list[ClinicChain]:
    engine = create_engine(location.app_url, settings)
    maker = create_sessionmaker(engine)
    try:
        async with transaction(maker, Tenancy(role=SYSTEM_ROLE, actor=ACTOR)) as session:
            clinics = await repository.clinics(session, slug=slug)
        if slug is not None and not clinics:
            raise UnknownClinicError(f"no clinic with slug {slug!r}")
        results = []
        for clinic_id, clinic_slug in clinics:
            async with transaction(maker, Tenancy(tenant_id=clinic_id, actor=ACTOR)) as session:
                results.append(ClinicChain(clinic_id, clinic_slug, await verify_chain(session)))
        return results
    finally:
        await engine.dispose()
