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
