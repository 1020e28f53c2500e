"""Recording messages as sent, ordered against the sends themselves.

The lanes of a delivery share one recorder and one connection (application role,
autocommit). A lane calls `sent(id, release)` with the message's last byte held back;
the recorder groups whatever the lanes have asked for by the time it is free (a group
commit: one transaction, one audit-chain lock, one WAL flush and two round trips for
many messages). For a group it runs BEGIN and locks the rows (still `sending`: still
ours), marks them `sent`, then writes COMMIT to the socket and calls every `release`
right after (for SMTP: the final "." that makes the server accept the message) before
waiting for the answer. Writing the COMMIT and the releases happen in one step of the
event loop, so a worker killed at any moment either never released a message (the server
discards it; the row stays `sending` and is sent again when its lease runs out) or had
already sent the COMMIT (the row is `sent`). Writing at the libpq level is the point: a
driver-level commit would wait for the answer first and leave a round trip between them.

The UPDATE's audit events lock the clinic's audit chain until the COMMIT (migration
0015_audit_chain_flush), across one round trip to this process: grouping is what keeps
that wait from capping a clinic's throughput. The row locks taken first (`FOR NO KEY
UPDATE`, no audit) make the UPDATE certain to find the rows: no other worker can claim
them meanwhile.

A lane cancelled while waiting withdraws its message unless it was released already
(then its delivery treats it as let go: delivery.py).

A written COMMIT is not a durable one: when the database dies before it lands, the
messages are out but their rows still say `sending`. `sent` then raises
NotRecorded(released) and the channel decides whether the message left; if so `confirm`
records it, reconnecting until the database is back (a lane of this process that claims
the row again meanwhile records it instead of sending it: delivery.py).
"""

from __future__ import annotations

import asyncio
import select
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
from psycopg import pq, sql

from fisioflow.notification.channels import NotRecorded

Release = Callable[[], None]
CONFIRM_PAUSE_S = 0.1
COMMIT_WRITE_TIMEOUT_S = 5.0

# Lookups the planner cannot get wrong: one primary-key equality per message, and the
# UPDATE by the locked rows' ctids alone (stable: nobody else may change a row we lock;
# the row security policy keeps it in the clinic). Given `tenant_id = ...` and
# `id = any(...)`, the choice of index rests on the statistics, which know nothing yet of
# a clinic whose outbox just filled: the planner took other indexes that start with
# tenant_id and walked the whole outbox for every group (30,000 reminders at 140-230
# messages/s until autovacuum analyzed the table).
_SET_SENT = (
    "update notification set status = 'sent', sent_at = now(), attempts = attempts + 1,"
    " lease_until = null, last_error = null, updated_at = now()"
)
_MARK_LOCKED = sql.SQL(_SET_SENT + " where ctid = any({ctids}::tid[])")
_MARK_ONE = sql.SQL(_SET_SENT + " where tenant_id = {tenant} and id = {id} and status = 'sending'")
_OURS = (
    "select ctid::text, status = 'sending' from notification where tenant_id = %s and id = %s"
    " for no key update"
)
_TENANCY = "select set_config('app.tenant_id', %s, true), set_config('app.actor', %s, true)"


@dataclass(eq=False)
class _Ask:
    notification_id: uuid.UUID
    release: Release
    outcome: asyncio.Future[bool]
    withdrawn: bool = False
    released: bool = False

    def let_go(self) -> None:
        self.released = True
        self.release()

    def settle(self, result: bool | BaseException) -> None:
        if self.outcome.done():
            return
        if self.withdrawn:  # nobody waits for it any more
            self.outcome.cancel()
        elif isinstance(result, BaseException):
            self.outcome.set_exception(result)
        else:
            self.outcome.set_result(result)


class Recorder:
    def __init__(self, conninfo: str, *, tenant: uuid.UUID, actor: str) -> None:
        self._conninfo = conninfo
        self._tenant = tenant
        self._actor = actor
        self._conn: psycopg.AsyncConnection[tuple[object, ...]] | None = None
        self._asks: list[_Ask] = []
        self._recording: asyncio.Task[None] | None = None

    async def _connection(self) -> psycopg.AsyncConnection[tuple[object, ...]]:
        if self._conn is None or self._conn.closed:
            self._conn = await psycopg.AsyncConnection.connect(
                self._conninfo, autocommit=True, application_name="fisioflow-delivery"
            )
        return self._conn

    async def sent(self, notification_id: uuid.UUID, release: Release) -> bool:
        """Mark the message sent and release it; False (nothing released) when the row is
        no longer ours (another worker claimed it after our lease ran out)."""
        ask = _Ask(notification_id, release, asyncio.get_running_loop().create_future())
        self._asks.append(ask)
        if self._recording is None or self._recording.done():
            self._recording = asyncio.create_task(self._record_all())
        try:
            return await asyncio.shield(ask.outcome)
        except asyncio.CancelledError:
            ask.withdrawn = True  # too late if released: the caller knows it let go
            raise

    async def _record_all(self) -> None:
        while self._asks:
            group, self._asks = self._asks, []
            try:
                await self._record(group)
            except psycopg.Error as exc:
                await self._discard()
                for ask in group:
                    ask.settle(
                        NotRecorded(
                            f"recording the message as sent failed: {exc}", released=ask.released
                        )
                    )
            except BaseException as exc:
                await self._discard()
                for ask in group:
                    ask.settle(NotRecorded(f"recording stopped: {exc!r}", released=ask.released))
                raise

    async def _record(self, group: list[_Ask]) -> None:
        conn = await self._connection()
        async with conn.pipeline():  # one round trip for them all
            await conn.execute("begin")
            await conn.execute(_TENANCY, (str(self._tenant), self._actor))
            cursors = [
                await conn.execute(_OURS, (self._tenant, ask.notification_id)) for ask in group
            ]
        locked = [await cursor.fetchone() for cursor in cursors]
        ours = {
            ask: row[0]
            for ask, row in zip(group, locked, strict=True)
            if row is not None and row[1] and not ask.withdrawn
        }
        mine = list(ours)
        if mine:
            update = _MARK_LOCKED.format(ctids=sql.Literal(list(ours.values())))
            updated = (await conn.execute(update)).rowcount
            if updated != len(mine):
                raise psycopg.OperationalError(f"marked {updated} of {len(mine)} messages sent")
        if not mine or any(ask.withdrawn for ask in mine):
            # Withdrawn while its row was being updated: undo the group, ask again for
            # the others (withdrawal is rare: a worker stopping).
            await conn.execute("rollback")
            self._asks[:0] = [ask for ask in mine if not ask.withdrawn]
            mine = []
        else:  # from this check to the releases nothing awaits: no lane withdraws
            await _commit_then(conn, mine)
        for ask in group:
            if ask not in self._asks:
                ask.settle(ask in mine)

    async def confirm(self, notification_id: uuid.UUID, *, within_s: float) -> bool:
        """Record as sent a message that left while its COMMIT failed, retrying while the
        database is away; False when it stayed away for `within_s` seconds. A connection
        of its own: the group's may be in the middle of another group."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within_s
        update = _MARK_ONE.format(tenant=sql.Literal(self._tenant), id=sql.Literal(notification_id))
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._conninfo, application_name="fisioflow-delivery"
                ) as conn:
                    await conn.execute(_TENANCY, (str(self._tenant), self._actor))
                    await conn.execute(update)
                return True
            except psycopg.Error:
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
        if self._recording is not None:
            await asyncio.gather(self._recording, return_exceptions=True)
        if self._conn is not None:
            await self._conn.close()


async def _commit_then(conn: psycopg.AsyncConnection[tuple[object, ...]], asks: list[_Ask]) -> None:
    """Write COMMIT, let every message go, then read the answer: anything but COMMIT is an
    error. The UPDATE ran before (its answer read): the COMMIT is the only thing written
    between the two sockets' writes. Sent together with the UPDATE it made PostgreSQL work
    longer on being woken by it, and on a loaded machine the worker, preempted by the
    woken backend, stayed between the two writes long enough for the SIGKILL test to land
    there (lost messages)."""
    loop, pgconn = asyncio.get_running_loop(), conn.pgconn
    pgconn.send_query(b"commit")
    _flush_now(pgconn)
    for ask in asks:
        ask.let_go()
    while True:
        pgconn.consume_input()
        if not pgconn.is_busy():
            break
        await _readable(loop, pgconn.socket)
    tags, error = [], None
    while (result := pgconn.get_result()) is not None:
        if result.status != pq.ExecStatus.COMMAND_OK:
            error = (result.error_message or b"commit failed").decode(errors="replace")
        tags.append(result.command_status)
    if error is None and tags != [b"COMMIT"]:
        # A COMMIT of a failed transaction answers ROLLBACK, without an error.
        error = f"recording the messages as sent answered {tags!r}"
    if error is not None:
        raise psycopg.OperationalError(error)


def _flush_now(pgconn: pq.abc.PGconn) -> None:
    """Flush without yielding to the event loop (a lane must not withdraw between the
    COMMIT and its release). A full socket buffer is rare for a few hundred bytes; the
    wait for it is bounded, and a COMMIT not written whole is never executed."""
    while pgconn.flush():
        _, writable, _ = select.select([], [pgconn.socket], [], COMMIT_WRITE_TIMEOUT_S)
        if not writable:
            raise psycopg.OperationalError("the database did not take the COMMIT")


async def _readable(loop: asyncio.AbstractEventLoop, fileno: int) -> None:
    ready: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(fileno, wake)
    try:
        await ready
    finally:
        loop.remove_reader(fileno)
