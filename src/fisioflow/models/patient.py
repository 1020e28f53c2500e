"""Patients: the clinic's registry, with optimistic-concurrency versions."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKeyConstraint, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from fisioflow.models.base import Base, TenantScoped

PATIENT_STATUSES = ("active", "inactive", "discharged")


class Patient(TenantScoped, Base):
    __tablename__ = "patient"
    __table_args__ = (
        CheckConstraint(f"status in {PATIENT_STATUSES!r}", name="status"),
        CheckConstraint("cpf ~ '^[0-9]{11}$'", name="cpf_digits"),
        ForeignKeyConstraint(["tenant_id"], ["clinic.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(
            ["tenant_id", "practitioner_id"], ["practitioner.tenant_id", "practitioner.id"]
        ),
        Index(
            "uq_patient_tenant_id_cpf",
            "tenant_id",
            "cpf",
            unique=True,
            postgresql_where=text("cpf is not null"),
        ),
        Index("ix_patient_tenant_id_practitioner_id", "tenant_id", "practitioner_id"),
        Index("ix_patient_tenant_id_phone", "tenant_id", "phone"),
        Index("ix_patient_tenant_id_birth_on", "tenant_id", "birth_on"),
        # Expression indexes (lower(email)) and the name search (table patient_search,
        # function patient_name_search) live in migrations only: see 0006-0008.
    )

    full_name: Mapped[str] = mapped_column(String(200))
    social_name: Mapped[str | None] = mapped_column(String(200))
    cpf: Mapped[str | None] = mapped_column(String(11))
    birth_on: Mapped[dt.date | None]
    sex: Mapped[str | None] = mapped_column(String(20))
    gender: Mapped[str | None] = mapped_column(String(50))
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(254))
    address: Mapped[dict[str, Any] | None]
    emergency_contact: Mapped[dict[str, Any] | None]
    guardian: Mapped[dict[str, Any] | None]
    practitioner_id: Mapped[uuid.UUID | None]
    status: Mapped[str] = mapped_column(String(12), default="active", server_default="active")
    notes: Mapped[str | None] = mapped_column(String(5000))
    consent_version: Mapped[str | None] = mapped_column(String(20))
    consent_at: Mapped[dt.datetime | None]
    archived_at: Mapped[dt.datetime | None]
    version: Mapped[int] = mapped_column(default=1, server_default="1")
