"""Audit chain: lock the clinic's head row first, insert it only when it is missing.

Revision ID: 0020_audit_chain_lock_first
Revises: 0019_patient_search_terms
Create Date: 2026-11-24

`audit_event_chain()` of 0015_audit_chain_flush ran, at a clinic's first event in a
transaction, `INSERT ... ON CONFLICT DO NOTHING` on `audit_chain_head` and then
`SELECT ... FOR UPDATE`. The head row exists for every clinic after its first event, so
the insert only ever found the conflict, and while another transaction of the clinic
held the row (it does until its commit) the insert waited for that transaction to end,
then the select queued for the lock again: two waits and two wake-ups of every waiter
per hand-over of the lock. With many small audited transactions of one clinic (the
notification outbox marks each message sent in its own), the waiters woke each other up
for nothing. Now the select comes first; only a clinic without a head row yet inserts it
(a concurrent first insert of the same clinic waits for the other and finds its row).

Events, hashes, the flush at commit and `fisioflow audit verify` are unchanged.
"""

from __future__ import annotations

from alembic import op

revision = "0020_audit_chain_lock_first"
down_revision = "0019_patient_search_terms"
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

_HEAD = {
    "upgrade": """
        -- The clinic's first event in this transaction: lock its head until commit.
        select h.seq, h.hash into last_seq, last_hash
        from audit_chain_head h where h.tenant_id = new.tenant_id for update;
        if not found then
            genesis := audit_genesis(new.tenant_id);
            insert into audit_chain_head (tenant_id, seq, prev_hash, hash)
            values (new.tenant_id, 0, genesis, genesis)
            on conflict (tenant_id) do nothing;
            select h.seq, h.hash into last_seq, last_hash
            from audit_chain_head h where h.tenant_id = new.tenant_id for update;
        end if;
""",
    "downgrade": """
        -- The clinic's first event in this transaction: lock its head until commit.
        genesis := audit_genesis(new.tenant_id);
        insert into audit_chain_head (tenant_id, seq, prev_hash, hash)
        values (new.tenant_id, 0, genesis, genesis)
        on conflict (tenant_id) do nothing;
        select h.seq, h.hash into last_seq, last_hash
        from audit_chain_head h where h.tenant_id = new.tenant_id for update;
""",
}


def _chain(head: str) -> str:
    return f"""
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
{head}
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


def upgrade() -> None:
    op.execute(_chain(_HEAD["upgrade"]))


def downgrade() -> None:
    op.execute(_chain(_HEAD["downgrade"]))
