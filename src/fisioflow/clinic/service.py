"""Clinic rules: creating a clinic with its first admin, reading and updating it."""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from fisioflow.auth import passwords
from fisioflow.auth.permissions import Permission, ensure_allowed
from fisioflow.auth.principal import Principal, Role, tenancy_for, trusted_tenant
from fisioflow.clinic import repository
from fisioflow.clinic.schemas import AdminIn, ClinicIn, ClinicUpdate
from fisioflow.core.database import apply_tenancy
from fisioflow.core.errors import Conflict, NotFound
from fisioflow.core.ids import new_id
from fisioflow.models import Clinic, User


@dataclass(frozen=True)
class NewClinic:
    clinic: Clinic
    admin: User
    principal: Principal


async def create_clinic(
    session: AsyncSession,
    clinic_in: ClinicIn,
    admin_in: AdminIn,
    *,
    request_id: str = "",
    command: str | None = None,
) -> NewClinic:
    """Signed up by its first admin, or created by `command` (recorded as the actor)."""
    passwords.check_policy(admin_in.password, field="admin.password", email=str(admin_in.email))
    tenant = trusted_tenant(new_id())
    principal = Principal(tenant_id=tenant, user_id=new_id(), role=Role.ADMIN)
    tenancy = tenancy_for(principal, request_id=request_id)
    if command is not None:
        tenancy = replace(tenancy, user_id=None, actor=command)
    await apply_tenancy(session, tenancy)
    clinic = Clinic(id=tenant, **clinic_in.model_dump())
    try:
        await repository.add(session, clinic)
    except IntegrityError as exc:
        raise Conflict("a clinic with this slug already exists", field="clinic.slug") from exc
    admin = User(
        tenant_id=tenant,
        id=principal.user_id,
        email=str(admin_in.email),
        full_name=admin_in.full_name,
        role=Role.ADMIN.value,
        password_hash=await passwords.hash_password_async(admin_in.password),
    )
    session.add(admin)
    await session.flush()
    return NewClinic(clinic=clinic, admin=admin, principal=principal)


async def get_clinic(session: AsyncSession, principal: Principal) -> Clinic:
    ensure_allowed(principal, Permission.CLINIC_READ)
    clinic = await repository.get(session, principal.tenant_id)
    if clinic is None:
        raise NotFound("clinic not found")
    return clinic


async def update_clinic(
    session: AsyncSession, principal: Principal, changes: ClinicUpdate
) -> Clinic:
    ensure_allowed(principal, Permission.CLINIC_MANAGE)
    clinic = await get_clinic(session, principal)
    for field, value in changes.model_dump(exclude_unset=True).items():
        if value is None and field != "cnpj":
            continue
        setattr(clinic, field, value)
    await session.flush()
    return clinic
