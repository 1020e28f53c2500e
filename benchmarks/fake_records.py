"""Record entry rows shaped like the API writes them (fisioflow.record.schemas).

Content follows each kind's model (SOAP for evolution), diagnoses are CID-10 with a
description, vitals carry units, and signed entries carry the same RFC 8785 SHA-256
content hash as `fisioflow.record.integrity` computes, so a reader can verify them.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from fisioflow.core.ids import new_id
from fisioflow.record.integrity import HASHED_FIELDS, digest, utc_text

RECORD_COLUMNS = (
    "tenant_id", "id", "patient_id", "author_id", "kind", "parent_id", "content", "diagnoses",
    "vitals", "status", "signed_at", "signed_by", "content_hash", "created_at", "updated_at",
)  # fmt: skip
DIAGNOSES = (
    ("M54.5", "Dor lombar baixa"),
    ("M75.1", "Síndrome do manguito rotador"),
    ("M17.1", "Gonartrose primária"),
    ("S83.5", "Entorse do ligamento cruzado do joelho"),
    ("G81.9", "Hemiplegia não especificada"),
    ("F41.1", "Ansiedade generalizada"),
)
CONTENT_FIELDS = {
    "anamnesis": ("chief_complaint", "history_of_present_illness", "past_history", "medications"),
    "evaluation": ("chief_complaint", "physical_exam", "functional_assessment", "goals", "plan"),
    "reevaluation": ("physical_exam", "functional_assessment", "progress", "goals", "plan"),
    "evolution": ("subjective", "objective", "assessment", "plan"),
    "discharge": ("summary", "recommendations"),
}
JOINTS = (("knee", "flexion", 135), ("shoulder", "abduction", 170), ("hip", "flexion", 120))


@dataclass(frozen=True)
class Author:
    practitioner_id: uuid.UUID
    user_id: uuid.UUID


@dataclass(frozen=True)
class Entry:
    """One record entry before it becomes a row; signed unless `draft`."""

    tenant_id: uuid.UUID
    patient_id: uuid.UUID
    author: Author
    kind: str
    content: dict[str, Any]
    at: dt.datetime
    diagnoses: list[dict[str, str]] = field(default_factory=list)
    vitals: dict[str, Any] | None = None
    parent_id: uuid.UUID | None = None
    draft: bool = False
    id: uuid.UUID = field(default_factory=new_id)

    @property
    def signed_at(self) -> dt.datetime | None:
        return None if self.draft else self.at + dt.timedelta(minutes=30)

    def content_hash(self) -> str:
        """As fisioflow.record.integrity.content_hash: the hashed fields as the API shows them."""
        values = {
            "appointment_id": None,
            "author_id": str(self.author.practitioner_id),
            "signed_at": utc_text(self.signed_at) if self.signed_at else None,
            "signed_by": str(self.author.user_id),
        }
        for name in HASHED_FIELDS:
            if name not in values:
                value = getattr(self, name)
                values[name] = str(value) if isinstance(value, uuid.UUID) else value
        return digest(values)

    def row(self) -> tuple[Any, ...]:
        signed = not self.draft
        return (
            self.tenant_id, self.id, self.patient_id, self.author.practitioner_id, self.kind,
            self.parent_id, _json(self.content), _json(self.diagnoses), _json(self.vitals),
            "signed" if signed else "draft", self.signed_at,
            self.author.user_id if signed else None, self.content_hash() if signed else None,
            self.at, self.signed_at or self.at,
        )  # fmt: skip


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def _content(kind: str, rng: random.Random, sentences: Sequence[str]) -> dict[str, Any]:
    content = {name: " ".join(rng.sample(sentences, 2)) for name in CONTENT_FIELDS[kind]}
    if kind == "discharge":
        content["reason"] = "goals_achieved"
    return content


def _vitals(rng: random.Random) -> dict[str, Any]:
    systolic = rng.randint(100, 150)
    vitals: dict[str, Any] = {
        "blood_pressure": {
            "systolic": systolic,
            "diastolic": rng.randint(60, min(95, systolic - 20)),
            "unit": "mmHg",
        },
        "heart_rate": {"value": rng.randint(55, 110), "unit": "bpm"},
        "spo2": {"value": rng.randint(93, 99), "unit": "%"},
        "pain": {"value": rng.randint(0, 10), "scale": "NRS"},
    }
    if rng.random() < 0.5:
        joint, movement, top = rng.choice(JOINTS)
        vitals["range_of_motion"] = [
            {"joint": joint, "movement": movement, "side": side, "unit": "deg",
             "value": float(rng.randint(30, top))}
            for side in ("left", "right")
        ]  # fmt: skip
    return vitals


def _kinds(count: int, *, discharged: bool) -> list[str]:
    kinds = ["anamnesis", "evaluation"]
    while len(kinds) < count:
        kinds.append("reevaluation" if len(kinds) % 10 == 0 else "evolution")
    kinds = kinds[:count]
    if discharged and count > 2:
        kinds[-1] = "discharge"
    return kinds


def record_rows(
    rng: random.Random,
    *,
    tenant_id: uuid.UUID,
    patient_id: uuid.UUID,
    author: Author,
    count: int,
    sentences: Sequence[str],
    now: dt.datetime,
) -> Iterator[tuple[Any, ...]]:
    """A patient's timeline, oldest first (UUIDv7 ids ascend with it); the newest entry is
    a draft one time in five; every 15th signed entry gets an addendum."""
    at = now - dt.timedelta(days=3 * count + rng.randint(0, 60))
    kinds = _kinds(count, discharged=rng.random() < 0.1)
    for n, kind in enumerate(kinds):
        at += dt.timedelta(days=rng.randint(1, 3), minutes=rng.randint(0, 600))
        entry = Entry(
            tenant_id,
            patient_id,
            author,
            kind,
            _content(kind, rng, sentences),
            at,
            diagnoses=[] if kind == "evolution" else [_diagnosis(rng)],
            vitals=_vitals(rng),
            draft=n == count - 1 and kind != "discharge" and rng.random() < 0.2,
        )
        yield entry.row()
        if not entry.draft and n % 15 == 14:
            note = {"text": rng.choice(sentences), "reason": "correção de digitação"}
            yield Entry(
                tenant_id, patient_id, author, "addendum", note, at + dt.timedelta(hours=2),
                parent_id=entry.id,
            ).row()  # fmt: skip


def _diagnosis(rng: random.Random) -> dict[str, str]:
    code, description = rng.choice(DIAGNOSES)
    return {"code": code, "description": description}
