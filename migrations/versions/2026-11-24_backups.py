"""Backups: the record of every backup verification (restore-tested or not).

Revision ID: 0017_backups
Revises: 0016_exercise
Create Date: 2026-11-24

Global bookkeeping, no tenant and no health data: written by `fisioflow backup verify`
and the `backup.verify` job (as the owner), read by `/health/ready` (as the app role).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

from fisioflow.core.migration_helpers import app_role

revision = "0017_backups"
down_revision = "0016_exercise"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "backup_verification",
        sa.Column("id", UUID(as_uuid=True), nullable=False),
        sa.Column("backup_id", sa.String(64), nullable=False),
        sa.Column("backup_created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ok", sa.Boolean, nullable=False),
        sa.Column("duration_ms", sa.Integer, nullable=False),
        sa.Column("failures", JSONB, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_backup_verification"),
    )
    op.create_index(
        "ix_backup_verification_verified_at", "backup_verification", ["ok", "verified_at"]
    )
    op.execute(f"revoke insert, update, delete on backup_verification from {app_role()}")


def downgrade() -> None:
    op.drop_table("backup_verification")
