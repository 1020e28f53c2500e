"""Reads the catalog and lists every way a table could escape tenant isolation."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

# Tables with no tenant: read-only reference data or bookkeeping. Adding one here is a
# deliberate decision reviewed with the table's migration.
GLOBAL_TABLES = {
    "alembic_version",
    # The exercise library shipped with the product: the app role only reads it.
    "exercise_library",
    # The job queue: a job's arguments name the clinic; its task opens that clinic's
    # transaction (core/jobs.py). Queue rows hold ids, never health data.
    "procrastinate_jobs",
    "procrastinate_events",
    "procrastinate_periodic_defers",
    "procrastinate_workers",
    # Health of each delivery channel (circuit breaker), shared by every clinic's jobs.
    "notification_circuit",
    # Backup verification results (backup ids, times, table names): no health data.
    "backup_verification",
}
# The tenant table itself: scoped by its own id.
TENANT_ROOT = "clinic"

_TABLES = text(
    """
    select c.relname as name, c.relrowsecurity as enabled, c.relforcerowsecurity as forced,
           pg_get_userbyid(c.relowner) as owner,
           exists (select 1 from pg_attribute a where a.attrelid = c.oid
                   and a.attname = 'tenant_id' and not a.attisdropped) as has_tenant,
           (select count(*) from pg_policy p where p.polrelid = c.oid and p.polpermissive)
               as permissive_policies,
           has_table_privilege(:role, c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE')
               as app_can_touch
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relispartition
    order by c.relname
    """
)
_VIEWS = text(
    """
    select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relkind = 'v'
      and not coalesce('security_invoker=true' = any(c.reloptions), false)
      and not exists (select 1 from pg_depend d where d.objid = c.oid and d.deptype = 'e')
    """
)
_ROLE = text("select rolsuper, rolbypassrls from pg_roles where rolname = :role")


async def isolation_problems(conn: AsyncConnection, *, app_role: str) -> list[str]:
    problems: list[str] = []
    for row in (await conn.execute(_TABLES, {"role": app_role})).mappings():
        name = row["name"]
        if row["owner"] == app_role:
            problems.append(f"{name}: owned by the application role")
        if name in GLOBAL_TABLES:
            continue
        if not row["app_can_touch"]:
            continue  # reachable only through SECURITY DEFINER functions (patient_search)
        if not row["has_tenant"] and name != TENANT_ROOT:
            problems.append(f"{name}: no tenant_id and not declared global")
            continue
        if not row["enabled"]:
            problems.append(f"{name}: row level security not enabled")
        if not row["forced"]:
            problems.append(f"{name}: row level security not forced")
        if row["permissive_policies"] == 0:
            problems.append(f"{name}: no policy")
    for (view,) in await conn.execute(_VIEWS):
        problems.append(f"{view}: view is not security_invoker")
    role = (await conn.execute(_ROLE, {"role": app_role})).one()
    if role.rolsuper or role.rolbypassrls:
        problems.append(f"{app_role}: superuser or BYPASSRLS")
    return problems
