"""What a receptionist types to find a patient, derived from a real patient's name."""

from __future__ import annotations

import random
from collections import Counter

from benchmarks.fakes import CONNECTORS, ascii_fold

FULL = "first name + surname"
SURNAME = "one surname"
PREFIX = "first name + surname prefix"
TYPO = "unaccented, lower case, one letter missing"
SHARES = ((FULL, 0.35), (SURNAME, 0.25), (PREFIX, 0.20), (TYPO, 0.20))


def fragment(full_name: str, rng: random.Random) -> tuple[str, str]:
    """(kind, query) for one patient; the patient itself always matches the query."""
    words = [w for w in full_name.split() if w.lower() not in CONNECTORS]
    first, surnames = words[0], words[1:] or words
    kind = rng.choices([k for k, _ in SHARES], [w for _, w in SHARES])[0]
    surname = rng.choice(surnames)
    if kind == SURNAME:
        return kind, surname
    if kind == PREFIX:
        return kind, f"{first} {surname[: max(3, len(surname) // 2)]}"
    if kind == TYPO and len(surname) > 4:
        cut = rng.randrange(1, len(surname) - 1)
        return kind, ascii_fold(f"{first} {surname[:cut]}{surname[cut + 1 :]}").lower()
    return FULL, f"{first} {surname}"


def kind_counts(queries: list[tuple[str, str]]) -> str:
    counts = Counter(kind for kind, _ in queries)
    return ", ".join(f"{100 * n / len(queries):.0f}% {kind}" for kind, n in counts.most_common())
