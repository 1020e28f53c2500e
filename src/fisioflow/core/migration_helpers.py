"""SQL building blocks for migrations: tenancy policies, grants, helper functions.

Kept in code (not copied into each migration) so every tenant table gets the same
policy shape; a migration that changes the shape must write its SQL out instead.
"""

from __future__ import annotations

from alembic import op


def app_role() -> str:
    role: str = op.get_context().config.attributes.get("app_role", "fisioflow_app")  # type: ignore[union-attr]
    return role


def enable_tenant_rls(table: str) -> None:
    """ENABLE + FORCE row-level security with the tenant policy (fails closed when unset)."""
    op.execute(f"alter table {table} enable row level security")
    op.execute(f"alter table {table} force row level security")
    op.execute(
        f"create policy tenant_isolation on {table} "
        "using (tenant_id = app_current_tenant()) "
        "with check (tenant_id = app_current_tenant())"
    )


def attach_audit(
    table: str,
    *,
    secret_columns: tuple[str, ...] = (),
    tenant_column: str = "tenant_id",
    patient_column: str | None = "patient_id",
) -> None:
    """Audit every INSERT, UPDATE and DELETE of `table` into `audit_event`
    (migrations/versions/2026-11-24_audit.py).

    Call it in the migration that creates a table holding patient, clinical, scheduling,
    billing or user data; tests/audit/test_completeness.py fails for a tenant table
    without it. `secret_columns` (password or token hashes) never reach the audit log:
    only their names appear in `changed_fields`. `patient_column` names the column that
    says which patient a row concerns ("id" for the patient table itself, None if none).
    """
    args = [tenant_column, patient_column or "", *secret_columns]
    quoted = ", ".join("'" + arg.replace("'", "''") + "'" for arg in args)
    op.execute(
        f"create trigger audit_row after insert or update or delete on {table} "
        f"for each row execute function audit_row_change({quoted})"
    )


def detach_audit(table: str) -> None:
    op.execute(f"drop trigger if exists audit_row on {table}")
