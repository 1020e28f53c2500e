"""SQL of the auth module: users by credentials, refresh and one-time tokens."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from fisioflow.auth.principal import Principal, TenantId
from fisioflow.core import driver
from fisioflow.models import Clinic, OneTimeToken, RefreshToken, User


async def clinic_id_by_slug(session: AsyncSession, slug: str) -> uuid.UUID | None:
    """Readable without a tenant only through app.clinic_slug (see the clinic policy)."""
    await session.execute(text("select set_config('app.clinic_slug', :slug, true)"), {"slug": slug})
    clinic_id = await session.scalar(select(Clinic.id).where(Clinic.slug == slug))
    await session.execute(text("select set_config('app.clinic_slug', '', true)"))
    return clinic_id


async def user_by_email(session: AsyncSession, tenant: TenantId, email: str) -> User | None:
    return await session.scalar(select(User).where(User.tenant_id == tenant, User.email == email))


async def user_by_id(session: AsyncSession, tenant: TenantId, user_id: uuid.UUID) -> User | None:
    return await session.scalar(select(User).where(User.tenant_id == tenant, User.id == user_id))


@dataclass(frozen=True)
class Identity:
    """Who is acting and in which clinic, read on every authenticated request."""

    user_id: uuid.UUID
    email: str
    full_name: str
    role: str
    clinic_id: uuid.UUID
    clinic_name: str
    clinic_slug: str
    timezone: str
    locale: str


# Hot path (every authenticated request): compiled once, run by the driver (core/driver.py).
_IDENTITY = driver.DriverStatement.of(
    select(
        User.id.label("user_id"),
        User.email,
        User.full_name,
        User.role,
        Clinic.id.label("clinic_id"),
        Clinic.name.label("clinic_name"),
        Clinic.slug.label("clinic_slug"),
        Clinic.timezone,
        Clinic.locale,
    )
    .join(Clinic, Clinic.id == User.tenant_id)
    .where(
        User.is_active.is_(True),
        User.tenant_id == bindparam("tenant_id"),
        User.id == bindparam("user_id"),
        User.role == bindparam("role"),
    )
)


def identity_of(principal: Principal) -> driver.Query[Identity]:
    """The principal's user and clinic, if the user is still active with the same role."""
    params = {
        "tenant_id": principal.tenant_id,
        "user_id": principal.user_id,
        "role": principal.role.value,
    }
    return driver.Query(_IDENTITY, params, Identity)


async def add_refresh_token(
    session: AsyncSession,
    *,
    tenant: TenantId,
    user_id: uuid.UUID,
    family_id: uuid.UUID,
    token_hash: str,
    expires_at: dt.datetime,
) -> None:
    session.add(
        RefreshToken(
            tenant_id=tenant,
            user_id=user_id,
            family_id=family_id,
            token_hash=token_hash,
            expires_at=expires_at,
        )
    )
    await session.flush()


async def refresh_token_for_update(
    session: AsyncSession, tenant: TenantId, token_hash: str
) -> RefreshToken | None:
    return await session.scalar(
        select(RefreshToken)
        .where(RefreshToken.tenant_id == tenant, RefreshToken.token_hash == token_hash)
        .with_for_update()
    )


async def revoke_family(session: AsyncSession, tenant: TenantId, family_id: uuid.UUID) -> None:
    await session.execute(
        update(RefreshToken)
        .where(
            RefreshToken.tenant_id == tenant,
            RefreshToken.family_id == family_id,
            RefreshToken.revoked_at.is_(None),
        )
        .values(revoked_at=dt.datetime.now(dt.UTC))
    )


async def revoke_user_tokens(
    session: AsyncSession,
    tenant: TenantId,
    user_id: uuid.UUID,
    *,
    except_family: uuid.UUID | None = None,
) -> None:
    statement = update(RefreshToken).where(
        RefreshToken.tenant_id == tenant,
        RefreshToken.user_id == user_id,
        RefreshToken.revoked_at.is_(None),
    )
    if except_family is not None:
        statement = statement.where(RefreshToken.family_id != except_family)
    await session.execute(statement.values(revoked_at=dt.datetime.now(dt.UTC)))


async def add_one_time_token(session: AsyncSession, token: OneTimeToken) -> None:
    session.add(token)
    await session.flush()


async def one_time_token_for_update(
    session: AsyncSession, tenant: TenantId, token_hash: str, purpose: str
) -> OneTimeToken | None:
    return await session.scalar(
        select(OneTimeToken)
        .where(
            OneTimeToken.tenant_id == tenant,
            OneTimeToken.token_hash == token_hash,
            OneTimeToken.purpose == purpose,
        )
        .with_for_update()
    )


async def purge_dead_tokens(session: AsyncSession, tenant: uuid.UUID, *, keep_days: int) -> int:
    """Expired, revoked or used tokens older than `keep_days` (kept a while for forensics)."""
    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=keep_days)
    refresh = await session.execute(
        delete(RefreshToken).where(
            RefreshToken.tenant_id == tenant,
            or_(
                RefreshToken.expires_at < cutoff,
                RefreshToken.revoked_at < cutoff,
                RefreshToken.used_at < cutoff,
            ),
        )
    )
    one_time = await session.execute(
        delete(OneTimeToken).where(
            OneTimeToken.tenant_id == tenant,
            or_(OneTimeToken.expires_at < cutoff, OneTimeToken.used_at < cutoff),
        )
    )
    return int(refresh.rowcount or 0) + int(one_time.rowcount or 0)  # type: ignore[attr-defined]
