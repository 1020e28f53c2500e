"""Vital signs and measurements of a record entry, each with its unit and sane bounds.

Units are fixed per measurement (no conversions): a client may omit `unit`, and the
stored document always carries it. Bounds reject typing errors (a heart rate of 720),
not clinical rarities.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from fisioflow.core.schemas import StrictModel

Joint = Literal[
    "shoulder",
    "elbow",
    "forearm",
    "wrist",
    "fingers",
    "thumb",
    "hip",
    "knee",
    "ankle",
    "foot",
    "cervical_spine",
    "thoracic_spine",
    "lumbar_spine",
]
Movement = Literal[
    "flexion",
    "extension",
    "abduction",
    "adduction",
    "horizontal_abduction",
    "horizontal_adduction",
    "internal_rotation",
    "external_rotation",
    "rotation",
    "lateral_flexion",
    "pronation",
    "supination",
    "radial_deviation",
    "ulnar_deviation",
    "dorsiflexion",
    "plantar_flexion",
    "inversion",
    "eversion",
    "opposition",
]
# Largest plausible range per joint (degrees), above normal adult ranges to allow for
# hypermobility; negative values down to -45 record an extension deficit.
JOINT_MAX_DEGREES: dict[str, int] = {
    "shoulder": 200,
    "elbow": 170,
    "forearm": 110,
    "wrist": 100,
    "fingers": 120,
    "thumb": 100,
    "hip": 150,
    "knee": 170,
    "ankle": 80,
    "foot": 60,
    "cervical_spine": 110,
    "thoracic_spine": 70,
    "lumbar_spine": 110,
}
MIN_DEGREES = -45
MAX_DEGREES = max(JOINT_MAX_DEGREES.values())


class BloodPressure(StrictModel):
    systolic: int = Field(ge=50, le=300)
    diastolic: int = Field(ge=20, le=200)
    unit: Literal["mmHg"] = "mmHg"

    @field_validator("diastolic")
    @classmethod
    def _below_systolic(cls, value: int, info: ValidationInfo) -> int:
        systolic = info.data.get("systolic")
        if systolic is not None and value >= systolic:
            raise ValueError("diastolic must be lower than systolic")
        return value


class HeartRate(StrictModel):
    value: int = Field(ge=20, le=250)
    unit: Literal["bpm"] = "bpm"


class OxygenSaturation(StrictModel):
    value: int = Field(ge=50, le=100)
    unit: Literal["%"] = "%"


class Weight(StrictModel):
    value: float = Field(ge=0.3, le=400, allow_inf_nan=False)
    unit: Literal["kg"] = "kg"


class Height(StrictModel):
    value: float = Field(ge=20, le=260, allow_inf_nan=False)
    unit: Literal["cm"] = "cm"


class Pain(StrictModel):
    value: int = Field(ge=0, le=10)
    scale: Literal["NRS"] = "NRS"
    location: str | None = Field(default=None, max_length=200)


class RangeOfMotion(StrictModel):
    joint: Joint
    movement: Movement
    side: Literal["left", "right"] | None = None
    mode: Literal["active", "passive"] | None = None
    value: float = Field(ge=MIN_DEGREES, le=MAX_DEGREES, allow_inf_nan=False)
    unit: Literal["deg"] = "deg"

    @field_validator("value")
    @classmethod
    def _within_joint(cls, value: float, info: ValidationInfo) -> float:
        joint = info.data.get("joint")
        limit = JOINT_MAX_DEGREES.get(joint or "", MAX_DEGREES)
        if value > limit:
            raise ValueError(f"{joint} range of motion must be at most {limit} degrees")
        return value


class Vitals(StrictModel):
    blood_pressure: BloodPressure | None = None
    heart_rate: HeartRate | None = None
    spo2: OxygenSaturation | None = None
    weight: Weight | None = None
    height: Height | None = None
    pain: Pain | None = None
    range_of_motion: list[RangeOfMotion] = Field(default_factory=list, max_length=60)
