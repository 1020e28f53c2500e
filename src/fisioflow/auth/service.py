"""Authentication rules: login, refresh rotation with reuse detection, logout,
password change and invitation acceptance."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from fisioflow.auth import passwords, repository
from fisioflow.auth.principal import Principal, Role, TenantId, tenancy_for, trusted_tenant
from fisioflow.auth.schemas import TokenPair
from fisioflow.auth.state import AuthState
from fisioflow.auth.tokens import issue_access_token, new_opaque_token, parse_opaque_token
from fisioflow.core.database import Tenancy, apply_tenancy
from fisioflow.core.errors import Unauthorized
from fisioflow.core.ids import new_id
from fisioflow.models import OneTimeToken, User

INVITE_DAYS = 7
_BAD_CREDENTIALS = "invalid clinic, email or password"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def principal_of(user: User) -> Principal:
    return Principal(
        tenant_id=trusted_tenant(user.tenant_id),
        user_id=user.id,
        role=Role(user.role),
        patient_id=user.patient_id,
    )


async def enter_tenant(session: AsyncSession, principal: Principal, *, request_id: str) -> None:
    """Switch an anonymous transaction to the clinic just authenticated."""
    await apply_tenancy(session, tenancy_for(principal, request_id=request_id))


async def login(
    session: AsyncSession,
    auth: AuthState,
    *,
    slug: str,
    email: str,
    password: str,
    client_ip: str,
    request_id: str,
) -> TokenPair:
    limits = auth.limits
    limits.hit(limits.per_ip, "login-ip", client_ip)
    account_key = (slug.lower(), email.lower())
    limits.check(limits.login_failures, "login-account", *account_key)
    user = await _find_login_user(session, slug=slug, email=email)
    ok = await passwords.verify_password_async(user.password_hash if user else None, password)
    if user is None or not ok or not user.is_active:
        limits.hit(limits.login_failures, "login-account", *account_key)
        raise Unauthorized(_BAD_CREDENTIALS, code="invalid_credentials")
    principal = principal_of(user)
    await enter_tenant(session, principal, request_id=request_id)
    if user.password_hash and passwords.needs_rehash(user.password_hash):
        user.password_hash = await passwords.hash_password_async(password)
    user.last_login_at = _now()
    return await issue_tokens(session, auth, principal, family_id=new_id())


async def _find_login_user(session: AsyncSession, *, slug: str, email: str) -> User | None:
    clinic_id = await repository.clinic_id_by_slug(session, slug)
    if clinic_id is None:
        return None
    tenant = trusted_tenant(clinic_id)
    await apply_tenancy(session, Tenancy(tenant_id=tenant, actor="login"))
    return await repository.user_by_email(session, tenant, email)


async def issue_tokens(
    session: AsyncSession, auth: AuthState, principal: Principal, *, family_id: uuid.UUID
) -> TokenPair:
    refresh = new_opaque_token("r", principal.tenant_id)
    await repository.add_refresh_token(
        session,
        tenant=principal.tenant_id,
        user_id=principal.user_id,
        family_id=family_id,
        token_hash=refresh.digest,
        expires_at=_now() + dt.timedelta(days=auth.refresh_days),
    )
    access = issue_access_token(principal, key=auth.signing_key, minutes=auth.access_minutes)
    return TokenPair(
        access_token=access, refresh_token=refresh.value, expires_in=auth.access_minutes * 60
    )


async def refresh(
    session: AsyncSession, auth: AuthState, *, token: str, request_id: str
) -> TokenPair:
    presented = parse_opaque_token("r", token)
    tenant = presented.tenant_id
    await apply_tenancy(session, Tenancy(tenant_id=tenant, actor="refresh", request_id=request_id))
    row = await repository.refresh_token_for_update(session, tenant, presented.digest)
    if row is None or row.revoked_at is not None or row.expires_at <= _now():
        raise Unauthorized("refresh token is not valid", code="invalid_token")
    if row.used_at is not None:
        # A rotated token came back: it was stolen or replayed. Burn the whole family.
        await repository.revoke_family(session, tenant, row.family_id)
        raise Unauthorized("refresh token reuse detected", code="token_reused", commit=True)
    row.used_at = _now()
    user = await repository.user_by_id(session, tenant, row.user_id)
    if user is None or not user.is_active:
        raise Unauthorized("refresh token is not valid", code="invalid_token")
    principal = principal_of(user)
    await enter_tenant(session, principal, request_id=request_id)
    return await issue_tokens(session, auth, principal, family_id=row.family_id)


async def logout(session: AsyncSession, *, token: str) -> None:
    presented = parse_opaque_token("r", token)
    await apply_tenancy(session, Tenancy(tenant_id=presented.tenant_id, actor="logout"))
    row = await repository.refresh_token_for_update(session, presented.tenant_id, presented.digest)
    if row is not None:
        await repository.revoke_family(session, presented.tenant_id, row.family_id)


async def change_password(
    session: AsyncSession, principal: Principal, *, current: str, new: str
) -> None:
    user = await repository.user_by_id(session, principal.tenant_id, principal.user_id)
    assert user is not None  # auth_context verified it exists
    if not await passwords.verify_password_async(user.password_hash, current):
        raise Unauthorized("current password is wrong", code="invalid_credentials")
    passwords.check_policy(new, field="new_password", email=user.email)
    await _set_password(user, new)
    await repository.revoke_user_tokens(session, principal.tenant_id, principal.user_id)


async def _set_password(user: User, password: str) -> None:
    user.password_hash = await passwords.hash_password_async(password)
    user.password_changed_at = _now()


@dataclass(frozen=True)
class Invitation:
    user_id: uuid.UUID
    token: str
    expires_at: dt.datetime


async def create_invite(
    session: AsyncSession, *, tenant: TenantId, user_id: uuid.UUID, created_by: uuid.UUID
) -> Invitation:
    token = new_opaque_token("i", tenant)
    expires_at = _now() + dt.timedelta(days=INVITE_DAYS)
    await repository.add_one_time_token(
        session,
        OneTimeToken(
            tenant_id=tenant,
            user_id=user_id,
            purpose="invite",
            token_hash=token.digest,
            expires_at=expires_at,
            created_by=created_by,
        ),
    )
    return Invitation(user_id=user_id, token=token.value, expires_at=expires_at)


async def accept_invite(
    session: AsyncSession, auth: AuthState, *, token: str, password: str, request_id: str
) -> TokenPair:
    presented = parse_opaque_token("i", token)
    tenant = presented.tenant_id
    await apply_tenancy(session, Tenancy(tenant_id=tenant, actor="invite", request_id=request_id))
    row = await repository.one_time_token_for_update(session, tenant, presented.digest, "invite")
    if row is None or row.used_at is not None or row.expires_at <= _now():
        raise Unauthorized("invitation is invalid, used or expired", code="invalid_token")
    user = await repository.user_by_id(session, tenant, row.user_id)
    if user is None or not user.is_active:
        raise Unauthorized("invitation is invalid, used or expired", code="invalid_token")
    passwords.check_policy(password, email=user.email)
    row.used_at = _now()
    await _set_password(user, password)
    principal = principal_of(user)
    await enter_tenant(session, principal, request_id=request_id)
    return await issue_tokens(session, auth, principal, family_id=new_id())
