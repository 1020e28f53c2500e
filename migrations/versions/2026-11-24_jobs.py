"""Job queue: procrastinate's schema (version pinned in uv.lock), and the clinic
directory that maintenance jobs use to visit every clinic.

Revision ID: 0005_jobs
Revises: 0004_records
Create Date: 2026-11-24

Upgrading procrastinate: apply the SQL migrations it ships for the new version
(procrastinate/sql/migrations/) in a new Alembic revision.
"""

from __future__ import annotations

from alembic import op
from procrastinate.schema import SchemaManager

revision = "0005_jobs"
down_revision = "0004_records"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(SchemaManager.get_schema())
    # Jobs run as the application role with app.role = 'system': they may list clinic ids
    # (to visit each clinic in its own transaction) and nothing more. API roles come from
    # tokens and can never be 'system'.
    op.execute(
        "create policy system_directory on clinic for select using (app_current_role() = 'system')"
    )


def downgrade() -> None:
    op.execute("drop policy system_directory on clinic")
    for table in (
        "procrastinate_events",
        "procrastinate_periodic_defers",
        "procrastinate_jobs",
        "procrastinate_workers",
    ):
        op.execute(f"drop table if exists {table} cascade")
