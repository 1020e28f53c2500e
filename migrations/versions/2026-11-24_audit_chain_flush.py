"""Audit chain: one head-row write per clinic and transaction, not one per event.

Revision ID: 0015_audit_chain_flush
Revises: 0014_audit
Create Date: 2026-11-24

The chain trigger of 0014_audit updated the clinic's `audit_chain_head` row for every
event. Every update of one row inside one transaction adds a version that the next
lookup walks, so a transaction writing N audited rows cost O(N²): 2,000 events took
0.1 s, 32,000 took 7.5 s, a clinic import of a few hundred thousand rows would take
hours. Now:

- `audit_event_chain()` (BEFORE INSERT) locks the head row once, at the clinic's first
  event in the transaction (`SELECT ... FOR UPDATE`: one clinic's audited transactions
  still serialize until commit), and keeps the running seq and hash in the transaction
  setting `audit.chain` (jsonb by clinic id). A rolled-back savepoint reverts the setting
  together with its events.
- `audit_chain_head_flush()`, a DEFERRABLE INITIALLY DEFERRED constraint trigger, writes
  the head row at commit (once per clinic: the other events of the transaction find it
  flushed). `SET CONSTRAINTS ALL IMMEDIATE` only flushes earlier; later events flush again.

Events, hashes and `fisioflow audit verify` are unchanged.
"""

from __future__ import annotations

from alembic import op

revision = "0015_audit_chain_flush"
down_revision = "0014_audit"
branch_labels = None
depends_on = None

_WHO = """
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
"""

CHAIN = f"""
create or replace function audit_event_chain() returns trigger
language plpgsql security definer set search_path = public, pg_temp as $$
declare
    content bytea;
    genesis bytea;
    chain jsonb := coalesce(nullif(current_setting('audit.chain', true), ''), '{{}}')::jsonb;
    link jsonb := chain -> new.tenant_id::text;
    last_seq bigint;
    last_hash bytea;
begin
{_WHO}
    if link is null then
        -- The clinic's first event in this transaction: lock its head until commit.
        genesis := audit_genesis(new.tenant_id);
        insert into audit_chain_head (tenant_id, seq, prev_hash, hash)
        values (new.tenant_id, 0, genesis, genesis)
        on conflict (tenant_id) do nothing;
        select h.seq, h.hash into last_seq, last_hash
        from audit_chain_head h where h.tenant_id = new.tenant_id for update;
    else
        last_seq := (link ->> 'seq')::bigint;
        last_hash := decode(link ->> 'hash', 'hex');
    end if;
    new.seq := last_seq + 1;
    new.prev_hash := last_hash;
    new.hash := sha256(last_hash || content);
    perform set_config('audit.chain', jsonb_set(chain, array[new.tenant_id::text],
        jsonb_build_object('seq', new.seq, 'prev', encode(new.prev_hash, 'hex'),
                           'hash', encode(new.hash, 'hex')))::text, true);
    return new;
end $$
"""

FLUSH = """
create function audit_chain_head_flush() returns trigger
language plpgsql security definer set search_path = public, pg_temp as $$
declare
    chain jsonb := nullif(current_setting('audit.chain', true), '')::jsonb;
    link jsonb := chain -> new.tenant_id::text;
begin
    if link is null or link ? 'flushed' then
        return null;
    end if;
    update audit_chain_head
    set seq = (link ->> 'seq')::bigint, prev_hash = decode(link ->> 'prev', 'hex'),
        hash = decode(link ->> 'hash', 'hex')
    where tenant_id = new.tenant_id;
    perform set_config('audit.chain', jsonb_set(chain, array[new.tenant_id::text],
        link || '{"flushed": true}')::text, true);
    return null;
end $$
"""

OLD_CHAIN = f"""
create or replace function audit_event_chain() returns trigger
language plpgsql security definer set search_path = public, pg_temp as $$
declare
    content bytea;
    genesis bytea;
begin
{_WHO}
    genesis := audit_genesis(new.tenant_id);
    insert into audit_chain_head as h (tenant_id, seq, prev_hash, hash)
    values (new.tenant_id, 1, genesis, sha256(genesis || content))
    on conflict (tenant_id) do update
        set seq = h.seq + 1, prev_hash = h.hash, hash = sha256(h.hash || content)
    returning h.seq, h.prev_hash, h.hash into new.seq, new.prev_hash, new.hash;
    return new;
end $$
"""


def upgrade() -> None:
    op.execute(CHAIN)
    op.execute(FLUSH)
    op.execute("revoke all on function audit_chain_head_flush() from public")
    op.execute(
        "create constraint trigger audit_chain_head_flush after insert on audit_event"
        " deferrable initially deferred"
        " for each row execute function audit_chain_head_flush()"
    )


def downgrade() -> None:
    op.execute("drop trigger audit_chain_head_flush on audit_event")
    op.execute("drop function audit_chain_head_flush()")
    op.execute(OLD_CHAIN)
