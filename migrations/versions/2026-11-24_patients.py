"""Practitioners and patients, with accent- and typo-tolerant name search.

Revision ID: 0003_patients
Revises: 0002_identity
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

from fisioflow.core.migration_helpers import enable_tenant_rls

revision = "0003_patients"
down_revision = "0002_identity"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _base(table: str) -> list[sa.Column[sa.types.TypeEngine[object]]]:
    return [
        sa.Column("tenant_id", UUID(as_uuid=True), nullable=False),
        sa.Column("id", UUID(as_uuid=True), nullable=False),
    ]


def _timestamps() -> list[sa.Column[sa.DateTime]]:
    return [
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", TS, server_default=sa.func.now(), nullable=False),
    ]


def upgrade() -> None:
    # unaccent() is only STABLE (it reads a dictionary); this wrapper pins the dictionary
    # so it can be IMMUTABLE and back an expression index.
    op.execute(
        """
        create function f_unaccent(text) returns text
        language sql immutable parallel safe strict as
        $$ select public.unaccent('public.unaccent'::regdictionary, $1) $$
        """
    )
    op.create_table(
        "practitioner",
        *_base("practitioner"),
        sa.Column("user_id", UUID(as_uuid=True)),
        sa.Column("full_name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(254)),
        sa.Column("phone", sa.String(20)),
        sa.Column("council", sa.String(20), nullable=False),
        sa.Column("council_number", sa.String(20), nullable=False),
        sa.Column("council_state", sa.String(2), nullable=False),
        sa.Column("specialty", sa.String(120)),
        sa.Column("status", sa.String(10), server_default="active", nullable=False),
        sa.Column("working_hours", JSONB, server_default="{}", nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_practitioner"),
        sa.UniqueConstraint(
            "tenant_id",
            "council",
            "council_number",
            "council_state",
            name="uq_practitioner_tenant_id_council_council_number_council_state",
        ),
        sa.UniqueConstraint("tenant_id", "user_id", name="uq_practitioner_tenant_id_user_id"),
        sa.CheckConstraint("status in ('active', 'inactive')", name=op.f("ck_practitioner_status")),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["clinic.id"],
            name="fk_practitioner_tenant_id_clinic",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["user_account.tenant_id", "user_account.id"],
            name="fk_practitioner_tenant_id_user_id_user_account",
        ),
    )
    enable_tenant_rls("practitioner")

    op.create_table(
        "patient",
        *_base("patient"),
        sa.Column("full_name", sa.String(200), nullable=False),
        sa.Column("social_name", sa.String(200)),
        sa.Column("cpf", sa.String(11)),
        sa.Column("birth_on", sa.Date),
        sa.Column("sex", sa.String(20)),
        sa.Column("gender", sa.String(50)),
        sa.Column("phone", sa.String(20)),
        sa.Column("email", sa.String(254)),
        sa.Column("address", JSONB),
        sa.Column("emergency_contact", JSONB),
        sa.Column("guardian", JSONB),
        sa.Column("practitioner_id", UUID(as_uuid=True)),
        sa.Column("status", sa.String(12), server_default="active", nullable=False),
        sa.Column("notes", sa.String(5000)),
        sa.Column("consent_version", sa.String(20)),
        sa.Column("consent_at", TS),
        sa.Column("archived_at", TS),
        sa.Column("version", sa.Integer, server_default="1", nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_patient"),
        sa.CheckConstraint(
            "status in ('active', 'inactive', 'discharged')", name=op.f("ck_patient_status")
        ),
        sa.CheckConstraint("cpf ~ '^[0-9]{11}$'", name=op.f("ck_patient_cpf_digits")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["clinic.id"], name="fk_patient_tenant_id_clinic", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "practitioner_id"],
            ["practitioner.tenant_id", "practitioner.id"],
            name="fk_patient_tenant_id_practitioner_id_practitioner",
        ),
    )
    op.create_index(
        "uq_patient_tenant_id_cpf",
        "patient",
        ["tenant_id", "cpf"],
        unique=True,
        postgresql_where=sa.text("cpf is not null"),
    )
    op.create_index(
        "ix_patient_tenant_id_practitioner_id", "patient", ["tenant_id", "practitioner_id"]
    )
    op.create_index("ix_patient_tenant_id_phone", "patient", ["tenant_id", "phone"])
    op.execute("create index ix_patient_tenant_id_email on patient (tenant_id, lower(email))")
    op.execute(
        "create index ix_patient_name_trgm on patient "
        "using gin (f_unaccent(lower(full_name)) gin_trgm_ops)"
    )
    op.execute(
        "create index ix_patient_social_name_trgm on patient "
        "using gin (f_unaccent(lower(social_name)) gin_trgm_ops) where social_name is not null"
    )
    enable_tenant_rls("patient")
    # A patient user reads only their own patient row.
    op.execute(
        "create policy patient_self on patient as restrictive "
        "using (app_current_role() <> 'patient' or id = app_current_patient())"
    )

    op.add_column("user_account", sa.Column("patient_id", UUID(as_uuid=True)))
    op.create_foreign_key(
        "fk_user_account_tenant_id_patient_id_patient",
        "user_account",
        "patient",
        ["tenant_id", "patient_id"],
        ["tenant_id", "id"],
    )
    op.create_unique_constraint(
        "uq_user_account_tenant_id_patient_id", "user_account", ["tenant_id", "patient_id"]
    )


def downgrade() -> None:
    op.drop_constraint("uq_user_account_tenant_id_patient_id", "user_account")
    op.drop_constraint("fk_user_account_tenant_id_patient_id_patient", "user_account")
    op.drop_column("user_account", "patient_id")
    op.drop_table("patient")
    op.drop_table("practitioner")
    op.execute("drop function f_unaccent(text)")
