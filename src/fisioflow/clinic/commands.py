"""`fisioflow clinic create`: a clinic with its first admin, from the command line."""

from __future__ import annotations

import asyncio

from pydantic import ValidationError

from fisioflow.clinic.schemas import AdminIn, ClinicIn
from fisioflow.clinic.service import create_clinic
from fisioflow.core.database import DatabaseLocation, Tenancy, command_transaction
from fisioflow.core.errors import FisioflowError
from fisioflow.settings import Settings

COMMAND = "command:clinic create"


class ClinicCommandError(ValueError):
    """One line for the terminal: the field and what is wrong with it."""


def create_from_cli(
    settings: Settings,
    location: DatabaseLocation,
    *,
    clinic: dict[str, str | None],
    admin: dict[str, str],
) -> str:
    try:
        clinic_in = ClinicIn.model_validate(clinic)
        admin_in = AdminIn.model_validate(admin)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise ClinicCommandError(f"{field}: {first['msg'].removeprefix('Value error, ')}") from exc
    try:
        return asyncio.run(_create(settings, location, clinic_in, admin_in))
    except FisioflowError as exc:
        prefix = f"{exc.field}: " if exc.field else ""
        raise ClinicCommandError(f"{prefix}{exc.message}") from exc


async def _create(
    settings: Settings, location: DatabaseLocation, clinic_in: ClinicIn, admin_in: AdminIn
) -> str:
    tenancy = Tenancy(actor=COMMAND)
    async with command_transaction(location, settings, tenancy) as session:
        created = await create_clinic(session, clinic_in, admin_in, command=COMMAND)
        return str(created.clinic.id)
