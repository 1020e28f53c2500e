"""Clinical record (prontuário) entries: drafts, signed entries and their addenda.

Invariants enforced by the database (migration 0004_records), not only by the service:
- a signed row is never updated or deleted (trigger `record_entry_guard`); the one
  allowed update is draft -> signed, and it may change nothing but the signature columns;
- an addendum points at a signed, non-addendum entry of the same patient (composite FK
  on (tenant_id, patient_id, parent_id) + trigger `record_entry_addendum_check`);
- patients see only signed entries of their own patient row, and only when their clinic
  enables `patients_read_records`; receptionists see none (restrictive RLS policies).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKeyConstraint, Index, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from fisioflow.models.base import Base, TenantScoped

RECORD_KINDS = ("anamnesis", "evaluation", "evolution", "reevaluation", "discharge", "addendum")
RECORD_STATUSES = ("draft", "signed")


class RecordEntry(TenantScoped, Base):
    __tablename__ = "record_entry"
    __table_args__ = (
        CheckConstraint(f"kind in {RECORD_KINDS!r}", name="kind"),
        CheckConstraint(f"status in {RECORD_STATUSES!r}", name="status"),
        CheckConstraint(
            "status = 'draft' and signed_at is null and signed_by is null"
            " and content_hash is null"
            " or status = 'signed' and signed_at is not null and signed_by is not null"
            " and content_hash is not null",
            name="signature",
        ),
        CheckConstraint("content_hash ~ '^[0-9a-f]{64}$'", name="content_hash_hex"),
        CheckConstraint("(kind = 'addendum') = (parent_id is not null)", name="addendum_parent"),
        CheckConstraint("jsonb_typeof(content) = 'object'", name="content_object"),
        CheckConstraint("jsonb_typeof(diagnoses) = 'array'", name="diagnoses_array"),
        CheckConstraint("jsonb_typeof(vitals) = 'object'", name="vitals_object"),
        ForeignKeyConstraint(["tenant_id"], ["clinic.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "patient_id"], ["patient.tenant_id", "patient.id"]),
        ForeignKeyConstraint(
            ["tenant_id", "author_id"], ["practitioner.tenant_id", "practitioner.id"]
        ),
        ForeignKeyConstraint(
            ["tenant_id", "signed_by"], ["user_account.tenant_id", "user_account.id"]
        ),
        ForeignKeyConstraint(
            ["tenant_id", "appointment_id"], ["appointment.tenant_id", "appointment.id"]
        ),
        # Same patient as the parent, by construction.
        ForeignKeyConstraint(
            ["tenant_id", "patient_id", "parent_id"],
            ["record_entry.tenant_id", "record_entry.patient_id", "record_entry.id"],
        ),
        # Also the timeline index (newest first = id descending, ids are UUIDv7).
        UniqueConstraint("tenant_id", "patient_id", "id"),
        Index(None, "tenant_id", "parent_id"),
        Index(None, "tenant_id", "author_id"),
    )

    patient_id: Mapped[uuid.UUID]
    # The appointment this entry documents.
    appointment_id: Mapped[uuid.UUID | None]
    author_id: Mapped[uuid.UUID]
    kind: Mapped[str] = mapped_column(String(20))
    parent_id: Mapped[uuid.UUID | None]
    content: Mapped[dict[str, Any]]
    diagnoses: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, default=list, server_default="[]"
    )
    # none_as_null: Python None is SQL NULL here, not the JSON value null.
    vitals: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    status: Mapped[str] = mapped_column(String(10), default="draft", server_default="draft")
    signed_at: Mapped[dt.datetime | None]
    signed_by: Mapped[uuid.UUID | None]
    content_hash: Mapped[str | None] = mapped_column(String(64))
