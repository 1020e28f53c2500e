"""Notifications: an outbox of messages per channel, reminders as rows that follow their
appointment, contact preferences with consent, web-push subscriptions, and one circuit
breaker per channel shared by every worker.

Revision ID: 0018_notifications
Revises: 0017_backups
Create Date: 2026-11-24

Reminder rows are written by a trigger on `appointment`, so every writer (booking, series,
group join, move, cancel, imports) keeps them right in its own transaction: a rolled-back
booking leaves no reminder. Jobs (role 'system') may read which clinics have due
reminders or pending notifications (policies `system_sweep`), to visit only those.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

from fisioflow.core.migration_helpers import app_role, attach_audit, enable_tenant_rls

revision = "0018_notifications"
down_revision = "0017_backups"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
CHANNELS = "('email', 'sms', 'whatsapp', 'push')"
STATUSES = "('pending', 'sending', 'sent', 'failed', 'dead')"
REMINDER_STATUSES = "('scheduled', 'queued', 'cancelled')"

# A UUIDv7 from SQL (PostgreSQL 15+ has no uuidv7()): 48-bit millisecond time, version 7.
NEW_ID = """
create function app_new_id() returns uuid language sql volatile as $$
    select encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid())
        placing substring(int8send(floor(extract(epoch from clock_timestamp()) * 1000)::bigint)
        from 3) from 1 for 6), 52, 1), 53, 1), 'hex')::uuid
$$
"""

# Moving an appointment cancels its reminders still to come and plans new ones; leaving
# the scheduled/confirmed states (cancel, no-show, check-in, ...) cancels them. Offsets
# already in the past are skipped: a visit booked 1 h ahead gets no 24 h reminder.
REMINDER_TRIGGER = """
create function appointment_reminders() returns trigger
language plpgsql as $$
begin
    if tg_op = 'UPDATE' and (new.starts_at is distinct from old.starts_at
                             or new.status not in ('scheduled', 'confirmed')) then
        update reminder set status = 'cancelled', updated_at = now()
         where tenant_id = new.tenant_id and appointment_id = new.id and status = 'scheduled';
    end if;
    if new.status in ('scheduled', 'confirmed')
       and (tg_op = 'INSERT' or new.starts_at is distinct from old.starts_at
            or old.status not in ('scheduled', 'confirmed')) then
        insert into reminder (tenant_id, id, appointment_id, offset_minutes, due_at)
        select new.tenant_id, app_new_id(), new.id, o.minutes,
               new.starts_at - make_interval(mins => o.minutes)
          from clinic c, unnest(c.reminder_offsets_minutes) as o(minutes)
         where c.id = new.tenant_id
           and new.starts_at - make_interval(mins => o.minutes) > now();
    end if;
    return null;
end
$$
"""


def _key() -> list[sa.Column[sa.types.TypeEngine[object]]]:
    return [
        sa.Column("tenant_id", UUID(as_uuid=True), nullable=False),
        sa.Column("id", UUID(as_uuid=True), nullable=False),
    ]


def _timestamps() -> list[sa.Column[sa.DateTime]]:
    return [
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", TS, server_default=sa.func.now(), nullable=False),
    ]


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id", column],
        [f"{target}.tenant_id", f"{target}.id"],
        name=f"fk_{table}_tenant_id_{column}_{target}",
    )


def _clinic_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"], ["clinic.id"], name=f"fk_{table}_tenant_id_clinic", ondelete="CASCADE"
    )


def _check(table: str, name: str, sql: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(sql, name=op.f(f"ck_{table}_{name}"))


def upgrade() -> None:
    op.execute(NEW_ID)
    op.add_column(
        "clinic",
        sa.Column(
            "reminder_offsets_minutes",
            ARRAY(sa.Integer),
            server_default=sa.text("'{1440,120}'"),
            nullable=False,
        ),
    )
    op.create_check_constraint(
        op.f("ck_clinic_reminder_offsets"),
        "clinic",
        "cardinality(reminder_offsets_minutes) <= 5 and 15 <= all(reminder_offsets_minutes)"
        " and 20160 >= all(reminder_offsets_minutes)",
    )
    _reminder()
    _notification()
    _preference()
    _push_subscription()
    _circuit()
    # Every table with patient or user data is in the audit trail (migration 0014_audit).
    # The message payload (it holds the signed confirmation link) and the push
    # subscription's auth secret appear by name only.
    attach_audit("reminder", patient_column=None)
    attach_audit("notification", secret_columns=("payload",))
    attach_audit("notification_preference")
    attach_audit("push_subscription", patient_column=None, secret_columns=("auth",))


def _reminder() -> None:
    t = "reminder"
    op.create_table(
        t,
        *_key(),
        sa.Column("appointment_id", UUID(as_uuid=True), nullable=False),
        sa.Column("offset_minutes", sa.Integer, nullable=False),
        sa.Column("due_at", TS, nullable=False),
        sa.Column("status", sa.String(10), server_default="scheduled", nullable=False),
        sa.Column("queued_at", TS),
        sa.Column("link_used_at", TS),
        sa.Column("link_action", sa.String(10)),
        *_timestamps(),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=f"pk_{t}"),
        _check(t, "status", f"status in {REMINDER_STATUSES}"),
        _check(t, "link_action", "link_action in ('confirm', 'cancel')"),
        _clinic_fk(t),
        _fk(t, "appointment_id", "appointment"),
    )
    op.create_index(f"ix_{t}_tenant_id_appointment_id", t, ["tenant_id", "appointment_id"])
    op.create_index(
        f"ix_{t}_due_at_scheduled",
        t,
        ["due_at", "tenant_id"],
        postgresql_where=sa.text("status = 'scheduled'"),
    )
    enable_tenant_rls(t)
    op.execute(
        f"create policy system_sweep on {t} for select using (app_current_role() = 'system')"
    )
    op.execute(f"revoke delete on {t} from {app_role()}")
    op.execute(REMINDER_TRIGGER)
    op.execute(
        "create trigger appointment_reminders after insert or update of starts_at, status"
        " on appointment for each row execute function appointment_reminders()"
    )


def _notification() -> None:
    t = "notification"
    op.create_table(
        t,
        *_key(),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("template", sa.String(40), nullable=False),
        sa.Column("patient_id", UUID(as_uuid=True)),
        sa.Column("user_id", UUID(as_uuid=True)),
        sa.Column("recipient", sa.String(2000), nullable=False),
        sa.Column("payload", JSONB, server_default=sa.text("'{}'"), nullable=False),
        sa.Column("urgent", sa.Boolean, server_default="false", nullable=False),
        sa.Column("status", sa.String(10), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer, server_default="0", nullable=False),
        sa.Column("last_error", sa.String(1000)),
        sa.Column("next_attempt_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("lease_until", TS),
        sa.Column("delivery_key", sa.String(200), nullable=False),
        sa.Column("sent_at", TS),
        sa.Column("appointment_id", UUID(as_uuid=True)),
        sa.Column("reminder_id", UUID(as_uuid=True)),
        *_timestamps(),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=f"pk_{t}"),
        sa.UniqueConstraint("tenant_id", "delivery_key", name=f"uq_{t}_tenant_id_delivery_key"),
        _check(t, "channel", f"channel in {CHANNELS}"),
        _check(t, "status", f"status in {STATUSES}"),
        _check(t, "sent", "(status = 'sent') = (sent_at is not null)"),
        _clinic_fk(t),
        _fk(t, "patient_id", "patient"),
        _fk(t, "user_id", "user_account"),
        _fk(t, "appointment_id", "appointment"),
        _fk(t, "reminder_id", "reminder"),
    )
    op.create_index(
        f"ix_{t}_tenant_id_channel_next_attempt_at",
        t,
        ["tenant_id", "channel", "next_attempt_at"],
        postgresql_where=sa.text("status in ('pending', 'failed')"),
    )
    op.create_index(
        f"ix_{t}_tenant_id_lease_until",
        t,
        ["tenant_id", "channel", "lease_until"],
        postgresql_where=sa.text("status = 'sending'"),
    )
    op.create_index(
        f"ix_{t}_next_attempt_at_waiting",
        t,
        ["next_attempt_at", "tenant_id"],
        postgresql_where=sa.text("status in ('pending', 'failed')"),
    )
    op.create_index(f"ix_{t}_tenant_id_status_id", t, ["tenant_id", "status", "id"])
    op.create_index(f"ix_{t}_tenant_id_appointment_id", t, ["tenant_id", "appointment_id"])
    enable_tenant_rls(t)
    op.execute(
        f"create policy system_sweep on {t} for select using (app_current_role() = 'system')"
    )
    op.execute(f"revoke delete on {t} from {app_role()}")


def _preference() -> None:
    t = "notification_preference"
    op.create_table(
        t,
        *_key(),
        sa.Column("patient_id", UUID(as_uuid=True)),
        sa.Column("user_id", UUID(as_uuid=True)),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("consent_at", TS),
        sa.Column("consent_by", UUID(as_uuid=True)),
        *_timestamps(),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=f"pk_{t}"),
        _check(t, "channel", f"channel in {CHANNELS}"),
        _check(t, "subject", "(patient_id is null) <> (user_id is null)"),
        # LGPD: SMS and WhatsApp only with a recorded consent.
        _check(
            t,
            "consent",
            "channel not in ('sms', 'whatsapp') or not enabled or consent_at is not null",
        ),
        _clinic_fk(t),
        _fk(t, "patient_id", "patient"),
        _fk(t, "user_id", "user_account"),
        _fk(t, "consent_by", "user_account"),
    )
    op.create_index(
        f"uq_{t}_patient_channel",
        t,
        ["tenant_id", "patient_id", "channel"],
        unique=True,
        postgresql_where=sa.text("patient_id is not null"),
    )
    op.create_index(
        f"uq_{t}_user_channel",
        t,
        ["tenant_id", "user_id", "channel"],
        unique=True,
        postgresql_where=sa.text("user_id is not null"),
    )
    enable_tenant_rls(t)


def _push_subscription() -> None:
    t = "push_subscription"
    op.create_table(
        t,
        *_key(),
        sa.Column("user_id", UUID(as_uuid=True), nullable=False),
        sa.Column("endpoint", sa.String(2000), nullable=False),
        sa.Column("p256dh", sa.String(200), nullable=False),
        sa.Column("auth", sa.String(100), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=f"pk_{t}"),
        sa.UniqueConstraint("tenant_id", "endpoint", name=f"uq_{t}_tenant_id_endpoint"),
        _clinic_fk(t),
        _fk(t, "user_id", "user_account"),
    )
    op.create_index(f"ix_{t}_tenant_id_user_id", t, ["tenant_id", "user_id"])
    enable_tenant_rls(t)


def _circuit() -> None:
    """Global (no tenant): the health of each delivery channel, shared by all workers."""
    t = "notification_circuit"
    op.create_table(
        t,
        sa.Column("channel", sa.String(10), primary_key=True),
        sa.Column("state", sa.String(10), server_default="closed", nullable=False),
        sa.Column("failures", sa.Integer, server_default="0", nullable=False),
        sa.Column("opened_at", TS),
        sa.Column("updated_at", TS, server_default=sa.func.now(), nullable=False),
        _check(t, "state", "state in ('closed', 'open', 'half_open')"),
        _check(t, "channel", f"channel in {CHANNELS}"),
    )
    op.execute(f"insert into {t} (channel) values ('email'), ('sms'), ('whatsapp'), ('push')")
    op.execute(f"revoke insert, delete on {t} from {app_role()}")


def downgrade() -> None:
    op.drop_table("notification_circuit")
    op.drop_table("push_subscription")
    op.drop_table("notification_preference")
    op.drop_table("notification")
    op.execute("drop trigger appointment_reminders on appointment")
    op.drop_table("reminder")
    op.execute("drop function appointment_reminders()")
    op.drop_constraint(op.f("ck_clinic_reminder_offsets"), "clinic")
    op.drop_column("clinic", "reminder_offsets_minutes")
    op.execute("drop function app_new_id()")
