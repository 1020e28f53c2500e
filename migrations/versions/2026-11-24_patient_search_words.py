"""Patient name search: every word of the query must match (typo-tolerant, each word on
its own), so "Maria Silva" no longer ranks every Maria and every Silva of the clinic.

Revision ID: 0007_patient_search_words
Revises: 0006_patient_search
Create Date: 2026-11-24

The per-word conditions are built with format() from the word *count* only; the words
themselves are bound parameters, so nothing the user types becomes SQL.
"""

from __future__ import annotations

from alembic import op

revision = "0007_patient_search_words"
down_revision = "0006_patient_search"
branch_labels = None
depends_on = None

MAX_WORDS = 6


def upgrade() -> None:
    op.execute(
        f"""
        create or replace function patient_name_matches(q text)
        returns table (patient_id uuid, score real)
        language plpgsql stable security definer set search_path = public, pg_temp as $$
        declare
            tenant uuid := app_current_tenant();
            query text := f_unaccent(lower(q));
            words text[] := array(
                select w from regexp_split_to_table(query, '\\s+') w where w <> ''
            );
            conditions text := '';
        begin
            if tenant is null or cardinality(words) = 0 then
                return;
            end if;
            for i in 1 .. least(cardinality(words), {MAX_WORDS}) loop
                conditions := conditions || format(' and s.name_norm %%> $2[%s]', i);
            end loop;
            return query execute
                'select s.patient_id, word_similarity($1, s.name_norm) from patient_search s'
                ' where s.tenant_id = $3' || conditions
                using query, words, tenant;
        end $$
        """
    )


def downgrade() -> None:
    op.execute(
        """
        create or replace function patient_name_matches(q text)
        returns table (patient_id uuid, score real)
        language sql stable security definer set search_path = public, pg_temp as $$
            select s.patient_id, word_similarity(f_unaccent(lower(q)), s.name_norm)
            from patient_search s
            where s.tenant_id = app_current_tenant()
              and s.name_norm %> f_unaccent(lower(q))
        $$
        """
    )
