"""Home-exercise scenarios on the generated data set: a patient logs a session from the
portal, and the practitioner opens a patient's adherence report over a year of daily
logs, with about 5 million logs across the clinics (benchmarks/datagen.py, full profile).
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Sequence

from benchmarks import bulk, datagen, fake_programs
from benchmarks.datagen import Clinic
from benchmarks.scenario import (
    Comparison,
    RequestSpec,
    Scenario,
    ScenarioSetupError,
    ScenarioSkipped,
    SetupContext,
    Target,
    expect_status,
    require_endpoint,
)
from benchmarks.scenarios.patients import AT_ONE, auth, dataset, loaded, rows

ISSUE = "issue 6 (home exercise programs): 5 million logs"
LOGGING_PATIENTS = 60
REPORT_PATIENTS = 500
LOGS_PER_SECOND_CAP = 400  # single-use bodies prepared per planned second
LOGS = "/api/v1/me/exercise-logs"


def _clinic(ctx: SetupContext) -> Clinic:
    data = dataset(ctx)
    problem = datagen.program_schema_problem_for(ctx.owner_dsn or "")
    if problem:
        raise ScenarioSkipped(f"no exercise programs: {problem}")
    return data.largest


PROGRAM_PATIENTS = """
select u.email, p.patient_id, array_agg(v.id order by v.version, v.id)
from prescription p
join user_account u on u.tenant_id = p.tenant_id and u.patient_id = p.patient_id
join prescription_item_version v on v.tenant_id = p.tenant_id and v.patient_id = p.patient_id
where p.status = 'active' and v.superseded_at is null
group by u.email, p.patient_id
order by random() limit %s
"""


def _portal_login(ctx: SetupContext, clinic: Clinic, email: str) -> dict[str, str]:
    login = ctx.client.post(
        "/api/v1/auth/login",
        json={"clinic_slug": clinic.plan.slug, "email": email, "password": datagen.PASSWORD},
    )
    expect_status(login, "POST /api/v1/auth/login (patient)", 200)
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


def _log_setup(ctx: SetupContext) -> Sequence[RequestSpec]:
    clinic = _clinic(ctx)
    patients = rows(ctx, clinic, PROGRAM_PATIENTS, LOGGING_PATIENTS)
    if not patients:
        raise ScenarioSetupError(f"no program patients in {clinic.plan.slug}")
    logins = [(_portal_login(ctx, clinic, email), versions) for email, _, versions in patients]
    rng = random.Random(ctx.run_id)
    count = int(ctx.planned_s * LOGS_PER_SECOND_CAP) + 1
    now = dt.datetime.now(dt.UTC)
    specs = []
    for n in range(count):
        headers, versions = logins[n % len(logins)]
        body = {
            "item_version_id": str(rng.choice(versions)),
            "performed_at": (now - dt.timedelta(minutes=rng.randint(5, 600))).isoformat(),
            "sets_done": 3,
            "reps_done": rng.randint(8, 12),
            "pain_before": rng.randint(0, 6),
            "pain_after": rng.randint(0, 6),
            "difficulty": rng.randint(2, 8),
        }
        # unique across runs and across the scenarios of one run (the -loaded variant)
        key = {"Idempotency-Key": f"{ctx.run_id}-{uuid.uuid4().hex}"}
        specs.append(RequestSpec.json("POST", LOGS, body, headers={**headers, **key}))
    probe = ctx.client.post(LOGS, content=specs[0].body, headers=dict(specs[0].headers))
    require_endpoint(probe, f"POST {LOGS}")
    expect_status(probe, f"POST {LOGS}", 201)
    ctx.notes.append(
        f"{len(logins)} portal patients of {clinic.plan.slug}, each with a year of daily logs; "
        f"{count - 1:,} single-use bodies with a unique Idempotency-Key (the app's retry key), "
        "pain 0-6; each log also runs the pain-trend check (last 7 days of the patient)."
    )
    return specs[1:]


def _report_path(patient_id: object) -> str:
    today = dt.date.today()
    first = today - dt.timedelta(days=fake_programs.DAYS - 1)
    return f"/api/v1/patients/{patient_id}/adherence?from={first}&to={today}"


def _report_setup(ctx: SetupContext) -> Sequence[RequestSpec]:
    clinic = _clinic(ctx)
    headers = auth(ctx, clinic)
    found = rows(
        ctx,
        clinic,
        "select patient_id from prescription where status = 'active' order by random() limit %s",
        REPORT_PATIENTS,
    )
    if not found:
        raise ScenarioSetupError(f"no program patients in {clinic.plan.slug}")
    probe = ctx.client.get(_report_path(found[0][0]), headers=headers)
    require_endpoint(probe, "GET /api/v1/patients/{id}/adherence")
    expect_status(probe, "GET /api/v1/patients/{id}/adherence", 200)
    body = probe.json()
    ctx.notes.append(
        f"{len(found)} program patients of {clinic.plan.slug}, rotated; one year "
        f"({fake_programs.DAYS} days), e.g. {body['overall']['logged']} logs, "
        f"{len(body['weeks'])} weeks, {len(body['pain'])} pain days; "
        f"{len(probe.content) // 1024} KiB of JSON."
    )
    return [RequestSpec("GET", _report_path(pid), headers) for (pid,) in found]


EXERCISE_LOG = Scenario(
    name="exercise-log",
    description=f"POST {LOGS} from the patient portal (Idempotency-Key, pain alerts check) "
    "in a clinic with 3,000 program patients, 5 million logs in the database." + AT_ONE,
    setup=_log_setup,
    target=Target(max_p95_ms=25, source=ISSUE, p95_inclusive=True),
    concurrency=1,
    single_use=True,
)

EXERCISE_ADHERENCE = Scenario(
    name="exercise-adherence",
    description="GET /api/v1/patients/{id}/adherence over one year for a patient with a year "
    "of daily logs (2 items): per item, per week, pain trend." + AT_ONE,
    setup=_report_setup,
    target=Target(max_p95_ms=50, source=ISSUE, p95_inclusive=True),
    concurrency=1,
)

AUDITED = ("exercise_log", "alert")


def _set_log_audit(ctx: SetupContext, *, enabled: bool) -> None:
    with bulk.connect(ctx.owner_dsn or "") as conn:
        for table in AUDITED:
            action = "enable" if enabled else "disable"
            conn.execute(f"alter table {table} {action} trigger audit_row")


def _unaudited_setup(ctx: SetupContext) -> Sequence[RequestSpec]:
    specs = _log_setup(ctx)
    _set_log_audit(ctx, enabled=False)
    ctx.notes.append(
        "The audit triggers on `exercise_log` and `alert` are disabled for this run only "
        "(enabled again afterwards): the baseline of the audit overhead."
    )
    return specs


def _enable_audit(ctx: SetupContext) -> None:
    _set_log_audit(ctx, enabled=True)


EXERCISE_LOG_UNAUDITED = Scenario(
    name="exercise-log-unaudited",
    description="exercise-log without the write audit on `exercise_log` and `alert` "
    "(baseline)." + AT_ONE,
    setup=_unaudited_setup,
    teardown=_enable_audit,
    concurrency=1,
    single_use=True,
)

# issue 7 asks for the write-audit overhead on logging an exercise too
COMPARISONS = (
    Comparison(
        label="Write audit on log exercise",
        baseline=EXERCISE_LOG_UNAUDITED.name,
        measured=EXERCISE_LOG.name,
        max_added=0.25,
        source="issue 7 (audit trail)",
    ),
)

EXERCISE_SCENARIOS = (
    EXERCISE_LOG,
    EXERCISE_LOG_UNAUDITED,
    EXERCISE_ADHERENCE,
    loaded(EXERCISE_LOG),
    loaded(EXERCISE_ADHERENCE),
)
