"""Patient name search with several words: candidates from whole-word terms, not from
trigram similarity of every row.

Revision ID: 0019_patient_search_terms
Revises: 0018_notifications
Create Date: 2026-11-24

Measured on the benchmark clinic (100,000 patients): "Maria Mat" matched 16,582 rows
under the 0008 rule (each word's trigram word similarity >= 0.5: "mat" shares "  m" and
" ma" with every "ma..." name), each rechecked and scored with word_similarity (~15 us a
row): 0.7 s. The tail of the search benchmark was made of such queries (two common
words, a short prefix, a first name typed twice).

Now a query word stands for the words of the clinic's names (`patient_search_word`, the
clinic's vocabulary) that it is, that it starts (last word only for ranking, see below)
or that are one edit away (fuzzystrmatch's levenshtein; words of 3+ letters, never a
connector such as "da"). Each patient's `terms` hold its words, repeats ("ana#2" for a
second "ana") and pairs of neighbouring words ("maria silva", connectors skipped); a
GIN index on them finds the rows exactly (no recheck), in three stages, each one query
with its own, more selective, index condition; a later stage runs only when the page
is not full yet:

1. the words as typed, next to each other in the name (the last may be a prefix);
2. every word whole (the last may be a prefix), anywhere;
3. the rest: typos and prefixes; the typed words next to each other first, then the
   ones with more words typed whole.

Within a stage, shorter names first (the query covers more of them), then id: a total
order, so pages cut with offset stay consistent. Only the page's rows get the trigram
score the API returns. Vocabulary words are never deleted (a renamed patient's old
words stay): they can only widen an expansion, never add a result.

A word that is none of those for any name (two typos) falls back to the 0008 query.
One-word queries keep the 0008 GiST KNN walk. Expansions are bound parameters (slices
of one array), so nothing the user types becomes SQL.
"""

from __future__ import annotations

from alembic import op

from fisioflow.core.migration_helpers import app_role

revision = "0019_patient_search_terms"
down_revision = "0018_notifications"
branch_labels = None
depends_on = None

MAX_WORDS = 6
SIGNATURE = "patient_name_search(text, text, uuid, boolean, integer, integer)"
CONNECTORS = "'da', 'das', 'de', 'do', 'dos', 'e', 'di', 'du', 'del', 'van', 'von'"
# Upper bound of "starts with" ranges in the C-collated vocabulary.
TOP = "chr(1114111)"
TERMS = f"""
create function patient_name_terms(name text) returns text[]
language sql immutable parallel safe set search_path = public, pg_temp as $$
    with token as (
        select w, n, row_number() over (partition by w order by n) as k
        from regexp_split_to_table(name, '[^[:alnum:]]+') with ordinality as t(w, n)
        where w <> ''
    ), named as (
        select w, row_number() over (order by n) as m from token
        where w not in ({CONNECTORS})
    )
    select coalesce(array_agg(distinct term order by term), '{{}}') from (
        select w || case when k > 1 then '#' || k else '' end as term from token
        union all
        select a.w || ' ' || b.w from named a join named b on b.m = a.m + 1
    ) terms
$$
"""

SYNC = """
create or replace function patient_search_sync() returns trigger
language plpgsql security definer set search_path = public, pg_temp as $$
declare
    norm text := f_unaccent(lower(new.full_name || coalesce(' ' || new.social_name, '')));
    name_terms text[] := patient_name_terms(norm);
begin
    insert into patient_search as s
        (tenant_id, patient_id, name_norm, terms, status, practitioner_id, archived)
    values (new.tenant_id, new.id, norm, name_terms,
            new.status, new.practitioner_id, new.archived_at is not null)
    on conflict (tenant_id, patient_id) do update set
        name_norm = excluded.name_norm, terms = excluded.terms, status = excluded.status,
        practitioner_id = excluded.practitioner_id, archived = excluded.archived;
    -- Sorted, so two transactions adding the same new words cannot deadlock.
    insert into patient_search_word (tenant_id, word)
    select new.tenant_id, t from unnest(name_terms) t
    where t !~ '[ #]' order by t
    on conflict do nothing;
    return null;
end $$
"""

# The 0008 multi-word query: trigram word similarity of each word, every match scored.
TRIGRAM_QUERY = """
'select s.patient_id, (1 - (s.name_norm <->> $1))::real'
' from patient_search s where s.tenant_id = $3' || conditions ||
' and ($4::text is null or s.status = $4)'
' and ($5::uuid is null or s.practitioner_id = $5)'
' and ($6 or not s.archived)'
' order by (s.name_norm <->> $1) + 0, s.patient_id limit $7 offset $8'
"""

# The rows of one stage in rank order: in the last stage, the typed words next to each
# other (typos allowed), then more words typed whole; then shorter names. Only the
# page's rows get the trigram score.
STAGE_QUERY = """
'select p.patient_id, (1 - (p.name_norm <->> $1))::real from ('
' select s.patient_id, s.name_norm, ' || adjacent_alike || ' as near, ' || hits || ' as hits'
' from patient_search s where ' || base || condition ||
' order by near desc, hits desc, length(s.name_norm), s.patient_id limit $7 offset $8'
') p order by p.near desc, p.hits desc, length(p.name_norm), p.patient_id'
"""

# The vocabulary words a query word stands for (`alike`), and those it is whole (or
# starts, when `prefix`): the ranking's "whole". One edit at position p of a word of
# length L keeps its first L/2 letters (p >= L/2) or its last L - L/2 (p < L/2): two
# index ranges find the few words levenshtein has to check.
ALIKE = f"""
create function patient_name_alike(tenant uuid, w text, prefix boolean,
                                   out alike text[], out whole text[])
language sql stable set search_path = public, pg_temp as $$
    select coalesce(array_agg(v.word), '{{}}'),
           coalesce(array_agg(v.word) filter (
               where v.word = w or (prefix and starts_with(v.word, w))
           ), '{{}}')
      from patient_search_word v
     where v.tenant_id = tenant
       and ((v.word >= w and v.word < w || {TOP})
            or (length(w) > 2 and v.word not in ({CONNECTORS})
                and ((v.word >= left(w, length(w) / 2)
                      and v.word < left(w, length(w) / 2) || {TOP})
                     or (reverse(v.word) >= left(reverse(w), length(w) - length(w) / 2)
                         and reverse(v.word)
                             < left(reverse(w), length(w) - length(w) / 2) || {TOP}))
                and levenshtein_less_equal(left(w, 255), left(v.word, 255), 1) <= 1))
$$
"""

# $9 holds every term array the conditions test, each condition one slice of it.
SEARCH = f"""
create or replace function patient_name_search(
    q text, only_status text, only_practitioner uuid, with_archived boolean,
    lim integer, skip integer
)
returns table (patient_id uuid, score real)
language plpgsql stable security definer set search_path = public, pg_temp as $$
declare
    tenant uuid := app_current_tenant();
    query text := f_unaccent(lower(q));
    words text[] := array(
        select w from regexp_split_to_table(query, '[^[:alnum:]]+') w where w <> ''
    );
    n integer := least(cardinality(words), {MAX_WORDS});
    w text;
    occurrence integer;
    alike text[];
    whole_terms text[];
    previous text[];
    previous_alike text[];
    named integer := 0;
    complete boolean := true;
    bound text[] := '{{}}';
    start integer;
    matches text := '';
    whole text := 'true';
    adjacent text := 'true';
    adjacent_alike text := 'true';
    hits text := '0';
    conditions text := '';
    base text;
    stages text[];
    condition text;
    earlier text := 'false';
    found bigint;
    bitmapscan text := current_setting('enable_bitmapscan');
begin
    if tenant is null or n = 0 then
        return;
    end if;
    if n = 1 then
        -- Trap: pg_trgm estimates ~10 rows for any word, so the planner prefers a
        -- bitmap scan + sort of every match over the KNN walk (30x slower for a
        -- common surname). Transaction-local, and restored below.
        perform set_config('enable_bitmapscan', 'off', true);
        return query execute
            'select s.patient_id, (1 - (s.name_norm <->> $1))::real'
            ' from patient_search s where s.tenant_id = $3 and s.name_norm %> $2[1]'
            ' and ($4::text is null or s.status = $4)'
            ' and ($5::uuid is null or s.practitioner_id = $5)'
            ' and ($6 or not s.archived)'
            ' order by s.name_norm <->> $1 limit $7 offset $8'
            using query, words, tenant, only_status, only_practitioner, with_archived,
                  lim, skip;
        perform set_config('enable_bitmapscan', bitmapscan, true);
        return;
    end if;
    for i in 1 .. n loop
        w := words[i];
        occurrence := cardinality(array_positions(words[1:i], w));
        select a.alike, a.whole into alike, whole_terms
          from patient_name_alike(tenant, w, i = n) a;
        if cardinality(alike) = 0 then
            for j in 1 .. n loop
                conditions := conditions || format(' and lower(s.name_norm) %%> $2[%s]', j);
            end loop;
            return query execute {TRIGRAM_QUERY}
                using query, words, tenant, only_status, only_practitioner, with_archived,
                      lim, skip;
            return;
        end if;
        complete := complete and cardinality(whole_terms) > 0;
        if w not in ({CONNECTORS}) then
            if named > 0 then
                start := cardinality(bound) + 1;
                bound := bound || patient_name_pairs(previous, whole_terms);
                adjacent := adjacent
                    || format(' and s.terms && $9[%s:%s]', start, cardinality(bound));
                start := cardinality(bound) + 1;
                bound := bound || patient_name_pairs(previous_alike, alike);
                adjacent_alike := adjacent_alike
                    || format(' and s.terms && $9[%s:%s]', start, cardinality(bound));
            end if;
            previous := whole_terms;
            previous_alike := alike;
            named := named + 1;
        end if;
        if occurrence > 1 then
            alike := array(select t || '#' || occurrence from unnest(alike) t);
            whole_terms := array(select t || '#' || occurrence from unnest(whole_terms) t);
        end if;
        start := cardinality(bound) + 1;
        bound := bound || alike;
        matches := matches
            || format(' and s.terms && $9[%s:%s]', start, cardinality(bound));
        start := cardinality(bound) + 1;
        bound := bound || whole_terms;
        whole := whole || format(' and s.terms && $9[%s:%s]', start, cardinality(bound));
        hits := hits || format(' + (s.terms && $9[%s:%s])::int', start, cardinality(bound));
    end loop;
    if named < 2 then
        adjacent := 'false';
        adjacent_alike := 'false';
    end if;
    if not complete then
        whole := 'false';
        adjacent := 'false';
    end if;
    -- One query per stage, each with its own index condition: the adjacent words first
    -- (their pairs are selective and fill most first pages), then whole words, then the
    -- rest (broad: one name word may stand for two query words) only when still short.
    base := 's.tenant_id = $3' || matches ||
        ' and ($4::text is null or s.status = $4)'
        ' and ($5::uuid is null or s.practitioner_id = $5)'
        ' and ($6 or not s.archived)';
    stages := array[adjacent, whole, 'true'];
    for stage in 1 .. 3 loop
        continue when stages[stage] = 'false';
        condition := ' and (' || stages[stage] || ') and not (' || earlier || ')';
        earlier := earlier || ' or (' || stages[stage] || ')';
        if skip > 0 then
            execute 'select count(*) from patient_search s where ' || base || condition
                into found
                using query, words, tenant, only_status, only_practitioner, with_archived,
                      lim, skip, bound;
            if found <= skip then
                skip := skip - found;
                continue;
            end if;
        end if;
        return query execute {STAGE_QUERY}
            using query, words, tenant, only_status, only_practitioner, with_archived,
                  lim, skip, bound;
        get diagnostics found = row_count;
        lim := lim - found;
        skip := 0;
        exit when lim <= 0;
    end loop;
end $$
"""

PAIRS = """
create function patient_name_pairs(a text[], b text[]) returns text[]
language sql immutable parallel safe set search_path = public, pg_temp as $$
    select coalesce(array_agg(x || ' ' || y), '{}') from unnest(a) x, unnest(b) y
$$
"""


def upgrade() -> None:
    op.execute("create extension if not exists fuzzystrmatch")
    op.execute(
        """
        create table patient_search_word (
            tenant_id uuid not null,
            word text collate "C" not null,
            constraint pk_patient_search_word primary key (tenant_id, word),
            constraint fk_patient_search_word_tenant_id_clinic
                foreign key (tenant_id) references clinic (id) on delete cascade
        )
        """
    )
    op.execute(f"revoke all on patient_search_word from {app_role()}")
    op.execute(
        "create index ix_patient_search_word_reversed on patient_search_word "
        "(tenant_id, reverse(word))"
    )
    op.execute(TERMS)
    op.execute(PAIRS)
    op.execute(ALIKE)
    op.execute("revoke all on function patient_name_alike(uuid, text, boolean) from public")
    op.execute("revoke all on function patient_name_terms(text) from public")
    op.execute("revoke all on function patient_name_pairs(text[], text[]) from public")
    op.execute("alter table patient_search add column terms text[] not null default '{}'")
    op.execute("update patient_search set terms = patient_name_terms(name_norm)")
    op.execute(
        "insert into patient_search_word (tenant_id, word) "
        "select distinct tenant_id, t from patient_search, unnest(terms) t where t !~ '[ #]'"
    )
    op.execute(
        "create index ix_patient_search_terms on patient_search using gin (tenant_id, terms)"
    )
    op.execute(SYNC)
    op.execute(SEARCH)
    op.execute(f"revoke all on function {SIGNATURE} from public")
    op.execute(f"grant execute on function {SIGNATURE} to {app_role()}")
    op.execute("analyze patient_search")
    op.execute("analyze patient_search_word")


def downgrade() -> None:
    raise NotImplementedError("0019 is forward-only: restore from a backup taken before it")
