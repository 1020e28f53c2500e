"""Clinical record bodies: per-kind content, CID-10 diagnoses, vital signs with units.

Content is validated against the model of the entry's kind (`CONTENT_MODELS`); the
stored JSON is exactly the validated model's dump, so what the API returns is what
the content hash covers.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Annotated, Any, Literal

from fastapi.exceptions import RequestValidationError
from pydantic import (
    BaseModel,
    Field,
    ValidationError,
    field_serializer,
    field_validator,
    model_validator,
)

from fisioflow.core.schemas import StrictModel
from fisioflow.record.integrity import HASHED_FIELDS, utc_text
from fisioflow.record.vitals import Vitals

Kind = Literal["anamnesis", "evaluation", "evolution", "reevaluation", "discharge", "addendum"]
WritableKind = Literal["anamnesis", "evaluation", "evolution", "reevaluation", "discharge"]
Status = Literal["draft", "signed"]
Text = Annotated[str, Field(max_length=20_000)]
ShortText = Annotated[str, Field(max_length=2_000)]

# CID-10 (ICD-10): a letter, two digits, optionally a dot and one or two subdivision
# characters. U is included: Brazil uses U04.9 (SARS) and U07.1/U07.2 (COVID-19).
CID10 = re.compile(r"^[A-Z][0-9]{2}(\.[0-9A-Z]{1,2})?$")
_UNDOTTED = re.compile(r"^([A-Z][0-9]{2})([0-9A-Z]{1,2})$")


class _Content(StrictModel):
    def has_text(self) -> bool:
        return any(isinstance(v, str) and v.strip() for v in self.model_dump().values())

    @model_validator(mode="after")
    def _not_empty(self) -> _Content:
        if not self.has_text():
            raise ValueError("at least one field must have text")
        return self


class AnamnesisContent(_Content):
    chief_complaint: Text = Field(min_length=1)
    history_of_present_illness: Text | None = None
    past_history: Text | None = None
    medications: ShortText | None = None
    allergies: ShortText | None = None
    family_history: ShortText | None = None
    social_history: ShortText | None = None
    notes: Text | None = None


class EvaluationContent(_Content):
    chief_complaint: Text | None = None
    physical_exam: Text | None = None
    functional_assessment: Text | None = None
    special_tests: Text | None = None
    goals: Text | None = None
    plan: Text | None = None
    notes: Text | None = None


class ReevaluationContent(EvaluationContent):
    progress: Text | None = None


class EvolutionContent(_Content):
    """Progress note in SOAP form."""

    subjective: Text | None = None
    objective: Text | None = None
    assessment: Text | None = None
    plan: Text | None = None


class DischargeContent(_Content):
    reason: Literal["goals_achieved", "patient_request", "referral", "non_attendance", "other"]
    summary: Text = Field(min_length=1)
    recommendations: Text | None = None


class AddendumContent(_Content):
    text: Text = Field(min_length=1)
    reason: ShortText | None = None


CONTENT_MODELS: dict[str, type[_Content]] = {
    "anamnesis": AnamnesisContent,
    "evaluation": EvaluationContent,
    "reevaluation": ReevaluationContent,
    "evolution": EvolutionContent,
    "discharge": DischargeContent,
    "addendum": AddendumContent,
}


def parse_content(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    """Validate `content` against its kind's model; errors name `content.<field>`."""
    try:
        model = CONTENT_MODELS[kind].model_validate(data)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", "content", *e["loc"])} for e in exc.errors()]
        raise RequestValidationError(errors) from exc
    return model.model_dump(mode="json", exclude_none=True)


class Diagnosis(StrictModel):
    code: str | None = Field(default=None, max_length=8, description="CID-10, e.g. M54.5")
    description: ShortText | None = None

    @field_validator("code")
    @classmethod
    def _cid10(cls, value: str | None) -> str | None:
        if value is None:
            return None
        code = value.strip().upper()
        if undotted := _UNDOTTED.match(code):
            code = f"{undotted.group(1)}.{undotted.group(2)}"
        if not CID10.match(code):
            raise ValueError("not a CID-10 code (a letter, two digits, optional .X or .XX)")
        return code

    @model_validator(mode="after")
    def _something(self) -> Diagnosis:
        if self.code is None and not (self.description or "").strip():
            raise ValueError("give a CID-10 code, a description, or both")
        return self


Content = Annotated[
    dict[str, Any],
    Field(description="Fields of the entry's kind; evolution is SOAP", max_length=20),
]
Diagnoses = Annotated[list[Diagnosis], Field(max_length=30)]


class RecordCreate(StrictModel):
    kind: WritableKind
    appointment_id: uuid.UUID | None = None
    content: Content
    diagnoses: Diagnoses = Field(default_factory=list)
    vitals: Vitals | None = None


class RecordUpdate(StrictModel):
    """A draft's changes. `content` is merged key by key (a null value removes the key);
    `diagnoses` replaces the list; `vitals` and `appointment_id` replace, null clears."""

    appointment_id: uuid.UUID | None = None
    content: Content | None = None
    diagnoses: Diagnoses | None = None
    vitals: Vitals | None = None


class AddendumCreate(StrictModel):
    content: Content
    diagnoses: Diagnoses = Field(default_factory=list)
    vitals: Vitals | None = None


class RecordOut(BaseModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    appointment_id: uuid.UUID | None
    author_id: uuid.UUID
    kind: Kind
    parent_id: uuid.UUID | None
    content: dict[str, Any]
    diagnoses: list[dict[str, Any]]
    vitals: dict[str, Any] | None
    status: Status
    signed_at: dt.datetime | None
    signed_by: uuid.UUID | None
    content_hash: str | None = Field(
        description="SHA-256 (hex) of the RFC 8785 canonical JSON of the fields in "
        "`hashed_fields`, as this response shows them; signed_at is UTC with microseconds"
    )
    hashed_fields: list[str] = Field(default_factory=lambda: list(HASHED_FIELDS))
    created_at: dt.datetime
    updated_at: dt.datetime

    @field_serializer("signed_at")
    def _utc(self, value: dt.datetime | None) -> str | None:
        return None if value is None else utc_text(value)


class RecordDetail(RecordOut):
    addenda: list[RecordOut]
