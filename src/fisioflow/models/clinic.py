"""Clinic: the tenant. Its own id is the tenant id of everything it owns."""

from __future__ import annotations

import uuid

from sqlalchemy import CheckConstraint, Integer, String, text
from sqlalchemy.dialects.postgresql import ARRAY, CITEXT
from sqlalchemy.orm import Mapped, mapped_column

from fisioflow.core.ids import new_id
from fisioflow.models.base import Base, TimestampMixin


class Clinic(TimestampMixin, Base):
    __tablename__ = "clinic"
    __table_args__ = (
        CheckConstraint(
            "cardinality(reminder_offsets_minutes) <= 5 and 15 <= all(reminder_offsets_minutes)"
            " and 20160 >= all(reminder_offsets_minutes)",
            name="reminder_offsets",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(CITEXT, unique=True)
    cnpj: Mapped[str | None] = mapped_column(String(14))
    timezone: Mapped[str] = mapped_column(String(64), default="America/Sao_Paulo")
    locale: Mapped[str] = mapped_column(String(10), default="pt-BR")
    # Whether patients read their own signed clinical record entries in the portal.
    patients_read_records: Mapped[bool] = mapped_column(default=False, server_default="false")
    # Minutes before each appointment at which its reminders go out (trigger
    # appointment_reminders reads them when an appointment is booked or moved).
    reminder_offsets_minutes: Mapped[list[int]] = mapped_column(
        ARRAY(Integer), default=lambda: [1440, 120], server_default=text("'{1440,120}'")
    )
