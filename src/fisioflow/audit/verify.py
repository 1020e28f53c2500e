"""`fisioflow audit verify`: walk each clinic's hash chain and report the first break.

The walk runs in PostgreSQL (one streaming window query over the (tenant_id, seq) index):
each event's hash is recomputed from its content and its stored prev_hash, and that
prev_hash must be the hash of the event before it, with no gap or repeat in seq; the
last event must be the clinic's chain head. Only the first broken event is then
classified, with a few lookups:

- changed: the event's content no longer gives its hash;
- deleted: a gap in seq, a prev_hash that no event has, or events missing at the end;
- inserted: a repeated seq, or an event whose prev_hash skips exactly the one before it;
- reordered: a prev_hash that belongs to another event of the chain.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncSession

_FIRST_BREAK = text(
    """
    with walk as (
        select seq, id, prev_hash, hash,
               sha256(prev_hash || audit_event_content(id, tenant_id, occurred_at,
                   operation, table_name, record_id, patient_id, old_values, new_values,
                   changed_fields, detail, actor_user_id, actor_role, actor, request_id,
                   ip, user_agent)) as computed,
               lag(seq) over w as prev_seq,
               lag(hash) over w as prev_row_hash,
               lag(hash, 2) over w as prev_prev_hash
        from audit_event where tenant_id = app_current_tenant()
        window w as (order by seq)
    )
    select seq, id, prev_hash, computed = hash as content_ok, prev_seq, prev_prev_hash
    from walk
    where computed <> hash
       or seq <> coalesce(prev_seq, 0) + 1
       or prev_hash <> coalesce(prev_row_hash, audit_genesis(app_current_tenant()))
    order by seq
    limit 1
    """
)
_TAIL = text(
    "select (select count(*) from audit_event where tenant_id = app_current_tenant())"
    " as events,"
    " e.seq, e.hash from audit_event e where e.tenant_id = app_current_tenant()"
    " order by e.seq desc limit 1"
)
_HEAD = text("select seq, hash from audit_chain_head_of()")
_HASH_AT = text(
    "select seq from audit_event where tenant_id = app_current_tenant() and hash = :hash"
    " and seq <> :seq limit 1"
)


@dataclass(frozen=True)
class Break:
    position: int  # seq of the first event that does not verify (or the first missing)
    kind: str  # changed, deleted, inserted, reordered
    event_id: uuid.UUID | None
    detail: str


@dataclass(frozen=True)
class ChainReport:
    events: int
    broken: Break | None


async def verify_chain(session: AsyncSession) -> ChainReport:
    """The chain of the transaction's clinic (app.tenant_id)."""
    await session.execute(text("set local statement_timeout = 0"))
    row = (await session.execute(_FIRST_BREAK)).one_or_none()
    tail = (await session.execute(_TAIL)).one_or_none()
    count = int(tail.events) if tail else 0
    if row is not None:
        return ChainReport(count, await _classify(session, row))
    head = (await session.execute(_HEAD)).one_or_none()
    return ChainReport(count, _tail_break(head, tail))


async def _classify(session: AsyncSession, row: Row[Any]) -> Break:
    seq: int = row.seq
    expected = (row.prev_seq or 0) + 1
    if row.prev_seq is not None and seq == row.prev_seq:
        return Break(seq, "inserted", row.id, f"two events hold position {seq}")
    if seq > expected:
        return Break(expected, "deleted", None, f"events {expected}..{seq - 1} are missing")
    if not row.content_ok:
        return Break(seq, "changed", row.id, "its content no longer matches its hash")
    if row.prev_prev_hash is not None and row.prev_hash == row.prev_prev_hash:
        return Break(seq - 1, "inserted", None, f"event {seq - 1} was not in the chain")
    other = await session.scalar(_HASH_AT, {"hash": row.prev_hash, "seq": seq - 1})
    if other is not None:
        return Break(seq, "reordered", row.id, f"it follows event {other} in the chain")
    return Break(seq, "deleted", row.id, "the event before it is missing")


def _tail_break(head: Row[Any] | None, tail: Row[Any] | None) -> Break | None:
    if head is None:
        return None if tail is None else Break(1, "inserted", None, "chain has no head")
    head_seq: int = head.seq
    head_hash: bytes = head.hash
    last_seq, last_hash = (int(tail.seq), tail.hash) if tail else (0, None)
    if last_seq < head_seq:
        return Break(last_seq + 1, "deleted", None, f"events {last_seq + 1}..{head_seq} missing")
    if last_seq > head_seq:
        return Break(head_seq + 1, "inserted", None, "events after the chain head")
    if last_hash != head_hash:
        return Break(last_seq, "changed", None, "the last event is not the chain head")
    return None
