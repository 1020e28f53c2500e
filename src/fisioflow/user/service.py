"""Staff user management: admins list, create, change role, deactivate and invite."""

from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from fisioflow.auth import repository as auth_repository
from fisioflow.auth import service as auth_service
from fisioflow.auth.permissions import Permission, ensure_allowed
from fisioflow.auth.principal import Principal, Role
from fisioflow.core.errors import Conflict, NotFound
from fisioflow.core.pagination import Page, PageParams, build_page
from fisioflow.models import User
from fisioflow.user import repository
from fisioflow.user.schemas import UserCreate, UserOut, UserUpdate


async def list_users(
    session: AsyncSession, principal: Principal, page: PageParams
) -> Page[UserOut]:
    ensure_allowed(principal, Permission.USERS_READ)
    rows = await repository.list_page(
        session, principal.tenant_id, after=page.after, limit=page.limit
    )
    items = [UserOut.model_validate(u, from_attributes=True) for u in rows]
    return build_page(items, limit=page.limit)


async def get_user(session: AsyncSession, principal: Principal, user_id: uuid.UUID) -> User:
    ensure_allowed(principal, Permission.USERS_READ, on_object=True)
    user = await auth_repository.user_by_id(session, principal.tenant_id, user_id)
    if user is None:
        raise NotFound("user not found")
    return user


async def create_user(session: AsyncSession, principal: Principal, body: UserCreate) -> User:
    ensure_allowed(principal, Permission.USERS_MANAGE)
    user = User(
        tenant_id=principal.tenant_id,
        email=str(body.email),
        full_name=body.full_name,
        role=body.role,
    )
    session.add(user)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict("a user with this email already exists", field="email") from exc
    return user


async def update_user(
    session: AsyncSession, principal: Principal, user_id: uuid.UUID, body: UserUpdate
) -> User:
    ensure_allowed(principal, Permission.USERS_MANAGE, on_object=True)
    user = await get_user(session, principal, user_id)
    if user.role == Role.PATIENT.value:
        raise Conflict("patient users are managed through their patient record", field="role")
    if body.role is not None and body.role != user.role:
        await _keep_one_admin(session, principal, user)
        user.role = body.role
        await auth_repository.revoke_user_tokens(session, principal.tenant_id, user.id)
    if body.full_name is not None:
        user.full_name = body.full_name
    await session.flush()
    return user


async def deactivate_user(session: AsyncSession, principal: Principal, user_id: uuid.UUID) -> User:
    ensure_allowed(principal, Permission.USERS_MANAGE, on_object=True)
    user = await get_user(session, principal, user_id)
    if user.is_active:
        await _keep_one_admin(session, principal, user)
        user.is_active = False
        await auth_repository.revoke_user_tokens(session, principal.tenant_id, user.id)
        await session.flush()
    return user


async def invite_user(
    session: AsyncSession, principal: Principal, user_id: uuid.UUID
) -> auth_service.Invitation:
    ensure_allowed(principal, Permission.USERS_MANAGE, on_object=True)
    user = await get_user(session, principal, user_id)
    if not user.is_active:
        raise Conflict("user is deactivated", field="id")
    if user.role == Role.PATIENT.value:
        raise NotFound("user not found")  # patients are invited through their record
    return await auth_service.create_invite(
        session, tenant=principal.tenant_id, user_id=user.id, created_by=principal.user_id
    )


async def _keep_one_admin(session: AsyncSession, principal: Principal, user: User) -> None:
    is_admin = user.role == Role.ADMIN.value and user.is_active
    if is_admin and await repository.active_admin_count(session, principal.tenant_id) <= 1:
        raise Conflict("the clinic must keep at least one active admin", field="role")
