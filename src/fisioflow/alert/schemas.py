"""Alert bodies."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import BaseModel

Kind = Literal["pain_high", "pain_rising", "missed_sessions", "sos"]
Status = Literal["open", "acknowledged", "resolved"]


class AlertOut(BaseModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    patient_name: str
    practitioner_id: uuid.UUID | None
    kind: Kind
    status: Status
    message: str
    details: dict[str, Any]
    created_at: dt.datetime
    acknowledged_at: dt.datetime | None
    acknowledged_by: uuid.UUID | None
    resolved_at: dt.datetime | None
    resolved_by: uuid.UUID | None
