"""The exercise library shipped with the product (`library.json`, pt-BR).

Entries are identified by slug; their ids are uuid5(LIBRARY_NAMESPACE, slug), stable on
every installation, so prescriptions and exports can name them anywhere. A migration
loads the file (`library_rows()`); a later change to the file ships with a migration that
calls `library_rows()` again (upsert by id).
"""

from __future__ import annotations

import json
import uuid
from functools import cache
from importlib import resources
from typing import Any

LIBRARY_NAMESPACE = uuid.UUID("6f1c2a5e-3b1d-4f7a-9c59-0d3e1f6a8b20")
_OPTIONAL = (
    "default_sets",
    "default_reps",
    "default_hold_seconds",
    "default_duration_seconds",
    "image_url",
    "video_url",
)


def library_id(slug: str) -> uuid.UUID:
    return uuid.uuid5(LIBRARY_NAMESPACE, slug)


@cache
def library_rows() -> tuple[dict[str, Any], ...]:
    """Rows for `exercise_library`, in file order."""
    text = resources.files("fisioflow.exercise").joinpath("library.json").read_text("utf-8")
    entries: list[dict[str, Any]] = json.loads(text)["exercises"]
    return tuple(
        {
            **dict.fromkeys(_OPTIONAL),
            "contraindications": [],
            **entry,
            "id": library_id(entry["slug"]),
        }
        for entry in entries
    )
