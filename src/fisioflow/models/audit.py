"""Audit events: one row per audited write (trigger) or health-data read (audit/access.py).

Written only by the database and by `audit.access`; never updated or deleted (grants,
triggers and RLS in migrations/versions/2026-11-24_audit.py). Range-partitioned by month
on `occurred_at`; the partitions and the per-clinic chain head (`audit_chain_head`) have no model.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, FetchedValue, Index, LargeBinary, Text, func
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from fisioflow.models.base import Base

OPERATIONS = ("INSERT", "UPDATE", "DELETE", "READ")


class AuditEvent(Base):
    __tablename__ = "audit_event"
    __table_args__ = (
        CheckConstraint(f"operation in {OPERATIONS!r}", name="operation"),
        Index(None, "tenant_id", "id"),
        Index(
            None,
            "tenant_id",
            "patient_id",
            "id",
            postgresql_where="patient_id is not null",
        ),
        {"postgresql_partition_by": "range (occurred_at)"},
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    # Filled by the BEFORE INSERT trigger audit_event_chain().
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, server_default=FetchedValue())
    id: Mapped[uuid.UUID] = mapped_column(server_default=FetchedValue())
    occurred_at: Mapped[dt.datetime] = mapped_column(primary_key=True, server_default=func.now())
    operation: Mapped[str] = mapped_column(Text)
    table_name: Mapped[str] = mapped_column(Text)
    record_id: Mapped[uuid.UUID | None]
    patient_id: Mapped[uuid.UUID | None]
    old_values: Mapped[dict[str, Any] | None]
    new_values: Mapped[dict[str, Any] | None]
    changed_fields: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    actor_user_id: Mapped[uuid.UUID | None]
    actor_role: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str | None] = mapped_column(Text)
    request_id: Mapped[str | None] = mapped_column(Text)
    ip: Mapped[str | None] = mapped_column(Text)
    user_agent: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[bytes] = mapped_column(LargeBinary, server_default=FetchedValue())
    hash: Mapped[bytes] = mapped_column(LargeBinary, server_default=FetchedValue())
