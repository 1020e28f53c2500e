"""Home exercise programs: the global exercise library, clinic exercises, prescriptions
with versioned items, patient-logged sessions, and care-team alerts.

Revision ID: 0016_exercise
Revises: 0015_audit_chain_flush
Create Date: 2026-11-24

- `exercise_library` is global reference data: the application role may only read it.
  Its rows come from `fisioflow/exercise/library.json` (upserted by id).
- Tenant tables get the tenant policy plus restrictive policies: patients read their own
  program and write their own logs; receptionists never see clinical rows.
- Triggers keep item versions immutable (only `superseded_at` is set, once) and freeze a
  log 24 hours after it was recorded. Their errors use SQLSTATE class 23, so the API
  answers 409, never 500.
- `exercise_log` is the high-volume table (millions of rows): its reads are always one
  patient's time range, served by the btree (tenant_id, patient_id, performed_at); a BRIN
  would not help because clinics' rows interleave in time.
- Every tenant table carries the audit trigger (`attach_audit`, migration 0014_audit); the
  global library does not (it changes only through migrations).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from fisioflow.core.migration_helpers import app_role, attach_audit, enable_tenant_rls
from fisioflow.exercise.library import library_rows

revision = "0016_exercise"
down_revision = "0015_audit_chain_flush"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
SEARCH_TEXT = "f_unaccent(lower(((name)::text || ' '::text) || (description)::text))"
REGIONS = (
    "'cervical', 'thoracic', 'lumbar', 'core', 'shoulder', 'elbow', 'wrist_hand', 'hip', "
    "'knee', 'ankle_foot', 'full_body'"
)
CATEGORIES = (
    "'strengthening', 'mobility', 'stretching', 'balance', 'motor_control', 'cardio', 'breathing'"
)
STAFF = "app_current_role() in ('admin', 'practitioner', '')"
OWN = "app_current_role() = 'patient' and patient_id = app_current_patient()"

VERSION_GUARD = """
create function prescription_item_version_guard() returns trigger
language plpgsql as $$
begin
    if old.superseded_at is null and new.superseded_at is not null
       and (to_jsonb(new) - array['superseded_at', 'updated_at'])
           = (to_jsonb(old) - array['superseded_at', 'updated_at']) then
        return new;
    end if;
    raise exception 'prescription item version % is immutable: change the item instead', old.id
        using errcode = 'integrity_constraint_violation',
              constraint = 'prescription_item_version_immutable';
end
$$
"""

LOG_GUARD = """
create function exercise_log_guard() returns trigger
language plpgsql as $$
declare
    fixed constant text[] := array['tenant_id', 'id', 'patient_id', 'item_version_id',
                                   'idempotency_key', 'request_hash', 'created_by',
                                   'created_at'];
    old_fixed jsonb := (select jsonb_object_agg(k, to_jsonb(old) -> k) from unnest(fixed) k);
    new_fixed jsonb := (select jsonb_object_agg(k, to_jsonb(new) -> k) from unnest(fixed) k);
begin
    if old.created_at < now() - interval '24 hours' then
        raise exception 'exercise log % was recorded more than 24 hours ago and is frozen', old.id
            using errcode = 'integrity_constraint_violation',
                  constraint = 'exercise_log_frozen';
    end if;
    if new_fixed is distinct from old_fixed then
        raise exception 'exercise log % may correct what was done, not whose or which it is',
            old.id
            using errcode = 'integrity_constraint_violation',
                  constraint = 'exercise_log_identity';
    end if;
    return new;
end
$$
"""


def upgrade() -> None:
    _library()
    _exercise()
    _prescription()
    _items()
    _log()
    _alert()
    _policies()
    _audit()


def _exercise_columns(table: str) -> list[sa.SchemaItem]:
    checks = {
        "body_region": f"body_region in ({REGIONS})",
        "category": f"category in ({CATEGORIES})",
        "difficulty": "difficulty in ('beginner', 'intermediate', 'advanced')",
        "defaults": "default_sets between 1 and 1000 and default_reps between 1 and 1000"
        " and default_hold_seconds between 1 and 3600"
        " and default_duration_seconds between 1 and 86400",
        "instructions_array": "jsonb_typeof(instructions) = 'array'",
        "contraindications_array": "jsonb_typeof(contraindications) = 'array'",
    }
    return [
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.String(2000), nullable=False),
        sa.Column("body_region", sa.String(20), nullable=False),
        sa.Column("category", sa.String(20), nullable=False),
        sa.Column("difficulty", sa.String(20), nullable=False),
        sa.Column("default_sets", sa.SmallInteger),
        sa.Column("default_reps", sa.SmallInteger),
        sa.Column("default_hold_seconds", sa.SmallInteger),
        sa.Column("default_duration_seconds", sa.Integer),
        sa.Column("instructions", postgresql.JSONB, nullable=False),
        sa.Column("contraindications", postgresql.JSONB, nullable=False),
        sa.Column("image_url", sa.String(500)),
        sa.Column("video_url", sa.String(500)),
        sa.Column("search_text", sa.Text, sa.Computed(SEARCH_TEXT, persisted=True), nullable=False),
        *[sa.CheckConstraint(sql, name=op.f(f"ck_{table}_{n}")) for n, sql in checks.items()],
    ]


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", TS, server_default=sa.text("now()"), nullable=False),
    ]


def _library() -> None:
    table = op.create_table(
        "exercise_library",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("slug", sa.String(100), nullable=False),
        *_exercise_columns("exercise_library"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exercise_library")),
        sa.UniqueConstraint("slug", name=op.f("uq_exercise_library_slug")),
    )
    op.execute(f"revoke insert, update, delete, truncate on exercise_library from {app_role()}")
    assert table is not None
    statement = postgresql.insert(table).values(list(library_rows()))
    replaced = {c.name: statement.excluded[c.name] for c in table.columns if c.name != "id"}
    replaced.pop("search_text")
    op.execute(statement.on_conflict_do_update(index_elements=["id"], set_=replaced))


def _exercise() -> None:
    op.create_table(
        "exercise",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("source_exercise_id", sa.UUID()),
        sa.Column("created_by", sa.UUID()),
        sa.Column("archived_at", TS),
        *_exercise_columns("exercise"),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["source_exercise_id"],
            ["exercise_library.id"],
            name=op.f("fk_exercise_source_exercise_id_exercise_library"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "created_by"],
            ["user_account.tenant_id", "user_account.id"],
            name=op.f("fk_exercise_tenant_id_created_by_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["clinic.id"],
            name=op.f("fk_exercise_tenant_id_clinic"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_exercise")),
    )
    op.create_index(
        op.f("ix_exercise_tenant_id_source_exercise_id"),
        "exercise",
        ["tenant_id", "source_exercise_id"],
    )


def _prescription() -> None:
    op.create_table(
        "prescription",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("patient_id", sa.UUID(), nullable=False),
        sa.Column("practitioner_id", sa.UUID(), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("notes", sa.String(2000)),
        sa.Column("status", sa.String(12), server_default="active", nullable=False),
        sa.Column("status_history", postgresql.JSONB, nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=False),
        *_timestamps(),
        sa.CheckConstraint(
            "jsonb_typeof(status_history) = 'array'",
            name=op.f("ck_prescription_status_history_array"),
        ),
        sa.CheckConstraint(
            "status in ('active', 'paused', 'completed', 'cancelled')",
            name=op.f("ck_prescription_status"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "patient_id"],
            ["patient.tenant_id", "patient.id"],
            name=op.f("fk_prescription_tenant_id_patient_id_patient"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "practitioner_id"],
            ["practitioner.tenant_id", "practitioner.id"],
            name=op.f("fk_prescription_tenant_id_practitioner_id_practitioner"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["clinic.id"],
            name=op.f("fk_prescription_tenant_id_clinic"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_prescription")),
        sa.UniqueConstraint(
            "tenant_id", "patient_id", "id", name=op.f("uq_prescription_tenant_id_patient_id_id")
        ),
    )
    op.create_index(
        op.f("ix_prescription_tenant_id_status"), "prescription", ["tenant_id", "status"]
    )


def _items() -> None:
    op.create_table(
        "prescription_item",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("prescription_id", sa.UUID(), nullable=False),
        sa.Column("patient_id", sa.UUID(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["tenant_id", "patient_id", "prescription_id"],
            ["prescription.tenant_id", "prescription.patient_id", "prescription.id"],
            name=op.f("fk_prescription_item_tenant_id_patient_id_prescription_id_prescription"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_prescription_item")),
        sa.UniqueConstraint(
            "tenant_id",
            "patient_id",
            "id",
            name=op.f("uq_prescription_item_tenant_id_patient_id_id"),
        ),
        sa.UniqueConstraint(
            "tenant_id",
            "prescription_id",
            "position",
            name=op.f("uq_prescription_item_tenant_id_prescription_id_position"),
        ),
    )
    _versions()


def _version_checks() -> list[sa.CheckConstraint]:
    checks = {
        "days_of_week": "cardinality(days_of_week) between 1 and 7"
        " and days_of_week <@ '{1,2,3,4,5,6,7}'",
        "duration_seconds": "duration_seconds between 1 and 86400",
        "dates": "end_on >= start_on",
        "hold_seconds": "hold_seconds between 1 and 3600",
        "load_kg": "load_kg > 0 and load_kg <= 500",
        "one_exercise": "num_nonnulls(library_exercise_id, exercise_id) = 1",
        "dose": "num_nonnulls(reps, hold_seconds, duration_seconds) >= 1",
        "reps": "reps between 1 and 1000",
        "sets": "sets between 1 and 1000",
        "times_per_day": "times_per_day between 1 and 10",
    }
    t = "prescription_item_version"
    return [sa.CheckConstraint(sql, name=op.f(f"ck_{t}_{n}")) for n, sql in checks.items()]


def _versions() -> None:
    t = "prescription_item_version"
    op.create_table(
        t,
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("item_id", sa.UUID(), nullable=False),
        sa.Column("patient_id", sa.UUID(), nullable=False),
        sa.Column("version", sa.SmallInteger(), nullable=False),
        sa.Column("library_exercise_id", sa.UUID()),
        sa.Column("exercise_id", sa.UUID()),
        sa.Column("sets", sa.SmallInteger(), nullable=False),
        sa.Column("reps", sa.SmallInteger()),
        sa.Column("hold_seconds", sa.SmallInteger()),
        sa.Column("duration_seconds", sa.Integer()),
        sa.Column("load_kg", sa.Numeric(precision=6, scale=2)),
        sa.Column("times_per_day", sa.SmallInteger(), nullable=False),
        sa.Column("days_of_week", postgresql.ARRAY(sa.SmallInteger()), nullable=False),
        sa.Column("start_on", sa.Date(), nullable=False),
        sa.Column("end_on", sa.Date()),
        sa.Column("notes", sa.String(2000)),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("superseded_at", TS),
        sa.Column("created_by", sa.UUID(), nullable=False),
        *_timestamps(),
        *_version_checks(),
        sa.ForeignKeyConstraint(
            ["library_exercise_id"],
            ["exercise_library.id"],
            name=op.f(f"fk_{t}_library_exercise_id_exercise_library"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "exercise_id"],
            ["exercise.tenant_id", "exercise.id"],
            name=op.f(f"fk_{t}_tenant_id_exercise_id_exercise"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "patient_id", "item_id"],
            ["prescription_item.tenant_id", "prescription_item.patient_id", "prescription_item.id"],
            name=op.f(f"fk_{t}_tenant_id_patient_id_item_id_prescription_item"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f(f"pk_{t}")),
        sa.UniqueConstraint(
            "tenant_id", "item_id", "version", name=op.f(f"uq_{t}_tenant_id_item_id_version")
        ),
        sa.UniqueConstraint(
            "tenant_id", "patient_id", "id", name=op.f(f"uq_{t}_tenant_id_patient_id_id")
        ),
    )
    op.create_index(
        "uq_prescription_item_version_current",
        t,
        ["tenant_id", "item_id"],
        unique=True,
        postgresql_where=sa.text("superseded_at is null"),
    )
    op.execute(VERSION_GUARD)
    op.execute(
        f"create trigger prescription_item_version_immutable before update on {t} "
        "for each row execute function prescription_item_version_guard()"
    )


def _log_checks() -> list[sa.CheckConstraint]:
    checks = {
        "difficulty": "difficulty between 0 and 10",
        "duration_seconds": "duration_seconds between 1 and 86400",
        "done": "num_nonnulls(sets_done, reps_done, duration_seconds) >= 1",
        "sensor_data_size": "octet_length(sensor_data::text) <= 131072",
        "pain_after": "pain_after between 0 and 10",
        "pain_before": "pain_before between 0 and 10",
        "reps_done": "reps_done between 1 and 1000",
        "sets_done": "sets_done between 1 and 1000",
    }
    return [sa.CheckConstraint(sql, name=op.f(f"ck_exercise_log_{n}")) for n, sql in checks.items()]


def _log() -> None:
    op.create_table(
        "exercise_log",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("patient_id", sa.UUID(), nullable=False),
        sa.Column("item_version_id", sa.UUID(), nullable=False),
        sa.Column("performed_at", TS, nullable=False),
        sa.Column("sets_done", sa.SmallInteger()),
        sa.Column("reps_done", sa.SmallInteger()),
        sa.Column("duration_seconds", sa.Integer()),
        sa.Column("pain_before", sa.SmallInteger(), nullable=False),
        sa.Column("pain_after", sa.SmallInteger(), nullable=False),
        sa.Column("difficulty", sa.SmallInteger()),
        sa.Column("note", sa.String(2000)),
        sa.Column("sensor_data", postgresql.JSONB),
        sa.Column("idempotency_key", sa.String(200)),
        sa.Column("request_hash", sa.String(64)),
        sa.Column("created_by", sa.UUID(), nullable=False),
        *_timestamps(),
        *_log_checks(),
        sa.ForeignKeyConstraint(
            ["tenant_id", "patient_id", "item_version_id"],
            [
                "prescription_item_version.tenant_id",
                "prescription_item_version.patient_id",
                "prescription_item_version.id",
            ],
            name=op.f(
                "fk_exercise_log_tenant_id_patient_id_item_version_id_prescription_item_version"
            ),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["clinic.id"],
            name=op.f("fk_exercise_log_tenant_id_clinic"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_exercise_log")),
        sa.UniqueConstraint(
            "tenant_id",
            "patient_id",
            "idempotency_key",
            name=op.f("uq_exercise_log_tenant_id_patient_id_idempotency_key"),
        ),
    )
    op.create_index(
        op.f("ix_exercise_log_tenant_id_patient_id_performed_at"),
        "exercise_log",
        ["tenant_id", "patient_id", "performed_at"],
    )
    op.execute(LOG_GUARD)
    op.execute(
        "create trigger exercise_log_correction_window before update on exercise_log "
        "for each row execute function exercise_log_guard()"
    )


def _alert() -> None:
    op.create_table(
        "alert",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("patient_id", sa.UUID(), nullable=False),
        sa.Column("practitioner_id", sa.UUID()),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("status", sa.String(15), server_default="open", nullable=False),
        sa.Column("message", sa.String(500), nullable=False),
        sa.Column("details", postgresql.JSONB, server_default="{}", nullable=False),
        sa.Column("dedupe_key", sa.String(200), nullable=False),
        sa.Column("acknowledged_at", TS),
        sa.Column("acknowledged_by", sa.UUID()),
        sa.Column("resolved_at", TS),
        sa.Column("resolved_by", sa.UUID()),
        *_timestamps(),
        sa.CheckConstraint(
            "jsonb_typeof(details) = 'object'", name=op.f("ck_alert_details_object")
        ),
        sa.CheckConstraint(
            "kind in ('pain_high', 'pain_rising', 'missed_sessions', 'sos')",
            name=op.f("ck_alert_kind"),
        ),
        sa.CheckConstraint(
            "status in ('open', 'acknowledged', 'resolved')", name=op.f("ck_alert_status")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "patient_id"],
            ["patient.tenant_id", "patient.id"],
            name=op.f("fk_alert_tenant_id_patient_id_patient"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "practitioner_id"],
            ["practitioner.tenant_id", "practitioner.id"],
            name=op.f("fk_alert_tenant_id_practitioner_id_practitioner"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["clinic.id"], name=op.f("fk_alert_tenant_id_clinic"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_alert")),
        sa.UniqueConstraint("tenant_id", "dedupe_key", name=op.f("uq_alert_tenant_id_dedupe_key")),
    )
    op.create_index(
        op.f("ix_alert_tenant_id_patient_id_id"), "alert", ["tenant_id", "patient_id", "id"]
    )
    op.create_index(op.f("ix_alert_tenant_id_status_id"), "alert", ["tenant_id", "status", "id"])


def _restrict(table: str, *, read: str, write: str) -> None:
    op.execute(f"create policy {table}_readers on {table} as restrictive for select using ({read})")
    op.execute(
        f"create policy {table}_writers on {table} as restrictive for insert with check ({write})"
    )
    op.execute(
        f"create policy {table}_updaters on {table} as restrictive for update "
        f"using ({write}) with check ({write})"
    )
    op.execute(
        f"create policy {table}_deleters on {table} as restrictive for delete using ({STAFF})"
    )


def _policies() -> None:
    for table in ("exercise", "prescription", "prescription_item", "prescription_item_version"):
        enable_tenant_rls(table)
    _restrict("exercise", read="true", write=STAFF)
    for table in ("prescription", "prescription_item", "prescription_item_version"):
        _restrict(table, read=f"{STAFF} or {OWN}", write=STAFF)
    enable_tenant_rls("exercise_log")
    _restrict(
        "exercise_log",
        read=f"{STAFF} or {OWN}",
        write=f"app_current_role() = '' or {OWN}",
    )
    enable_tenant_rls("alert")
    # Patients raise alerts from their own logs (and SOS) but never read them.
    op.execute(f"create policy alert_readers on alert as restrictive for select using ({STAFF})")
    op.execute(
        "create policy alert_writers on alert as restrictive for insert "
        f"with check ({STAFF} or {OWN})"
    )
    op.execute(f"create policy alert_updaters on alert as restrictive for update using ({STAFF})")
    op.execute(f"create policy alert_deleters on alert as restrictive for delete using ({STAFF})")


def _audit() -> None:
    attach_audit("exercise", patient_column=None)
    for table in (
        "prescription",
        "prescription_item",
        "prescription_item_version",
        "exercise_log",
        "alert",
    ):
        attach_audit(table)
    _patient_audit_view(hidden="('internal_note', 'alert')")


def _patient_audit_view(*, hidden: str) -> None:
    """Alerts are staff-only (a patient never reads one), so neither their audit events:
    the patient's own-events policy of 0014_audit hides them as it hides internal notes."""
    op.execute(
        "alter policy patient_self on audit_event using (app_current_role() <> 'patient' "
        f"or (patient_id = app_current_patient() and table_name not in {hidden}))"
    )


def downgrade() -> None:
    _patient_audit_view(hidden="('internal_note')")
    for table in (
        "alert",
        "exercise_log",
        "prescription_item_version",
        "prescription_item",
        "prescription",
        "exercise",
        "exercise_library",
    ):
        op.drop_table(table)
    op.execute("drop function exercise_log_guard()")
    op.execute("drop function prescription_item_version_guard()")
