"""Clinical record entries: signed entries are frozen by the database; addenda; RLS.

Revision ID: 0004_records
Revises: 0003_patients
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

from fisioflow.core.migration_helpers import enable_tenant_rls

revision = "0004_records"
down_revision = "0003_patients"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
T = "record_entry"

# Raised with SQLSTATE class 23 (integrity), so drivers and the API see a constraint
# violation (409 naming the constraint), never a server error.
GUARD = """
create function record_entry_guard() returns trigger
language plpgsql as $$
declare
    signature constant text[] := array['status', 'signed_at', 'signed_by', 'content_hash',
                                       'updated_at'];
begin
    if old.status = 'signed' then
        raise exception 'record entry % is signed: it can never be %d', old.id, lower(tg_op)
            using errcode = 'integrity_constraint_violation',
                  constraint = 'record_entry_signed_immutable',
                  hint = 'corrections are addenda linked to the signed entry';
    end if;
    if tg_op = 'DELETE' then
        return old;
    end if;
    if new.status = 'signed'
       and (to_jsonb(new) - signature) is distinct from (to_jsonb(old) - signature) then
        raise exception 'signing record entry % must not change its content', old.id
            using errcode = 'integrity_constraint_violation',
                  constraint = 'record_entry_signed_immutable';
    end if;
    return new;
end
$$
"""

ADDENDUM_CHECK = """
create function record_entry_addendum_check() returns trigger
language plpgsql as $$
begin
    if new.parent_id is not null and not exists (
        select 1 from record_entry p
        where p.tenant_id = new.tenant_id and p.id = new.parent_id
          and p.status = 'signed' and p.kind <> 'addendum'
    ) then
        raise exception 'an addendum must reference a signed entry that is not an addendum'
            using errcode = 'check_violation', constraint = 'record_entry_addendum_parent';
    end if;
    return new;
end
$$
"""

# '' is a system actor (command, job) with a tenant set; any new role is shut out
# until it is added here on purpose.
STAFF = "app_current_role() in ('admin', 'practitioner', '')"
PATIENT_READS = (
    "app_current_role() = 'patient' and status = 'signed'"
    " and patient_id = app_current_patient()"
    " and exists (select 1 from clinic c where c.id = tenant_id and c.patients_read_records)"
)


def upgrade() -> None:
    op.add_column(
        "clinic",
        sa.Column("patients_read_records", sa.Boolean, server_default="false", nullable=False),
    )
    _create_table()
    op.create_index("ix_record_entry_tenant_id_parent_id", T, ["tenant_id", "parent_id"])
    op.create_index("ix_record_entry_tenant_id_author_id", T, ["tenant_id", "author_id"])
    op.execute(GUARD)
    op.execute(
        f"create trigger record_entry_immutable before update or delete on {T} "
        "for each row execute function record_entry_guard()"
    )
    op.execute(ADDENDUM_CHECK)
    op.execute(
        f"create trigger record_entry_addendum before insert or update on {T} "
        "for each row execute function record_entry_addendum_check()"
    )
    _policies()


def _create_table() -> None:
    op.create_table(
        T,
        sa.Column("tenant_id", UUID(as_uuid=True), nullable=False),
        sa.Column("id", UUID(as_uuid=True), nullable=False),
        sa.Column("patient_id", UUID(as_uuid=True), nullable=False),
        sa.Column("appointment_id", UUID(as_uuid=True)),
        sa.Column("author_id", UUID(as_uuid=True), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("parent_id", UUID(as_uuid=True)),
        sa.Column("content", JSONB, nullable=False),
        sa.Column("diagnoses", JSONB, server_default="[]", nullable=False),
        sa.Column("vitals", JSONB),
        sa.Column("status", sa.String(10), server_default="draft", nullable=False),
        sa.Column("signed_at", TS),
        sa.Column("signed_by", UUID(as_uuid=True)),
        sa.Column("content_hash", sa.String(64)),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", TS, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_record_entry"),
        sa.UniqueConstraint(
            "tenant_id", "patient_id", "id", name="uq_record_entry_tenant_id_patient_id_id"
        ),
        *_checks(),
        *_foreign_keys(),
    )


def _checks() -> list[sa.CheckConstraint]:
    checks = {
        "kind": "kind in ('anamnesis', 'evaluation', 'evolution', 'reevaluation', "
        "'discharge', 'addendum')",
        "status": "status in ('draft', 'signed')",
        "signature": "status = 'draft' and signed_at is null and signed_by is null"
        " and content_hash is null"
        " or status = 'signed' and signed_at is not null and signed_by is not null"
        " and content_hash is not null",
        "content_hash_hex": "content_hash ~ '^[0-9a-f]{64}$'",
        "addendum_parent": "(kind = 'addendum') = (parent_id is not null)",
        "content_object": "jsonb_typeof(content) = 'object'",
        "diagnoses_array": "jsonb_typeof(diagnoses) = 'array'",
        "vitals_object": "jsonb_typeof(vitals) = 'object'",
    }
    # op.f(): the names are final; the naming convention would prefix them again.
    return [sa.CheckConstraint(sql, name=op.f(f"ck_{T}_{name}")) for name, sql in checks.items()]


def _foreign_keys() -> list[sa.ForeignKeyConstraint]:
    return [
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["clinic.id"], name=f"fk_{T}_tenant_id_clinic", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "patient_id"],
            ["patient.tenant_id", "patient.id"],
            name=f"fk_{T}_tenant_id_patient_id_patient",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "author_id"],
            ["practitioner.tenant_id", "practitioner.id"],
            name=f"fk_{T}_tenant_id_author_id_practitioner",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "signed_by"],
            ["user_account.tenant_id", "user_account.id"],
            name=f"fk_{T}_tenant_id_signed_by_user_account",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "patient_id", "parent_id"],
            [f"{T}.tenant_id", f"{T}.patient_id", f"{T}.id"],
            name=f"fk_{T}_tenant_id_patient_id_parent_id_{T}",
        ),
    ]


def _policies() -> None:
    enable_tenant_rls(T)
    op.execute(
        f"create policy record_readers on {T} as restrictive for select "
        f"using ({STAFF} or ({PATIENT_READS}))"
    )
    op.execute(
        f"create policy record_writers on {T} as restrictive for insert with check ({STAFF})"
    )
    op.execute(f"create policy record_updaters on {T} as restrictive for update using ({STAFF})")
    op.execute(f"create policy record_deleters on {T} as restrictive for delete using ({STAFF})")


def downgrade() -> None:
    op.drop_table(T)
    op.execute("drop function record_entry_addendum_check()")
    op.execute("drop function record_entry_guard()")
    op.drop_column("clinic", "patients_read_records")
