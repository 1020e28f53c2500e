"""Recording a message as sent, ordered against the send itself.

Each delivery lane keeps one connection of its own (application role, autocommit) for
this. `sent(...)` runs BEGIN and locks the row (still `sending`: still ours), then writes
the UPDATE to `sent` and the COMMIT to the socket in one message and calls `release`
right after (for SMTP: the final "." that makes the server accept the message) before
waiting for their answer. The two writes are microseconds apart, so a worker killed at
any moment either never released the message (the server discards it; the row stays
`sending` and is sent again when its lease runs out) or had already sent the COMMIT (the
row is `sent`). Writing at the libpq level is the point: a driver-level commit would wait
for the answer first and leave a round trip between the two writes.

Why the UPDATE travels with the COMMIT: it writes the audit event, which locks the
clinic's audit chain until the COMMIT (migration 0015_audit_chain_flush), and every other
audited write of the clinic (the other lanes, claims, queued reminders) waits for that
lock. Sent together, the lock is held for the server's own work only, not for a round
trip to this process and its busy event loop: that wait had capped a clinic at ~330
messages/s. The row lock taken first (`FOR NO KEY UPDATE`, no audit) is what makes the
UPDATE certain to find the row: no other worker can claim it meanwhile.

A written COMMIT is not a durable one: when the database dies before it lands, the
message is out but the row still says `sending`. `sent` then raises NotRecorded(released)
and the channel decides whether the message left; if so `confirm` records it, reconnecting
until the database is back (a lane of this process that claims the row again meanwhile
records it instead of sending it: delivery.py).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

import psycopg
from psycopg import pq, sql

from fisioflow.notification.channels import NotRecorded

Release = Callable[[], None]
CONFIRM_PAUSE_S = 0.1

_MARK_SENT = sql.SQL(
    "update notification set status = 'sent', sent_at = now(), attempts = attempts + 1,"
    " lease_until = null, last_error = null, updated_at = now()"
    " where tenant_id = {tenant} and id = {id} and status = 'sending'"
)
_OURS = (
    "select id from notification where tenant_id = %s and id = %s and status = 'sending'"
    " for no key update"
)
_TENANCY = "select set_config('app.tenant_id', %s, true), set_config('app.actor', %s, true)"


class Recorder:
    def __init__(self, conninfo: str, *, tenant: uuid.UUID, actor: str) -> None:
        self._conninfo = conninfo
        self._tenant = tenant
        self._actor = actor
        self._conn: psycopg.AsyncConnection[tuple[object, ...]] | None = None

    async def _connection(self) -> psycopg.AsyncConnection[tuple[object, ...]]:
        if self._conn is None or self._conn.closed:
            self._conn = await psycopg.AsyncConnection.connect(
                self._conninfo, autocommit=True, application_name="fisioflow-delivery"
            )
        return self._conn

    async def sent(self, notification_id: uuid.UUID, release: Release) -> bool:
        """Mark the message sent and release it; False (nothing released) when the row is
        no longer ours (another worker claimed it after our lease ran out)."""
        released = False

        def release_once() -> None:
            nonlocal released
            released = True
            release()

        try:
            conn = await self._connection()
            async with conn.pipeline():  # one round trip for the three
                await conn.execute("begin")
                await conn.execute(_TENANCY, (str(self._tenant), self._actor))
                cursor = await conn.execute(_OURS, (self._tenant, notification_id))
            if await cursor.fetchone() is None:
                await conn.execute("rollback")
                return False
            await _commit_then(conn, _mark_sent(self._tenant, notification_id), release_once)
        except psycopg.Error as exc:
            await self._discard()
            raise NotRecorded(
                f"recording the message as sent failed: {exc}", released=released
            ) from exc
        except BaseException:
            await self._discard()
            raise
        return True

    async def confirm(self, notification_id: uuid.UUID, *, within_s: float) -> bool:
        """Record as sent a message that left while its COMMIT failed, retrying while the
        database is away; False when it stayed away for `within_s` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within_s
        while True:
            try:
                conn = await self._connection()
                async with conn.transaction():
                    await conn.execute(_TENANCY, (str(self._tenant), self._actor))
                    await conn.execute(_mark_sent(self._tenant, notification_id))
                return True
            except psycopg.Error:
                await self._discard()
                if loop.time() + CONFIRM_PAUSE_S > deadline:
                    return False
                # Short and steady: recording must win the race against a new lane that
                # claims the row once the database is back and the lease has run out.
                await asyncio.sleep(CONFIRM_PAUSE_S)

    async def _discard(self) -> None:
        """A connection whose transaction state is unknown is never reused."""
        if self._conn is not None:
            await self._conn.close()
        self._conn = None

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()


def _mark_sent(tenant: uuid.UUID, notification_id: uuid.UUID) -> sql.Composed:
    # Literals: a simple-query message (UPDATE and COMMIT in one) carries no parameters.
    return _MARK_SENT.format(tenant=sql.Literal(tenant), id=sql.Literal(notification_id))


async def _commit_then(
    conn: psycopg.AsyncConnection[tuple[object, ...]], update: sql.Composed, release: Release
) -> None:
    """Write `update` and COMMIT as one simple-query message, release, then read both
    answers: anything but exactly one row updated and committed is an error."""
    loop, pgconn = asyncio.get_running_loop(), conn.pgconn
    pgconn.send_query(update.as_bytes(conn) + b"; commit")
    while pgconn.flush():
        await _ready(loop, pgconn.socket, write=True)
    release()
    while True:
        pgconn.consume_input()
        if not pgconn.is_busy():
            break
        await _ready(loop, pgconn.socket, write=False)
    tags, error = [], None
    while (result := pgconn.get_result()) is not None:
        if result.status != pq.ExecStatus.COMMAND_OK:
            error = (result.error_message or b"commit failed").decode(errors="replace")
        tags.append(result.command_status)
    if error is None and tags != [b"UPDATE 1", b"COMMIT"]:
        # A COMMIT of a failed transaction answers ROLLBACK, without an error.
        error = f"recording the message as sent answered {tags!r}"
    if error is not None:
        raise psycopg.OperationalError(error)


async def _ready(loop: asyncio.AbstractEventLoop, fileno: int, *, write: bool) -> None:
    ready: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    (loop.add_writer if write else loop.add_reader)(fileno, wake)
    try:
        await ready
    finally:
        (loop.remove_writer if write else loop.remove_reader)(fileno)
