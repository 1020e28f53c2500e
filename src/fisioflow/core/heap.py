"""Garbage collector settings of a serving process.

After startup a server process holds a few hundred thousand long-lived objects (modules,
the app and its routes, pydantic and SQLAlchemy caches, pools). CPython's full (oldest
generation) collection walks all of them: 100+ ms per pass, and it ran every few dozen
requests because request objects alive during a younger collection get promoted. Freezing
what is alive once startup is done (`gc.freeze`) leaves those objects out of every later
collection, so a full pass only walks what requests left behind.
"""

from __future__ import annotations

import functools
import gc


@functools.cache
def freeze_startup_heap() -> None:
    """Once per process (tests build many apps in one process: only the first one's
    startup objects are frozen, so discarded apps are still collected)."""
    gc.collect()
    gc.freeze()
