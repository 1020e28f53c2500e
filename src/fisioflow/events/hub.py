"""One LISTEN connection per API process, fanned out to the event streams of that process.

Writers announce rows with `core.events.publish` (NOTIFY in their transaction); PostgreSQL
delivers each notification to every listening connection, so every API process (one
`EventHub` each) hears every committed event whichever process wrote it. Subscribers get
the events of their own clinic only; what a subscriber may see of them is decided by the
stream (`events/endpoints.py`).

When the connection is lost (database restarted) the hub reconnects by itself and tells
every subscriber `resync`: events committed while it was away were not heard, so clients
re-read their lists.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from tenacity import AsyncRetrying, retry_if_exception_type, wait_random_exponential

from fisioflow.core.events import CHANNEL

log = logging.getLogger(__name__)

RESYNC = "resync"
QUEUE_SIZE = 256


@dataclass(frozen=True)
class Event:
    kind: str
    id: uuid.UUID | None


class EventHub:
    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo
        self._subscribers: dict[uuid.UUID, set[asyncio.Queue[Event]]] = {}
        self.listening = asyncio.Event()

    @contextmanager
    def subscribe(self, tenant: uuid.UUID) -> Iterator[asyncio.Queue[Event]]:
        queue: asyncio.Queue[Event] = asyncio.Queue(QUEUE_SIZE)
        self._subscribers.setdefault(tenant, set()).add(queue)
        try:
            yield queue
        finally:
            self._subscribers[tenant].discard(queue)
            if not self._subscribers[tenant]:
                del self._subscribers[tenant]

    async def run(self) -> None:
        """Listen until cancelled, reconnecting (backoff with jitter) after any loss."""
        retrying = AsyncRetrying(
            wait=wait_random_exponential(multiplier=0.2, max=5),
            retry=retry_if_exception_type(psycopg.OperationalError),
        )
        while True:  # `_listen` returns only if the server ended the session cleanly
            async for attempt in retrying:
                with attempt:
                    await self._listen()

    async def _listen(self) -> None:
        try:
            async with await psycopg.AsyncConnection.connect(
                self._conninfo, autocommit=True, application_name="fisioflow-events"
            ) as conn:
                await conn.execute(f"listen {CHANNEL}")
                if self.listening.is_set():
                    self._broadcast(Event(RESYNC, None))
                self.listening.set()
                async for notify in conn.notifies():
                    self._dispatch(notify.payload)
        except psycopg.OperationalError as exc:
            log.warning("event listener lost its connection", extra={"error": str(exc)})
            raise

    def _dispatch(self, raw: str) -> None:
        try:
            payload = json.loads(raw)
            tenant = uuid.UUID(payload["tenant"])
            event = Event(str(payload["kind"]), uuid.UUID(payload["id"]))
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a malformed event", extra={"payload": raw[:200]})
            return
        for queue in self._subscribers.get(tenant, ()):
            _offer(queue, event)

    def _broadcast(self, event: Event) -> None:
        for queues in self._subscribers.values():
            for queue in queues:
                _offer(queue, event)


def _offer(queue: asyncio.Queue[Event], event: Event) -> None:
    """A subscriber that does not keep up loses the backlog and is told to re-read."""
    try:
        queue.put_nowait(event)
    except asyncio.QueueFull:
        while not queue.empty():
            queue.get_nowait()
        queue.put_nowait(Event(RESYNC, None))
