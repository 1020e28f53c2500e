"""Audit events as the API shows them, shaped to map onto FHIR R4 AuditEvent later:
`action` is AuditEvent.action (C/R/U/D), `recorded_at` AuditEvent.recorded, `agent`
AuditEvent.agent (who, role, network address), `entity` AuditEvent.entity (what, and
the patient it concerns) and `request_id` AuditEvent.source's correlation id."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field


class Operation(StrEnum):
    INSERT = "INSERT"
    UPDATE = "UPDATE"
    DELETE = "DELETE"
    READ = "READ"


ACTIONS = {"INSERT": "C", "READ": "R", "UPDATE": "U", "DELETE": "D"}


class Agent(BaseModel):
    user_id: uuid.UUID | None = Field(description="The user who acted (null: job or command)")
    role: str | None
    who: str | None = Field(description='"user:<id>", or the job or command name')
    ip: str | None
    user_agent: str | None


class Entity(BaseModel):
    table: str = Field(description="Table written, or kind of data viewed")
    record_id: uuid.UUID | None
    patient_id: uuid.UUID | None
    ids: list[uuid.UUID] | None = Field(
        default=None, description="Rows shown by a READ (a list or a record with addenda)"
    )


class AccessOut(BaseModel):
    """Who touched a patient's data, when and from where (no values)."""

    id: uuid.UUID
    sequence: int = Field(description="Position in the clinic's hash chain")
    recorded_at: dt.datetime
    operation: Operation
    action: str = Field(description="FHIR AuditEvent.action: C, R, U or D")
    entity: Entity
    agent: Agent
    request_id: str | None


class AuditEventOut(AccessOut):
    changed_fields: list[str] | None
    old_values: dict[str, Any] | None
    new_values: dict[str, Any] | None
    hash: str = Field(description="SHA-256 of the event chained to its predecessor (hex)")
