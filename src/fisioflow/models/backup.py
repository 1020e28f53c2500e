"""Backup verification results: global bookkeeping, no tenant, no health data."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import DateTime, Index, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from fisioflow.core.ids import new_id
from fisioflow.models.base import Base


class BackupVerification(Base):
    """One run of `backup verify` (CLI or the daily job); /health/ready reads the last."""

    __tablename__ = "backup_verification"
    __table_args__ = (Index("ix_backup_verification_verified_at", "ok", "verified_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    backup_id: Mapped[str] = mapped_column(String(64))
    backup_created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    verified_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    ok: Mapped[bool]
    duration_ms: Mapped[int]
    failures: Mapped[list[Any]] = mapped_column(JSONB)
