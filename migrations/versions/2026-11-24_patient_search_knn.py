"""Patient name search returns the best matches straight from an index instead of
scoring every match.

Revision ID: 0008_patient_search_knn
Revises: 0007_patient_search_words
Create Date: 2026-11-24

- One word ("Fernandes"): a GiST index walked in trigram word-distance order (KNN), so a
  surname shared by thousands costs a few index pages.
- Several words: the AND of per-word matches is selective; a GIN index filters, the
  few survivors are sorted ("+ 0" keeps the planner off a KNN walk over the clinic).
- The list filters (status, practitioner, archived) are copied into patient_search by
  the trigger: joining `patient` here would put its RLS quals in the same query, and
  PostgreSQL then refuses the trigram conditions as index conditions (see 0006).

Still SECURITY DEFINER and filtered by app_current_tenant(). Pages are cut with
limit/offset (the API cursor carries the offset).
"""

from __future__ import annotations

from alembic import op

from fisioflow.core.migration_helpers import app_role

revision = "0008_patient_search_knn"
down_revision = "0007_patient_search_words"
branch_labels = None
depends_on = None

MAX_WORDS = 6
SIGNATURE = "patient_name_search(text, text, uuid, boolean, integer, integer)"


def upgrade() -> None:
    op.execute(
        "alter table patient_search add column status text not null default 'active', "
        "add column practitioner_id uuid, add column archived boolean not null default false"
    )
    op.execute(
        """
        create or replace function patient_search_sync() returns trigger
        language plpgsql security definer set search_path = public, pg_temp as $$
        begin
            insert into patient_search as s
                (tenant_id, patient_id, name_norm, status, practitioner_id, archived)
            values (new.tenant_id, new.id,
                    f_unaccent(lower(new.full_name || coalesce(' ' || new.social_name, ''))),
                    new.status, new.practitioner_id, new.archived_at is not null)
            on conflict (tenant_id, patient_id) do update set
                name_norm = excluded.name_norm, status = excluded.status,
                practitioner_id = excluded.practitioner_id, archived = excluded.archived;
            return null;
        end $$
        """
    )
    op.execute("drop trigger patient_search_sync on patient")
    op.execute(
        "create trigger patient_search_sync after insert or update of full_name, social_name,"
        " status, practitioner_id, archived_at on patient"
        " for each row execute function patient_search_sync()"
    )
    op.execute("alter table patient no force row level security")
    op.execute(
        "update patient_search s set status = p.status, practitioner_id = p.practitioner_id,"
        " archived = p.archived_at is not null from patient p"
        " where p.tenant_id = s.tenant_id and p.id = s.patient_id"
    )
    op.execute("alter table patient force row level security")
    op.execute(
        "create index ix_patient_search_name_knn on patient_search "
        "using gist (tenant_id, name_norm gist_trgm_ops)"
    )
    # Trap: with both indexes on name_norm the planner filters multi-word queries with the
    # GiST one (16x slower than GIN). The GIN index moves to lower(name_norm), an equal
    # value (names are stored lower-cased), which only the multi-word conditions use.
    op.execute("drop index ix_patient_search_name")
    op.execute(
        "create index ix_patient_search_name_words on patient_search "
        "using gin (tenant_id, lower(name_norm) gin_trgm_ops)"
    )
    op.execute("drop function patient_name_matches(text)")
    op.execute(
        f"""
        create function patient_name_search(
            q text, only_status text, only_practitioner uuid, with_archived boolean,
            lim integer, skip integer
        )
        returns table (patient_id uuid, score real)
        language plpgsql stable security definer set search_path = public, pg_temp as $$
        declare
            tenant uuid := app_current_tenant();
            query text := f_unaccent(lower(q));
            words text[] := array(
                select w from regexp_split_to_table(query, '\\s+') w where w <> ''
            );
            conditions text := '';
            ordering text := 's.name_norm <->> $1';
            bitmapscan text := current_setting('enable_bitmapscan');
        begin
            if tenant is null or cardinality(words) = 0 then
                return;
            end if;
            for i in 1 .. least(cardinality(words), {MAX_WORDS}) loop
                conditions := conditions || format(' and lower(s.name_norm) %%> $2[%s]', i);
            end loop;
            if cardinality(words) = 1 then
                conditions := ' and s.name_norm %> $2[1]';
                -- Trap: pg_trgm estimates ~10 rows for any word, so the planner prefers a
                -- bitmap scan + sort of every match over the KNN walk (30x slower for a
                -- common surname). Transaction-local, and restored below.
                perform set_config('enable_bitmapscan', 'off', true);
            else
                ordering := '(s.name_norm <->> $1) + 0, s.patient_id';
            end if;
            return query execute
                'select s.patient_id, (1 - (s.name_norm <->> $1))::real'
                ' from patient_search s where s.tenant_id = $3' || conditions ||
                ' and ($4::text is null or s.status = $4)'
                ' and ($5::uuid is null or s.practitioner_id = $5)'
                ' and ($6 or not s.archived)'
                ' order by ' || ordering || ' limit $7 offset $8'
                using query, words, tenant, only_status, only_practitioner, with_archived,
                      lim, skip;
            perform set_config('enable_bitmapscan', bitmapscan, true);
        end $$
        """
    )
    op.execute(f"revoke all on function {SIGNATURE} from public")
    op.execute(f"grant execute on function {SIGNATURE} to {app_role()}")


def downgrade() -> None:
    raise NotImplementedError("0008 is forward-only: restore from a backup taken before it")
