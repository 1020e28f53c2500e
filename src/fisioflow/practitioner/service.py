"""Practitioner rules: admins manage the roster; staff read it."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from fisioflow.auth import repository as auth_repository
from fisioflow.auth.permissions import Permission, ensure_allowed
from fisioflow.auth.principal import Principal, Role
from fisioflow.core.errors import Conflict, InvalidInput, NotFound
from fisioflow.core.pagination import Page, PageParams, build_page
from fisioflow.models import Practitioner
from fisioflow.practitioner import repository
from fisioflow.practitioner.schemas import PractitionerIn, PractitionerOut, PractitionerUpdate

_UNIQUE_FIELDS = {
    "uq_practitioner_tenant_id_council_council_number_council_state": (
        "council_number",
        "a practitioner with this council registration already exists",
    ),
    "uq_practitioner_tenant_id_user_id": ("user_id", "this user is already a practitioner"),
}


def out(practitioner: Practitioner) -> PractitionerOut:
    return PractitionerOut.model_validate(practitioner, from_attributes=True)


async def list_practitioners(
    session: AsyncSession, principal: Principal, page: PageParams, *, status: str | None
) -> Page[PractitionerOut]:
    ensure_allowed(principal, Permission.PRACTITIONERS_READ)
    rows = await repository.list_page(
        session, principal.tenant_id, after=page.after, limit=page.limit, status=status
    )
    return build_page([out(p) for p in rows], limit=page.limit)


async def get_practitioner(
    session: AsyncSession, principal: Principal, practitioner_id: uuid.UUID
) -> Practitioner:
    ensure_allowed(principal, Permission.PRACTITIONERS_READ, on_object=True)
    practitioner = await repository.get(session, principal.tenant_id, practitioner_id)
    if practitioner is None:
        raise NotFound("practitioner not found")
    return practitioner


async def create_practitioner(
    session: AsyncSession, principal: Principal, body: PractitionerIn
) -> Practitioner:
    ensure_allowed(principal, Permission.PRACTITIONERS_MANAGE)
    if body.user_id is not None:
        await _check_linkable_user(session, principal, body.user_id)
    values = body.model_dump(mode="json", exclude={"user_id"})
    practitioner = Practitioner(tenant_id=principal.tenant_id, user_id=body.user_id, **values)
    session.add(practitioner)
    await _flush(session)
    return practitioner


async def update_practitioner(
    session: AsyncSession,
    principal: Principal,
    practitioner_id: uuid.UUID,
    body: PractitionerUpdate,
) -> Practitioner:
    ensure_allowed(principal, Permission.PRACTITIONERS_MANAGE, on_object=True)
    practitioner = await get_practitioner(session, principal, practitioner_id)
    changes: dict[str, Any] = body.model_dump(mode="json", exclude_unset=True)
    if body.user_id is not None:
        await _check_linkable_user(session, principal, body.user_id)
        changes["user_id"] = body.user_id
    for field, value in changes.items():
        if value is None and field in ("full_name", "council", "council_number", "council_state"):
            raise InvalidInput(f"{field} cannot be removed", field=field)
        setattr(practitioner, field, value)
    await _flush(session)
    return practitioner


async def _check_linkable_user(
    session: AsyncSession, principal: Principal, user_id: uuid.UUID
) -> None:
    user = await auth_repository.user_by_id(session, principal.tenant_id, user_id)
    if user is None or user.role not in (Role.PRACTITIONER.value, Role.ADMIN.value):
        raise InvalidInput(
            "user_id must be a practitioner or admin user of this clinic", field="user_id"
        )


async def _flush(session: AsyncSession) -> None:
    try:
        await session.flush()
    except IntegrityError as exc:
        constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", None)
        field, message = _UNIQUE_FIELDS.get(
            constraint or "", ("id", "conflicts with existing data")
        )
        raise Conflict(message, field=field) from exc
