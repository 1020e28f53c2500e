"""The agenda: appointments that can never double-book, series, rooms, time off.

Revision ID: 0009_scheduling
Revises: 0008_patient_search_knn
Create Date: 2026-11-24

Double booking is refused by exclusion constraints (btree_gist) over a generated
`tstzrange(starts_at, ends_at, '[)')`, so it holds under any concurrency and for any
writer. Group sessions share a `slot_id` and are compared with `<>`, which lets the rows
of one group overlap each other and nothing else.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import TSTZRANGE, UUID, ExcludeConstraint

from fisioflow.core.migration_helpers import app_role, enable_tenant_rls

revision = "0009_scheduling"
down_revision = "0008_patient_search_knn"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
TYPES = "('evaluation', 'session', 'reevaluation', 'teleconsultation', 'group')"
CHANNELS = "('in_person', 'online')"
STATUSES = (
    "('scheduled', 'confirmed', 'checked_in', 'in_progress', 'completed', 'cancelled', 'no_show')"
)
LIVE = "status <> 'cancelled'"
PATIENT_SELF = "app_current_role() <> 'patient' or patient_id = app_current_patient()"

# The lifecycle, as the one place the database knows it. A confirmed appointment that is
# moved to another time goes back to scheduled (the patient confirmed the old time).
STATUS_GUARD = """
create function appointment_status_guard() returns trigger
language plpgsql as $$
begin
    if new.status is distinct from old.status and not (
        (old.status, new.status) in (
            ('scheduled', 'confirmed'), ('confirmed', 'checked_in'),
            ('checked_in', 'in_progress'), ('in_progress', 'completed'),
            ('scheduled', 'cancelled'), ('confirmed', 'cancelled'),
            ('scheduled', 'no_show'), ('confirmed', 'no_show'))
        or (old.status = 'confirmed' and new.status = 'scheduled'
            and new.starts_at is distinct from old.starts_at)
    ) then
        raise exception 'appointment % cannot go from % to %', old.id, old.status, new.status
            using errcode = 'check_violation', constraint = 'appointment_status_transition';
    end if;
    return new;
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


def _booking_columns() -> list[sa.Column[sa.types.TypeEngine[object]]]:
    return [
        sa.Column("patient_id", UUID(as_uuid=True), nullable=False),
        sa.Column("practitioner_id", UUID(as_uuid=True), nullable=False),
        sa.Column("room_id", UUID(as_uuid=True)),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("price", sa.Numeric(12, 2)),
        sa.Column("notes", sa.String(2000)),
        sa.Column("created_by", UUID(as_uuid=True)),
    ]


def _booking_constraints(table: str) -> list[sa.Constraint]:
    return [
        _check(table, "type", f"type in {TYPES}"),
        _check(table, "channel", f"channel in {CHANNELS}"),
        _clinic_fk(table),
        _fk(table, "patient_id", "patient"),
        _fk(table, "practitioner_id", "practitioner"),
        _fk(table, "room_id", "room"),
        _fk(table, "created_by", "user_account"),
    ]


def upgrade() -> None:
    _room()
    _time_off()
    _series()
    _appointment()
    op.create_foreign_key(
        "fk_record_entry_tenant_id_appointment_id_appointment",
        "record_entry",
        "appointment",
        ["tenant_id", "appointment_id"],
        ["tenant_id", "id"],
    )


def _room() -> None:
    op.create_table(
        "room",
        *_key(),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("status", sa.String(10), server_default="active", nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_room"),
        sa.UniqueConstraint("tenant_id", "name", name="uq_room_tenant_id_name"),
        _check("room", "status", "status in ('active', 'inactive')"),
        _clinic_fk("room"),
    )
    enable_tenant_rls("room")
    op.execute(f"revoke delete on room from {app_role()}")


def _time_off() -> None:
    op.create_table(
        "time_off",
        *_key(),
        sa.Column("practitioner_id", UUID(as_uuid=True)),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("starts_at", TS, nullable=False),
        sa.Column("ends_at", TS, nullable=False),
        sa.Column("reason", sa.String(200)),
        *_timestamps(),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_time_off"),
        _check("time_off", "kind", "kind in ('holiday', 'vacation', 'blocked')"),
        _check("time_off", "ordered", "ends_at > starts_at"),
        _clinic_fk("time_off"),
        _fk("time_off", "practitioner_id", "practitioner"),
    )
    op.create_index(
        "ix_time_off_tenant_id_practitioner_id_starts_at",
        "time_off",
        ["tenant_id", "practitioner_id", "starts_at"],
    )
    enable_tenant_rls("time_off")
    op.execute(
        "create policy staff_only on time_off as restrictive using (app_current_role() <> 'patient')"
    )


def _series() -> None:
    t = "appointment_series"
    op.create_table(
        t,
        *_key(),
        *_booking_columns(),
        sa.Column("rrule", sa.String(500), nullable=False),
        sa.Column("starts_at", TS, nullable=False),
        sa.Column("duration_minutes", sa.Integer, nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=f"pk_{t}"),
        _check(t, "duration", "duration_minutes between 15 and 240"),
        *_booking_constraints(t),
    )
    op.create_index(f"ix_{t}_tenant_id_patient_id", t, ["tenant_id", "patient_id"])
    enable_tenant_rls(t)
    op.execute(f"create policy patient_self on {t} as restrictive using ({PATIENT_SELF})")
    op.execute(f"revoke delete on {t} from {app_role()}")


def _appointment() -> None:
    t = "appointment"
    op.create_table(
        t,
        *_key(),
        *_booking_columns(),
        sa.Column("series_id", UUID(as_uuid=True)),
        sa.Column("slot_id", UUID(as_uuid=True), nullable=False),
        sa.Column("capacity", sa.Integer),
        sa.Column("starts_at", TS, nullable=False),
        sa.Column("ends_at", TS, nullable=False),
        sa.Column(
            "during",
            TSTZRANGE,
            sa.Computed("tstzrange(starts_at, ends_at, '[)')", persisted=True),
            nullable=False,
        ),
        sa.Column("status", sa.String(12), server_default="scheduled", nullable=False),
        sa.Column("status_changed_at", TS),
        sa.Column("cancel_reason", sa.String(500)),
        sa.Column("cancelled_by", sa.String(10)),
        sa.Column("backfilled", sa.Boolean, server_default="false", nullable=False),
        sa.Column("version", sa.Integer, server_default="1", nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=f"pk_{t}"),
        *_appointment_checks(),
        *_booking_constraints(t),
        _fk(t, "series_id", "appointment_series"),
        *_exclusions(),
    )
    for columns in (
        ["practitioner_id", "starts_at"],
        ["patient_id", "starts_at"],
        ["series_id", "starts_at"],
        ["starts_at"],
    ):
        op.create_index(f"ix_{t}_tenant_id_{'_'.join(columns)}", t, ["tenant_id", *columns])
    op.execute(STATUS_GUARD)
    op.execute(
        f"create trigger appointment_status_guard before update of status on {t} "
        "for each row execute function appointment_status_guard()"
    )
    enable_tenant_rls(t)
    op.execute(f"create policy patient_self on {t} as restrictive using ({PATIENT_SELF})")
    # Appointments are cancelled, never deleted: the history of a patient's visits stays.
    op.execute(f"revoke delete on {t} from {app_role()}")


def _appointment_checks() -> list[sa.CheckConstraint]:
    t = "appointment"
    return [
        _check(t, "status", f"status in {STATUSES}"),
        _check(
            t,
            "duration",
            "ends_at - starts_at between interval '15 minutes' and interval '4 hours'",
        ),
        _check(t, "price", "price >= 0"),
        _check(
            t,
            "group_slot",
            "(type = 'group') = (capacity is not null) and (type = 'group' or slot_id = id)",
        ),
        _check(t, "capacity", "capacity between 2 and 100"),
        _check(t, "cancelled_by", "(status = 'cancelled') = (cancelled_by is not null)"),
        _check(t, "cancelled_by_value", "cancelled_by in ('clinic', 'patient')"),
    ]


def _exclusions() -> list[ExcludeConstraint]:
    return [
        ExcludeConstraint(
            ("tenant_id", "="),
            ("practitioner_id", "="),
            ("slot_id", "<>"),
            ("during", "&&"),
            name="appointment_practitioner_overlap",
            using="gist",
            deferrable=True,
            initially="IMMEDIATE",
            where=sa.text(LIVE),
        ),
        ExcludeConstraint(
            ("tenant_id", "="),
            ("room_id", "="),
            ("slot_id", "<>"),
            ("during", "&&"),
            name="appointment_room_overlap",
            using="gist",
            deferrable=True,
            initially="IMMEDIATE",
            where=sa.text(f"{LIVE} and room_id is not null"),
        ),
        ExcludeConstraint(
            ("tenant_id", "="),
            ("patient_id", "="),
            ("during", "&&"),
            name="appointment_patient_overlap",
            using="gist",
            deferrable=True,
            initially="IMMEDIATE",
            where=sa.text(LIVE),
        ),
    ]


def downgrade() -> None:
    op.drop_constraint("fk_record_entry_tenant_id_appointment_id_appointment", "record_entry")
    op.drop_table("appointment")
    op.execute("drop function appointment_status_guard()")
    op.drop_table("appointment_series")
    op.drop_table("time_off")
    op.drop_table("room")
