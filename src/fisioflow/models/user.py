"""Users of a clinic (staff and patients) and their credentials."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import CheckConstraint, ForeignKeyConstraint, Index, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import CITEXT
from sqlalchemy.orm import Mapped, mapped_column

from fisioflow.models.base import Base, TenantScoped

ROLES = ("admin", "practitioner", "receptionist", "patient")


class User(TenantScoped, Base):
    __tablename__ = "user_account"
    __table_args__ = (
        UniqueConstraint("tenant_id", "email"),
        CheckConstraint(f"role in {ROLES!r}", name="role"),
        ForeignKeyConstraint(["tenant_id"], ["clinic.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(
            ["tenant_id", "patient_id"], ["patient.tenant_id", "patient.id"], use_alter=True
        ),
        UniqueConstraint("tenant_id", "patient_id"),
    )

    email: Mapped[str] = mapped_column(CITEXT)
    full_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(default=True, server_default="true")
    password_changed_at: Mapped[dt.datetime | None]
    last_login_at: Mapped[dt.datetime | None]
    patient_id: Mapped[uuid.UUID | None]


class RefreshToken(TenantScoped, Base):
    """One issued refresh token; rotation links tokens of one login into a family."""

    __tablename__ = "refresh_token"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["user_account.tenant_id", "user_account.id"],
            ondelete="CASCADE",
        ),
        Index(None, "tenant_id", "user_id"),
        Index(None, "tenant_id", "family_id"),
        UniqueConstraint("tenant_id", "token_hash"),
    )

    user_id: Mapped[uuid.UUID]
    family_id: Mapped[uuid.UUID]
    token_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]


class OneTimeToken(TenantScoped, Base):
    """Invitation (set a first password) or password reset; single use, expiring."""

    __tablename__ = "one_time_token"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["user_account.tenant_id", "user_account.id"],
            ondelete="CASCADE",
        ),
        CheckConstraint("purpose in ('invite', 'password_reset')", name="purpose"),
        Index(None, "tenant_id", "user_id"),
        UniqueConstraint("tenant_id", "token_hash"),
    )

    user_id: Mapped[uuid.UUID]
    purpose: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]
    created_by: Mapped[uuid.UUID | None]
