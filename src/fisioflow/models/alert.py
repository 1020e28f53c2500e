"""Alerts for the care team: pain and adherence problems noticed in a patient's logs
(and, later, SOS events). Created by `fisioflow.alert.service.raise_alert`, once per
`dedupe_key`; delivered by notifications when that module exists."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKeyConstraint, Index, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from fisioflow.models.base import Base, TenantScoped

ALERT_KINDS = ("pain_high", "pain_rising", "missed_sessions", "sos")
ALERT_STATUSES = ("open", "acknowledged", "resolved")


class Alert(TenantScoped, Base):
    __tablename__ = "alert"
    __table_args__ = (
        CheckConstraint(f"kind in {ALERT_KINDS!r}", name="kind"),
        CheckConstraint(f"status in {ALERT_STATUSES!r}", name="status"),
        CheckConstraint("jsonb_typeof(details) = 'object'", name="details_object"),
        ForeignKeyConstraint(["tenant_id"], ["clinic.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "patient_id"], ["patient.tenant_id", "patient.id"]),
        ForeignKeyConstraint(
            ["tenant_id", "practitioner_id"], ["practitioner.tenant_id", "practitioner.id"]
        ),
        UniqueConstraint("tenant_id", "dedupe_key"),
        Index(None, "tenant_id", "status", "id"),
        Index(None, "tenant_id", "patient_id", "id"),
    )

    patient_id: Mapped[uuid.UUID]
    # Who should act: the patient's practitioner when the alert was raised.
    practitioner_id: Mapped[uuid.UUID | None]
    kind: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(15), default="open", server_default="open")
    message: Mapped[str] = mapped_column(String(500))
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    dedupe_key: Mapped[str] = mapped_column(String(200))
    acknowledged_at: Mapped[dt.datetime | None]
    acknowledged_by: Mapped[uuid.UUID | None]
    resolved_at: Mapped[dt.datetime | None]
    resolved_by: Mapped[uuid.UUID | None]
