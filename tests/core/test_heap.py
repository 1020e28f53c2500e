"""A serving process freezes what startup left alive, once (core/heap.py)."""

from __future__ import annotations

import gc

import httpx

from fisioflow.core.heap import freeze_startup_heap


class TestFreeze:
    async def test_startup_objects_leave_the_collections_once(
        self, client: httpx.AsyncClient
    ) -> None:
        frozen = gc.get_freeze_count()
        assert frozen > 0  # the app's startup (lifespan) froze them
        freeze_startup_heap()
        assert gc.get_freeze_count() == frozen
        assert (await client.get("/health/live")).status_code == 200
