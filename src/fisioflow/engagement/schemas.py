"""Engagement bodies: diary entries, mood check-ins, messages, internal notes, SOS."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from fisioflow.core.schemas import StrictModel
from fisioflow.models.engagement import MAX_TAGS

Mood = Annotated[int, Field(ge=1, le=5, description="1 (very bad) to 5 (very good)")]
Energy = Annotated[int, Field(ge=0, le=3, description="0 (none) to 3 (high)")]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
DiaryText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]
Body = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)]
Location = Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)]
Bucket = Literal["day", "week"]

TAG_LENGTH = 40
_SPACES = re.compile(r"\s+")


def normalize_tag(raw: str) -> str:
    """'  #Ansiedade   Social ' -> 'ansiedade social': NFC, lower case, single spaces."""
    tag = _SPACES.sub(" ", unicodedata.normalize("NFC", raw)).strip().lstrip("#").strip()
    tag = tag.casefold()
    if not tag:
        raise ValueError("a tag must not be empty")
    if len(tag) > TAG_LENGTH:
        raise ValueError(f"a tag has at most {TAG_LENGTH} characters")
    return tag


def normalize_tags(raw: list[str]) -> list[str]:
    """Normalized, duplicates dropped, first spelling's position kept."""
    return list(dict.fromkeys(normalize_tag(tag) for tag in raw))


Tags = Annotated[list[str], Field(max_length=MAX_TAGS, description=f"Up to {MAX_TAGS}")]


class DiaryEntryIn(StrictModel):
    title: Title | None = None
    text: DiaryText
    mood: Mood | None = None
    tags: Tags = Field(default_factory=list)
    private: bool = Field(False, description="Private entries are never shown to staff")

    _tags = field_validator("tags")(normalize_tags)


class DiaryEntryUpdate(StrictModel):
    """Only the fields sent change; `title` and `mood` may be cleared with null."""

    title: Title | None = None
    text: DiaryText | None = None
    mood: Mood | None = None
    tags: Tags | None = None
    private: bool | None = None


class DiaryEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    patient_id: uuid.UUID
    title: str | None
    text: str
    mood: int | None
    tags: list[str]
    private: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class MoodIn(StrictModel):
    mood: Mood
    energy: Energy | None = None
    note: Note | None = None


class MoodOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    patient_id: uuid.UUID
    mood: int
    energy: int | None
    note: str | None
    created_at: dt.datetime


class TrendPoint(BaseModel):
    period_start: dt.date
    mood_average: float | None
    energy_average: float | None
    check_ins: int
    diary_entries: int


class MoodTrend(BaseModel):
    patient_id: uuid.UUID
    from_: dt.date = Field(serialization_alias="from")
    to: dt.date
    bucket: Bucket
    timezone: str
    mood_average: float | None
    energy_average: float | None
    points: list[TrendPoint]


class MessageIn(StrictModel):
    body: Body


class MessageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    patient_id: uuid.UUID
    sender_role: Literal["patient", "staff"]
    sender_user_id: uuid.UUID
    sender_name: str
    body: str
    created_at: dt.datetime
    read_at: dt.datetime | None


class ReadReceipt(BaseModel):
    marked_read: int = Field(description="Messages of the other side marked read now")
    read_at: dt.datetime


class UnreadThread(BaseModel):
    patient_id: uuid.UUID
    patient_name: str
    unread: int
    last_message_at: dt.datetime


class InternalNoteIn(StrictModel):
    body: Body


class InternalNoteOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    patient_id: uuid.UUID
    author_user_id: uuid.UUID
    author_name: str
    body: str
    created_at: dt.datetime


class SosIn(StrictModel):
    message: Note | None = None
    location: Location | None = Field(None, description="Where the patient is, as they say it")


class HelpLine(BaseModel):
    name: str
    phone: str


class SosOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    patient_id: uuid.UUID
    message: str | None
    location: str | None
    created_at: dt.datetime
    acknowledged_at: dt.datetime | None


class SosCreated(SosOut):
    notified: int = Field(description="Staff members alerted")
    help_lines: list[HelpLine]


class SosEventOut(SosOut):
    """Staff view: who was alerted and who took it."""

    recipient_user_ids: list[uuid.UUID]
    acknowledged_by: uuid.UUID | None
