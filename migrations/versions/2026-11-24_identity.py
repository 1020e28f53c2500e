"""Identity: clinics (tenants), users, refresh and one-time tokens, all under RLS.

Revision ID: 0002_identity
Revises: 0001_foundation
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import CITEXT, UUID

from fisioflow.core.migration_helpers import enable_tenant_rls

revision = "0002_identity"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _timestamps() -> list[sa.Column[sa.DateTime]]:
    return [
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", TS, server_default=sa.func.now(), nullable=False),
    ]


def _tenant_keys() -> list[sa.Column[UUID]]:
    return [
        sa.Column("tenant_id", UUID(as_uuid=True), nullable=False),
        sa.Column("id", UUID(as_uuid=True), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "clinic",
        sa.Column("id", UUID(as_uuid=True), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("slug", CITEXT, nullable=False),
        sa.Column("cnpj", sa.String(14)),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("locale", sa.String(10), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_clinic"),
        sa.UniqueConstraint("slug", name="uq_clinic_slug"),
    )
    # The clinic row is its own tenant; an anonymous login may read one clinic by slug
    # after setting app.clinic_slug, never list them.
    op.execute("alter table clinic enable row level security")
    op.execute("alter table clinic force row level security")
    op.execute(
        "create policy tenant_isolation on clinic "
        "using (id = app_current_tenant() "
        "or slug = nullif(current_setting('app.clinic_slug', true), '')) "
        "with check (id = app_current_tenant())"
    )

    op.create_table(
        "user_account",
        *_tenant_keys(),
        sa.Column("email", CITEXT, nullable=False),
        sa.Column("full_name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("password_hash", sa.String(255)),
        sa.Column("is_active", sa.Boolean, server_default="true", nullable=False),
        sa.Column("password_changed_at", TS),
        sa.Column("last_login_at", TS),
        *_timestamps(),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_user_account"),
        sa.UniqueConstraint("tenant_id", "email", name="uq_user_account_tenant_id_email"),
        sa.CheckConstraint(
            "role in ('admin', 'practitioner', 'receptionist', 'patient')",
            name=op.f("ck_user_account_role"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["clinic.id"],
            name="fk_user_account_tenant_id_clinic",
            ondelete="CASCADE",
        ),
    )
    enable_tenant_rls("user_account")
    # Patients see only their own user row; staff see their clinic's users.
    op.execute(
        "create policy patient_self on user_account as restrictive "
        "using (app_current_role() <> 'patient' or id = app_current_user())"
    )

    for table in ("refresh_token", "one_time_token"):
        extra = (
            [
                sa.Column("family_id", UUID(as_uuid=True), nullable=False),
            ]
            if table == "refresh_token"
            else [sa.Column("purpose", sa.String(20), nullable=False)]
        )
        tail = (
            [sa.Column("revoked_at", TS)]
            if table == "refresh_token"
            else [sa.Column("created_by", UUID(as_uuid=True))]
        )
        op.create_table(
            table,
            *_tenant_keys(),
            sa.Column("user_id", UUID(as_uuid=True), nullable=False),
            *extra,
            sa.Column("token_hash", sa.String(64), nullable=False),
            sa.Column("expires_at", TS, nullable=False),
            sa.Column("used_at", TS),
            *tail,
            *_timestamps(),
            sa.PrimaryKeyConstraint("tenant_id", "id", name=f"pk_{table}"),
            sa.UniqueConstraint("tenant_id", "token_hash", name=f"uq_{table}_tenant_id_token_hash"),
            sa.ForeignKeyConstraint(
                ["tenant_id", "user_id"],
                ["user_account.tenant_id", "user_account.id"],
                name=f"fk_{table}_tenant_id_user_id_user_account",
                ondelete="CASCADE",
            ),
        )
        op.create_index(f"ix_{table}_tenant_id_user_id", table, ["tenant_id", "user_id"])
        enable_tenant_rls(table)
    op.create_index(
        "ix_refresh_token_tenant_id_family_id", "refresh_token", ["tenant_id", "family_id"]
    )
    op.create_check_constraint(
        op.f("ck_one_time_token_purpose"),
        "one_time_token",
        "purpose in ('invite', 'password_reset')",
    )


def downgrade() -> None:
    for table in ("one_time_token", "refresh_token", "user_account", "clinic"):
        op.drop_table(table)
