"""Foundation: application role grants and tenancy helper functions.

Revision ID: 0001_foundation
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

from alembic import op

from fisioflow.core.migration_helpers import app_role

revision = "0001_foundation"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    role = app_role()
    op.execute(f"grant usage on schema public to {role}")
    op.execute(
        f"alter default privileges in schema public "
        f"grant select, insert, update, delete on tables to {role}"
    )
    op.execute(f"alter default privileges in schema public grant usage on sequences to {role}")
    op.execute(f"grant select on alembic_version to {role}")
    # RLS helpers: an unset or empty setting yields NULL, so policies fail closed.
    op.execute(
        """
        create function app_current_tenant() returns uuid
        language sql stable parallel safe as
        $$ select nullif(current_setting('app.tenant_id', true), '')::uuid $$
        """
    )
    op.execute(
        """
        create function app_current_user() returns uuid
        language sql stable parallel safe as
        $$ select nullif(current_setting('app.user_id', true), '')::uuid $$
        """
    )
    op.execute(
        """
        create function app_current_role() returns text
        language sql stable parallel safe as
        $$ select coalesce(current_setting('app.role', true), '') $$
        """
    )
    op.execute(
        """
        create function app_current_patient() returns uuid
        language sql stable parallel safe as
        $$ select nullif(current_setting('app.patient_id', true), '')::uuid $$
        """
    )


def downgrade() -> None:
    for fn in ("app_current_patient", "app_current_role", "app_current_user", "app_current_tenant"):
        op.execute(f"drop function {fn}()")
    role = app_role()
    op.execute(f"revoke select on alembic_version from {role}")
    op.execute(f"alter default privileges in schema public revoke usage on sequences from {role}")
    op.execute(
        f"alter default privileges in schema public "
        f"revoke select, insert, update, delete on tables from {role}"
    )
    op.execute(f"revoke usage on schema public from {role}")
