"""The patient export document."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field


class ExportClinic(BaseModel):
    id: str
    name: str


class PatientExport(BaseModel):
    format: Literal["fisioflow-patient-export"] = "fisioflow-patient-export"
    format_version: Literal[1] = 1
    exported_at: dt.datetime
    clinic: ExportClinic
    patient: dict[str, Any] = Field(description="The registration (demographics, consent).")
    data: dict[str, list[dict[str, Any]]] = Field(
        description="Every table with a patient_id column, by table name: the patient's rows "
        "the caller may read (clinical records, appointments, portal account, ...)."
    )
