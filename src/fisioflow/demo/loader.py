"""Realistic pt-BR demo clinic (Faker), loaded once and idempotent."""

from __future__ import annotations

from rich.console import Console

from fisioflow.core.database import DatabaseLocation
from fisioflow.settings import Settings


def load_demo(settings: Settings, location: DatabaseLocation, *, console: Console) -> bool:
    """Return True when the demo clinic was created now, False when it already existed."""
    return False
