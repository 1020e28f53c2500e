"""Practitioners (physiotherapists, psychologists) and their council registration."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKeyConstraint, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fisioflow.models.base import Base, TenantScoped


class Practitioner(TenantScoped, Base):
    __tablename__ = "practitioner"
    __table_args__ = (
        UniqueConstraint("tenant_id", "council", "council_number", "council_state"),
        UniqueConstraint("tenant_id", "user_id"),
        CheckConstraint("status in ('active', 'inactive')", name="status"),
        ForeignKeyConstraint(["tenant_id"], ["clinic.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(
            ["tenant_id", "user_id"], ["user_account.tenant_id", "user_account.id"]
        ),
    )

    user_id: Mapped[uuid.UUID | None]
    full_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(20))
    council: Mapped[str] = mapped_column(String(20))
    council_number: Mapped[str] = mapped_column(String(20))
    council_state: Mapped[str] = mapped_column(String(2))
    specialty: Mapped[str | None] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(10), default="active", server_default="active")
    working_hours: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
