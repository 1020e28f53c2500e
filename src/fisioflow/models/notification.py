"""Notifications: the outbox, reminders, contact preferences, push subscriptions and the
per-channel circuit breaker.

Invariants enforced by the database (migration notifications):
- one message per `delivery_key` per clinic (a reminder's key is `reminder:<id>:<channel>`),
  so re-enqueueing after a crash never creates a second message;
- `sent_at` is set exactly when the status is `sent`;
- reminder rows follow their appointment (trigger `appointment_reminders`);
- SMS and WhatsApp preferences can be enabled only with a recorded consent (LGPD).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKeyConstraint,
    Index,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from fisioflow.models.base import Base, TenantScoped

CHANNELS = ("email", "sms", "whatsapp", "push")
NOTIFICATION_STATUSES = ("pending", "sending", "sent", "failed", "dead")
REMINDER_STATUSES = ("scheduled", "queued", "cancelled")
CIRCUIT_STATES = ("closed", "open", "half_open")
_WAITING = text("status in ('pending', 'failed')")


def _tenant_fk(column: str, table: str) -> ForeignKeyConstraint:
    return ForeignKeyConstraint(["tenant_id", column], [f"{table}.tenant_id", f"{table}.id"])


class Reminder(TenantScoped, Base):
    __tablename__ = "reminder"
    __table_args__ = (
        CheckConstraint(f"status in {REMINDER_STATUSES!r}", name="status"),
        CheckConstraint("link_action in ('confirm', 'cancel')", name="link_action"),
        ForeignKeyConstraint(["tenant_id"], ["clinic.id"], ondelete="CASCADE"),
        _tenant_fk("appointment_id", "appointment"),
        Index(None, "tenant_id", "appointment_id"),
        Index(
            "ix_reminder_due_at_scheduled",
            "due_at",
            "tenant_id",
            postgresql_where=text("status = 'scheduled'"),
        ),
    )

    appointment_id: Mapped[uuid.UUID]
    offset_minutes: Mapped[int]
    due_at: Mapped[dt.datetime]
    status: Mapped[str] = mapped_column(String(10), default="scheduled", server_default="scheduled")
    queued_at: Mapped[dt.datetime | None]
    link_used_at: Mapped[dt.datetime | None]
    link_action: Mapped[str | None] = mapped_column(String(10))


class Notification(TenantScoped, Base):
    __tablename__ = "notification"
    __table_args__ = (
        UniqueConstraint("tenant_id", "delivery_key"),
        CheckConstraint(f"channel in {CHANNELS!r}", name="channel"),
        CheckConstraint(f"status in {NOTIFICATION_STATUSES!r}", name="status"),
        CheckConstraint("(status = 'sent') = (sent_at is not null)", name="sent"),
        ForeignKeyConstraint(["tenant_id"], ["clinic.id"], ondelete="CASCADE"),
        _tenant_fk("patient_id", "patient"),
        _tenant_fk("user_id", "user_account"),
        _tenant_fk("appointment_id", "appointment"),
        _tenant_fk("reminder_id", "reminder"),
        Index(None, "tenant_id", "channel", "next_attempt_at", postgresql_where=_WAITING),
        Index(
            "ix_notification_tenant_id_lease_until",
            "tenant_id",
            "channel",
            "lease_until",
            postgresql_where=text("status = 'sending'"),
        ),
        Index(
            "ix_notification_next_attempt_at_waiting",
            "next_attempt_at",
            "tenant_id",
            postgresql_where=_WAITING,
        ),
        Index(None, "tenant_id", "status", "id"),
        Index(None, "tenant_id", "appointment_id"),
    )

    channel: Mapped[str] = mapped_column(String(10))
    template: Mapped[str] = mapped_column(String(40))
    patient_id: Mapped[uuid.UUID | None]
    user_id: Mapped[uuid.UUID | None]
    recipient: Mapped[str] = mapped_column(String(2000))
    payload: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'"))
    urgent: Mapped[bool] = mapped_column(default=False, server_default="false")
    status: Mapped[str] = mapped_column(String(10), default="pending", server_default="pending")
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(String(1000))
    next_attempt_at: Mapped[dt.datetime] = mapped_column(server_default=text("now()"))
    lease_until: Mapped[dt.datetime | None]
    delivery_key: Mapped[str] = mapped_column(String(200))
    sent_at: Mapped[dt.datetime | None]
    appointment_id: Mapped[uuid.UUID | None]
    reminder_id: Mapped[uuid.UUID | None]


class NotificationPreference(TenantScoped, Base):
    """A patient's or user's choice for one channel (no row: the default)."""

    __tablename__ = "notification_preference"
    __table_args__ = (
        CheckConstraint(f"channel in {CHANNELS!r}", name="channel"),
        CheckConstraint("(patient_id is null) <> (user_id is null)", name="subject"),
        CheckConstraint(
            "channel not in ('sms', 'whatsapp') or not enabled or consent_at is not null",
            name="consent",
        ),
        ForeignKeyConstraint(["tenant_id"], ["clinic.id"], ondelete="CASCADE"),
        _tenant_fk("patient_id", "patient"),
        _tenant_fk("user_id", "user_account"),
        _tenant_fk("consent_by", "user_account"),
        Index(
            "uq_notification_preference_patient_channel",
            "tenant_id",
            "patient_id",
            "channel",
            unique=True,
            postgresql_where=text("patient_id is not null"),
        ),
        Index(
            "uq_notification_preference_user_channel",
            "tenant_id",
            "user_id",
            "channel",
            unique=True,
            postgresql_where=text("user_id is not null"),
        ),
    )

    patient_id: Mapped[uuid.UUID | None]
    user_id: Mapped[uuid.UUID | None]
    channel: Mapped[str] = mapped_column(String(10))
    enabled: Mapped[bool]
    consent_at: Mapped[dt.datetime | None]
    consent_by: Mapped[uuid.UUID | None]


class PushSubscription(TenantScoped, Base):
    __tablename__ = "push_subscription"
    __table_args__ = (
        UniqueConstraint("tenant_id", "endpoint"),
        ForeignKeyConstraint(["tenant_id"], ["clinic.id"], ondelete="CASCADE"),
        _tenant_fk("user_id", "user_account"),
        Index(None, "tenant_id", "user_id"),
    )

    user_id: Mapped[uuid.UUID]
    endpoint: Mapped[str] = mapped_column(String(2000))
    p256dh: Mapped[str] = mapped_column(String(200))
    auth: Mapped[str] = mapped_column(String(100))


class NotificationCircuit(Base):
    """Global: one circuit breaker per channel, shared by every worker process."""

    __tablename__ = "notification_circuit"
    __table_args__ = (
        CheckConstraint(f"state in {CIRCUIT_STATES!r}", name="state"),
        CheckConstraint(f"channel in {CHANNELS!r}", name="channel"),
    )

    channel: Mapped[str] = mapped_column(String(10), primary_key=True)
    state: Mapped[str] = mapped_column(String(10), default="closed", server_default="closed")
    failures: Mapped[int] = mapped_column(default=0, server_default="0")
    opened_at: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime] = mapped_column(server_default=text("now()"))
