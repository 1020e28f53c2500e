"""Audit trail: every write of an audited table and every read of health data, in one
append-only, monthly partitioned, hash-chained table.

Revision ID: 0014_audit
Revises: 0013_engagement
Create Date: 2026-11-24

- Writes: `audit_row_change()`, an AFTER ROW trigger attached with
  `core.migration_helpers.attach_audit(table, secret_columns=...)`, inserts one
  `audit_event` per INSERT/UPDATE/DELETE in the same transaction: if that insert fails,
  the write fails. SECURITY DEFINER: the application role itself may only insert READ
  events (access events, audit/access.py), never forge a write event.
- Who: `audit_event_chain()` (BEFORE INSERT) fills actor, role, request id, IP and user
  agent from the transaction settings (core/database.py Tenancy), whatever the insert said.
- Chain: the same trigger takes the tenant's row in `audit_chain_head` (the row lock
  serializes one clinic's audited transactions until commit; clinics do not wait for each
  other) and stores seq, prev_hash and hash = sha256(prev_hash || audit_event_content(..)).
  The first prev_hash of a clinic is sha256('fisioflow-audit:' || tenant_id).
- Who reads events: the clinic's own (tenant policy); a patient only those about
  themself, never of `internal_note`; staff never an event whose diary row was private;
  receptionists none (they read no clinical row).
  An event is as secret as the row it copies.
- Append-only: the application role has SELECT and INSERT only; UPDATE, DELETE and
  TRUNCATE raise for everyone (the owner included) through triggers.
- Partitions: one per UTC month, created ahead by `audit_ensure_partitions(months)`
  (job `audit.create_partitions`, and this migration); a DEFAULT partition catches rows
  of a month nobody created, so an audited write never fails for want of a partition.

Trap: a BEFORE ROW trigger on a partition may not change the partition key, so
`occurred_at` comes from its column default (now()) and the chain trigger refuses others.
"""

from __future__ import annotations

from alembic import op

from fisioflow.core.migration_helpers import app_role, attach_audit, detach_audit

revision = "0014_audit"
down_revision = "0013_engagement"
branch_labels = None
depends_on = None

MONTHS_AHEAD = 3
STAFF_ROLES = "('admin', 'practitioner', 'receptionist')"

TABLE = """
create table audit_event (
    tenant_id uuid not null,
    seq bigint not null,
    id uuid not null,
    occurred_at timestamptz not null default now(),
    operation text not null,
    table_name text not null,
    record_id uuid,
    patient_id uuid,
    old_values jsonb,
    new_values jsonb,
    changed_fields text[],
    detail jsonb,
    actor_user_id uuid,
    actor_role text,
    actor text,
    request_id text,
    ip text,
    user_agent text,
    prev_hash bytea not null,
    hash bytea not null,
    constraint pk_audit_event primary key (tenant_id, seq, occurred_at),
    constraint ck_audit_event_operation
        check (operation in ('INSERT', 'UPDATE', 'DELETE', 'READ'))
) partition by range (occurred_at)
"""

CHAIN_HEAD = """
create table audit_chain_head (
    tenant_id uuid not null,
    seq bigint not null,
    prev_hash bytea not null,
    hash bytea not null,
    constraint pk_audit_chain_head primary key (tenant_id)
)
"""

UUIDV7 = """
create function app_uuidv7() returns uuid
language sql volatile parallel safe as $$
    select encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid()) placing
        substring(int8send((extract(epoch from clock_timestamp()) * 1000)::bigint) from 3)
        from 1 for 6), 52, 1), 53, 1), 'hex')::uuid
$$
"""

# The canonical content of an event: a JSON array (unambiguous field boundaries) of every
# column but seq, prev_hash and hash; time as integer microseconds (no time zone text).
CONTENT = """
create function audit_event_content(
    id uuid, tenant_id uuid, occurred_at timestamptz, operation text, table_name text,
    record_id uuid, patient_id uuid, old_values jsonb, new_values jsonb,
    changed_fields text[], detail jsonb, actor_user_id uuid, actor_role text, actor text,
    request_id text, ip text, user_agent text
) returns bytea
language sql stable parallel safe as $$
    select convert_to(jsonb_build_array(
        $1, $2, (extract(epoch from $3) * 1000000)::bigint, $4, $5, $6, $7, $8, $9, $10,
        $11, $12, $13, $14, $15, $16, $17)::text, 'UTF8')
$$
"""

GENESIS = """
create function audit_genesis(tenant uuid) returns bytea
language sql immutable parallel safe as $$
    select sha256(convert_to('fisioflow-audit:' || tenant::text, 'UTF8'))
$$
"""

CHAIN = """
create function audit_event_chain() returns trigger
language plpgsql security definer set search_path = public, pg_temp as $$
declare
    content bytea;
    genesis bytea;
begin
    if new.occurred_at is distinct from now() then
        raise exception 'audit_event.occurred_at is set by the database'
            using errcode = 'check_violation', constraint = 'ck_audit_event_occurred_at';
    end if;
    new.id := app_uuidv7();
    new.actor_user_id := app_current_user();
    new.actor_role := nullif(app_current_role(), '');
    new.actor := nullif(current_setting('app.actor', true), '');
    new.request_id := nullif(current_setting('app.request_id', true), '');
    new.ip := nullif(current_setting('app.ip', true), '');
    new.user_agent := nullif(current_setting('app.user_agent', true), '');
    content := audit_event_content(
        new.id, new.tenant_id, new.occurred_at, new.operation, new.table_name,
        new.record_id, new.patient_id, new.old_values, new.new_values, new.changed_fields,
        new.detail, new.actor_user_id, new.actor_role, new.actor, new.request_id, new.ip,
        new.user_agent);
    genesis := audit_genesis(new.tenant_id);
    insert into audit_chain_head as h (tenant_id, seq, prev_hash, hash)
    values (new.tenant_id, 1, genesis, sha256(genesis || content))
    on conflict (tenant_id) do update
        set seq = h.seq + 1, prev_hash = h.hash, hash = sha256(h.hash || content)
    returning h.seq, h.prev_hash, h.hash into new.seq, new.prev_hash, new.hash;
    return new;
end $$
"""

ROW_CHANGE = """
create function audit_row_change() returns trigger
language plpgsql security definer set search_path = public, pg_temp as $$
declare
    -- tg_argv: tenant column, patient column ('' for none), secret columns...
    secrets text[] := coalesce(tg_argv[2:], '{}');
    old_doc jsonb;
    new_doc jsonb;
    doc jsonb;
    changed text[];
begin
    if tg_op <> 'INSERT' then
        old_doc := to_jsonb(old);
    end if;
    if tg_op <> 'DELETE' then
        new_doc := to_jsonb(new);
    end if;
    if tg_op = 'UPDATE' then
        select coalesce(array_agg(n.key order by n.key), '{}') into changed
        from jsonb_each(new_doc) n
        where n.value is distinct from old_doc -> n.key;
    end if;
    doc := coalesce(new_doc, old_doc);
    insert into audit_event (tenant_id, operation, table_name, record_id, patient_id,
                             old_values, new_values, changed_fields)
    values ((doc ->> tg_argv[0])::uuid, tg_op, tg_table_name, (doc ->> 'id')::uuid,
            (doc ->> nullif(tg_argv[1], ''))::uuid, old_doc - secrets, new_doc - secrets,
            changed);
    return null;
end $$
"""

APPEND_ONLY = """
create function audit_event_append_only() returns trigger
language plpgsql as $$
begin
    raise exception 'audit events are append-only: % refused', tg_op
        using errcode = 'insufficient_privilege';
end $$
"""

HEAD_OF = """
create function audit_chain_head_of() returns table (seq bigint, hash bytea)
language sql stable security definer set search_path = public, pg_temp as $$
    select h.seq, h.hash from audit_chain_head h where h.tenant_id = app_current_tenant()
$$
"""


def _ensure_partitions(role: str) -> str:
    return f"""
create function audit_ensure_partitions(months_ahead integer) returns integer
language plpgsql security definer set search_path = public, pg_temp as $$
declare
    first_month timestamptz := date_trunc('month', now() at time zone 'UTC') at time zone 'UTC';
    low timestamptz;
    name text;
    created integer := 0;
begin
    perform pg_advisory_xact_lock(hashtext('audit_ensure_partitions'));
    for i in 0 .. greatest(months_ahead, 0) loop
        low := first_month + make_interval(months => i);
        name := 'audit_event_' || to_char(low at time zone 'UTC', 'YYYY_MM');
        continue when to_regclass(name) is not null;
        -- rows already caught by the default partition keep that month there
        continue when exists (select 1 from audit_event_default
                              where occurred_at >= low
                                and occurred_at < low + interval '1 month');
        execute format('create table %I partition of audit_event for values from (%L) to (%L)',
                       name, low, low + interval '1 month');
        perform audit_seal_partition(name);
        created := created + 1;
    end loop;
    return created;
end $$;

create function audit_seal_partition(name text) returns void
language plpgsql security definer set search_path = public, pg_temp as $$
begin
    -- Default privileges would give the application role UPDATE/DELETE on a partition;
    -- the parent's statement-level trigger does not fire for a partition named directly.
    execute format('revoke all on %I from public, {role}', name);
    execute format('create trigger audit_event_append_only_statement'
                   ' before update or delete or truncate on %I'
                   ' for each statement execute function audit_event_append_only()', name);
end $$;
"""


def upgrade() -> None:
    role = app_role()
    for sql in (UUIDV7, CONTENT, GENESIS, TABLE, CHAIN_HEAD, APPEND_ONLY, CHAIN, ROW_CHANGE):
        op.execute(sql)
    op.execute("create index ix_audit_event_tenant_id_id on audit_event (tenant_id, id)")
    op.execute(
        "create index ix_audit_event_tenant_id_patient_id_id on audit_event "
        "(tenant_id, patient_id, id) where patient_id is not null"
    )
    op.execute(
        "create trigger audit_event_chain before insert on audit_event "
        "for each row execute function audit_event_chain()"
    )
    op.execute(
        "create trigger audit_event_append_only before update or delete on audit_event "
        "for each row execute function audit_event_append_only()"
    )
    # Statement level too: an UPDATE that RLS lets see no row still raises.
    op.execute(
        "create trigger audit_event_append_only_statement"
        " before update or delete or truncate on audit_event"
        " for each statement execute function audit_event_append_only()"
    )
    _grants(role)
    _policies(role)
    op.execute(_ensure_partitions(role))
    op.execute("create table audit_event_default partition of audit_event default")
    op.execute("select audit_seal_partition('audit_event_default')")
    op.execute(f"select audit_ensure_partitions({MONTHS_AHEAD})")
    op.execute(HEAD_OF)
    for fn in ("audit_ensure_partitions(integer)", "audit_chain_head_of()"):
        op.execute(f"revoke all on function {fn} from public")
        op.execute(f"grant execute on function {fn} to {role}")
    op.execute("revoke all on function audit_seal_partition(text) from public")
    _attach()


def _grants(role: str) -> None:
    op.execute(f"revoke all on audit_event from public, {role}")
    op.execute(f"grant select, insert on audit_event to {role}")
    op.execute(f"revoke all on audit_chain_head from public, {role}")
    for fn in ("audit_row_change()", "audit_event_chain()"):
        op.execute(f"revoke all on function {fn} from public")


def _policies(role: str) -> None:
    op.execute("alter table audit_event enable row level security")
    op.execute("alter table audit_event force row level security")
    op.execute(
        "create policy tenant_isolation on audit_event for select "
        "using (tenant_id = app_current_tenant())"
    )
    # A patient reads only the events about themself (their access log), and never those
    # of internal notes (staff-only, engagement migration): their values are the notes.
    op.execute(
        "create policy patient_self on audit_event as restrictive for select "
        "using (app_current_role() <> 'patient' "
        "or (patient_id = app_current_patient() and table_name <> 'internal_note'))"
    )
    # Receptionists read no clinical row (records, engagement), so no event either; the
    # audit API is for admins, the access log for admins and practitioners.
    op.execute(
        "create policy no_receptionist on audit_event as restrictive for select "
        "using (app_current_role() <> 'receptionist')"
    )
    # Staff never see a private diary entry (engagement migration), so neither its values
    # here: an event whose old or new row was private is the patient's (and the system's).
    op.execute(
        "create policy private_diary on audit_event as restrictive for select "
        f"using (table_name <> 'diary_entry' or app_current_role() not in {STAFF_ROLES} "
        "or not (coalesce((old_values ->> 'private')::boolean, false) "
        "or coalesce((new_values ->> 'private')::boolean, false)))"
    )
    # The application writes access events of its own clinic only ...
    op.execute(
        f"create policy access_events on audit_event for insert to {role} "
        "with check (tenant_id = app_current_tenant() and operation = 'READ')"
    )
    # ... and write events come from audit_row_change(), which runs as the owner.
    op.execute(
        "create policy row_changes on audit_event for insert to current_user with check (true)"
    )


AUDITED = {
    "clinic": {"tenant_column": "id", "patient_column": None},
    "user_account": {"secret_columns": ("password_hash",)},
    "refresh_token": {"secret_columns": ("token_hash",), "patient_column": None},
    "one_time_token": {"secret_columns": ("token_hash",), "patient_column": None},
    "practitioner": {"patient_column": None},
    "patient": {"patient_column": "id"},
    "record_entry": {},
    "room": {"patient_column": None},
    "time_off": {"patient_column": None},
    "appointment_series": {},
    "appointment": {},
    "diary_entry": {},
    "mood_entry": {},
    "patient_message": {},
    "internal_note": {},
    "sos_event": {},
}


def _attach() -> None:
    for table, options in AUDITED.items():
        attach_audit(table, **options)  # type: ignore[arg-type]


def downgrade() -> None:
    for table in AUDITED:
        detach_audit(table)
    op.execute("drop table audit_event")
    op.execute("drop table audit_chain_head")
    for fn in (
        "audit_chain_head_of()",
        "audit_ensure_partitions(integer)",
        "audit_seal_partition(text)",
        "audit_row_change()",
        "audit_event_chain()",
        "audit_event_append_only()",
        "audit_genesis(uuid)",
        "audit_event_content(uuid, uuid, timestamptz, text, text, uuid, uuid, jsonb, jsonb, "
        "text[], jsonb, uuid, text, text, text, text, text)",
        "app_uuidv7()",
    ):
        op.execute(f"drop function {fn}")
