"""Patient name search that can use its trigram index under row-level security.

Revision ID: 0006_patient_search
Revises: 0005_jobs
Create Date: 2026-11-24

Trap: under RLS, PostgreSQL runs the tenant policy before any condition built from
non-LEAKPROOF functions (lower, unaccent, pg_trgm's %>), so a trigram index on `patient`
cannot be used and every search reads the whole clinic. Marking them LEAKPROOF needs a
superuser (not available on managed PostgreSQL). Instead the normalised names live in
`patient_search`, which the application role cannot touch at all, maintained by a
trigger and read only through `patient_name_matches(q)`: SECURITY DEFINER, and it
filters by `app_current_tenant()` itself (NULL tenant: no rows).
"""

from __future__ import annotations

from alembic import op

from fisioflow.core.migration_helpers import app_role

revision = "0006_patient_search"
down_revision = "0005_jobs"
branch_labels = None
depends_on = None

NAME_NORM = "f_unaccent(lower(p.full_name || coalesce(' ' || p.social_name, '')))"


def upgrade() -> None:
    role = app_role()
    op.execute("create extension if not exists btree_gin")
    op.execute(
        """
        create table patient_search (
            tenant_id uuid not null,
            patient_id uuid not null,
            name_norm text not null,
            constraint pk_patient_search primary key (tenant_id, patient_id),
            constraint fk_patient_search_tenant_id_patient_id_patient
                foreign key (tenant_id, patient_id) references patient (tenant_id, id)
                on delete cascade
        )
        """
    )
    op.execute(f"revoke all on patient_search from {role}")
    op.execute(
        "create index ix_patient_search_name on patient_search "
        "using gin (tenant_id, name_norm gin_trgm_ops)"
    )
    op.execute(
        """
        create function patient_search_sync() returns trigger
        language plpgsql security definer set search_path = public, pg_temp as $$
        begin
            insert into patient_search (tenant_id, patient_id, name_norm)
            values (new.tenant_id, new.id,
                    f_unaccent(lower(new.full_name || coalesce(' ' || new.social_name, ''))))
            on conflict (tenant_id, patient_id) do update set name_norm = excluded.name_norm;
            return null;
        end $$
        """
    )
    op.execute(
        "create trigger patient_search_sync after insert or update of full_name, social_name "
        "on patient for each row execute function patient_search_sync()"
    )
    op.execute(
        """
        create function patient_name_matches(q text)
        returns table (patient_id uuid, score real)
        language sql stable security definer set search_path = public, pg_temp as $$
            select s.patient_id, word_similarity(f_unaccent(lower(q)), s.name_norm)
            from patient_search s
            where s.tenant_id = app_current_tenant()
              and s.name_norm %> f_unaccent(lower(q))
        $$
        """
    )
    op.execute("revoke all on function patient_name_matches(text) from public")
    op.execute(f"grant execute on function patient_name_matches(text) to {role}")
    op.execute("revoke all on function patient_search_sync() from public")
    # Backfill: the owner is subject to FORCEd RLS, so lift it for this one statement.
    op.execute("alter table patient no force row level security")
    op.execute(
        f"insert into patient_search (tenant_id, patient_id, name_norm) "
        f"select p.tenant_id, p.id, {NAME_NORM} from patient p"
    )
    op.execute("alter table patient force row level security")
    op.execute("create index ix_patient_tenant_id_birth_on on patient (tenant_id, birth_on)")


def downgrade() -> None:
    op.execute("drop index ix_patient_tenant_id_birth_on")
    op.execute("drop trigger patient_search_sync on patient")
    op.execute("drop function patient_name_matches(text)")
    op.execute("drop function patient_search_sync()")
    op.execute("drop table patient_search")
