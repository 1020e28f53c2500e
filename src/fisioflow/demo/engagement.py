"""The demo's therapy patient: a portal account, two weeks of diary and mood, a thread.

Written through the engagement services, as the patient and as the psychologist (the
transaction's tenancy settings switch with the actor, as RLS expects).
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from fisioflow.auth.principal import Principal, Role, tenancy_for
from fisioflow.core.database import apply_tenancy
from fisioflow.engagement import messaging, service
from fisioflow.engagement.schemas import DiaryEntryIn, InternalNoteIn, MessageIn, MoodIn
from fisioflow.models import User

DEMO_PATIENT_EMAIL = "paciente3@demo.fisioflow.dev"
# (days ago, mood, energy, note)
MOODS = [
    (13, 2, 1, "Noite mal dormida."),
    (12, 2, 1, None),
    (11, 3, 1, None),
    (10, 2, 0, "Crise de ansiedade antes da reunião."),
    (9, 3, 2, None),
    (8, 3, 2, "Caminhei 20 minutos."),
    (7, 4, 2, None),
    (6, 3, 1, None),
    (5, 4, 2, "Consegui usar a respiração diafragmática."),
    (4, 4, 3, None),
    (3, 3, 2, None),
    (2, 4, 2, None),
    (1, 5, 3, "Dia muito bom com a família."),
]
# (days ago, title, text, mood, tags, private)
DIARY = [
    (
        12,
        "Primeira semana",
        "Comecei o diário como a psicóloga sugeriu. Percebo que a ansiedade piora à noite.",
        2,
        ["ansiedade", "sono"],
        False,
    ),
    (
        10,
        "Reunião",
        "Tive uma crise antes da reunião. Registrei os pensamentos automáticos: "
        "'vou falhar', 'todos vão perceber'.",
        2,
        ["ansiedade", "trabalho", "pensamentos automáticos"],
        False,
    ),
    (
        7,
        None,
        "Coisas que ainda não consigo contar na sessão.",
        3,
        ["pessoal"],
        True,
    ),
    (
        2,
        "Progresso",
        "Usei a respiração antes de falar em público e funcionou. Dormi sete horas.",
        4,
        ["conquista", "sono"],
        False,
    ),
]
# (days ago, from the patient?, text)
THREAD = [
    (9, True, "Boa tarde! Posso fazer o exercício de respiração mais de uma vez por dia?"),
    (9, False, "Pode sim, sempre que sentir a ansiedade subir. Anote no diário como foi."),
    (1, True, "Obrigada! Esta semana foi bem melhor."),
]
NOTE = "Boa adesão ao diário; reavaliar escala GAD-7 na próxima sessão."


def _at(now: dt.datetime, days_ago: int, hour: int = 21) -> dt.datetime:
    return (now - dt.timedelta(days=days_ago)).replace(hour=hour, minute=0, second=0)


async def load_engagement(
    session: AsyncSession,
    *,
    patient: Principal,
    patient_name: str,
    psychologist: Principal,
    psychologist_name: str,
) -> None:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    await apply_tenancy(session, tenancy_for(patient))
    for days, mood, energy, note in MOODS:
        body = MoodIn(mood=mood, energy=energy, note=note)
        await service.check_in(session, patient, body, created_at=_at(now, days, 12))
    for days, title, text, mood, tags, private in DIARY:
        entry = DiaryEntryIn(title=title, text=text, mood=mood, tags=tags, private=private)
        await service.create_diary_entry(session, patient, entry, created_at=_at(now, days))
    for days, from_patient, text in THREAD:
        actor = patient if from_patient else psychologist
        await apply_tenancy(session, tenancy_for(actor))
        await messaging.send_message(
            session,
            actor,
            None if from_patient else patient.patient_id,
            MessageIn(body=text),
            sender_name=patient_name if from_patient else psychologist_name,
            created_at=_at(now, days, 15 if from_patient else 18),
        )
    await apply_tenancy(session, tenancy_for(psychologist))
    await messaging.add_note(
        session,
        psychologist,
        _patient_id(patient),
        InternalNoteIn(body=NOTE),
        author_name=psychologist_name,
    )


def _patient_id(patient: Principal) -> uuid.UUID:
    assert patient.patient_id is not None
    return patient.patient_id


def portal_user(*, tenant: uuid.UUID, patient_id: uuid.UUID, name: str, hash_: str) -> User:
    return User(
        tenant_id=tenant,
        email=DEMO_PATIENT_EMAIL,
        full_name=name,
        role=Role.PATIENT.value,
        patient_id=patient_id,
        password_hash=hash_,
    )
