"""Audit trail (issue 7): what the write audit adds to creating a patient, and how fast
`fisioflow audit verify` walks one million events.

- `patient-create-unaudited`: the `patient-create` requests (own single-use bodies) with
  the audit trigger on `patient` disabled for the run (teardown enables it again); the
  "Overheads" table of RESULTS.md compares its p95 with `patient-create`.
- `audit-verify-1m`: a clinic whose chain holds 1,000,000 events (generated once through
  the real chain trigger: a third patient inserts, a third updates with old and new
  values, a third record reads), verified by the real CLI process, three times.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
import uuid
from collections.abc import Sequence

from benchmarks import bulk
from benchmarks.runner import log
from benchmarks.scenario import (
    Comparison,
    RequestSpec,
    Scenario,
    ScenarioSetupError,
    SetupContext,
    Target,
    Timing,
)
from benchmarks.scenarios import patients
from benchmarks.server import fisioflow_command
from fisioflow.core.database import OWNER_ROLE

ISSUE = "issue 7 (audit trail)"
# events in the chain per data profile: the issue's million, or a quick check of the path
EVENTS = {"full": 1_000_000, "small": 100_000}
BATCH = 100_000
VERIFY_RUNS = 3
VERIFY_TIMEOUT_S = 900


def _owner_dsn(ctx: SetupContext) -> str:
    if ctx.owner_dsn is None:
        raise ScenarioSetupError("no owner connection to the bench database")
    return ctx.owner_dsn


# -- patient-create-unaudited -------------------------------------------------------------


def _set_patient_audit(ctx: SetupContext, *, enabled: bool) -> None:
    with bulk.connect(_owner_dsn(ctx)) as conn:
        conn.execute(f"alter table patient {'enable' if enabled else 'disable'} trigger audit_row")


def _unaudited_setup(ctx: SetupContext) -> Sequence[RequestSpec]:
    specs = patients.create_specs(ctx, seed=f"{ctx.run_id}-unaudited")
    _set_patient_audit(ctx, enabled=False)
    ctx.notes.append(
        "The audit trigger on `patient` is disabled for this run only (enabled again "
        "afterwards): the baseline of the audit overhead."
    )
    return specs


def _enable_audit(ctx: SetupContext) -> None:
    _set_patient_audit(ctx, enabled=True)


PATIENT_CREATE_UNAUDITED = Scenario(
    name="patient-create-unaudited",
    description="patient-create without the write audit on `patient` (baseline)." + patients.AT_ONE,
    setup=_unaudited_setup,
    teardown=_enable_audit,
    concurrency=1,
    single_use=True,
)


# -- audit-verify-1m ------------------------------------------------------------------------

GENERATE = """
with g as (
    select n, gen_random_uuid() as pid,
           jsonb_build_object(
               'tenant_id', app_current_tenant(), 'full_name', 'Paciente Benchmark ' || n,
               'social_name', null, 'cpf', lpad((n::bigint * 7919 %% 99999999999)::text, 11, '0'),
               'birth_on', '1980-01-01', 'sex', 'female', 'phone',
               '+55119' || lpad((n %% 100000000)::text, 8, '0'),
               'email', 'paciente' || n || '@example.com',
               'address', jsonb_build_object('street', 'Rua das Flores', 'number',
                   (n %% 999)::text, 'city', 'São Paulo', 'state', 'SP',
                   'postal_code', '01310100'),
               'status', 'active', 'version', 1, 'created_at', now(), 'updated_at', now()
           ) as doc
    from generate_series(%(start)s, %(stop)s) n
)
insert into audit_event (tenant_id, operation, table_name, record_id, patient_id,
                         old_values, new_values, changed_fields, detail)
select app_current_tenant(), (array['INSERT', 'UPDATE', 'READ'])[n %% 3 + 1],
       case n %% 3 when 2 then 'record_entry' else 'patient' end, pid, pid,
       case n %% 3 when 1 then doc end,
       case n %% 3 when 0 then doc
                  when 1 then doc || '{"phone": "+5511988887777", "version": 2}' end,
       case n %% 3 when 1 then array['phone', 'updated_at', 'version'] end,
       case n %% 3 when 2 then jsonb_build_object(
           'ids', jsonb_build_array(gen_random_uuid(), gen_random_uuid())) end
from g order by n
"""


def _slug(events: int) -> str:
    return f"bench-audit-{events // 1000}k"


def _clinic(ctx: SetupContext, conn: bulk.Connection, slug: str) -> uuid.UUID:
    existing = bulk.clinic_id(conn, slug)
    if existing is not None:
        return existing
    response = ctx.client.post(
        "/api/v1/signup",
        json={
            "clinic": {"name": "Bench Audit", "slug": slug},
            "admin": {
                "full_name": "Bench Admin",
                "email": f"admin@{slug}.example.com",
                "password": "bench audit password 2026",
            },
        },
    )
    if response.status_code != 201:
        raise ScenarioSetupError(f"signup of {slug}: {response.status_code} {response.text[:300]}")
    return uuid.UUID(response.json()["clinic"]["id"])


def _events(conn: bulk.Connection, clinic_id: uuid.UUID) -> int:
    with bulk.tenant_transaction(conn, clinic_id):
        row = conn.execute("select count(*) from audit_event").fetchone()
    return int(row[0]) if row else 0


def _fill(conn: bulk.Connection, clinic_id: uuid.UUID, have: int, events: int) -> float:
    started = time.perf_counter()
    while have < events:
        stop = min(events, have + BATCH)
        with bulk.tenant_transaction(conn, clinic_id):
            conn.execute("select set_config('app.actor', 'bench:audit-datagen', true)")
            conn.execute(GENERATE, {"start": have + 1, "stop": stop})
        have = stop
        log(f"[audit-verify-1m] {have:,} / {events:,} audit events")
    return time.perf_counter() - started


def _verify_setup(ctx: SetupContext) -> Sequence[RequestSpec]:
    events = EVENTS[ctx.data_profile]
    ctx.shared["audit_slug"] = slug = _slug(events)
    with bulk.connect(_owner_dsn(ctx)) as conn:
        clinic_id = _clinic(ctx, conn, slug)
        have = _events(conn, clinic_id)
        if have < events:
            seconds = _fill(conn, clinic_id, have, events)
            ctx.notes.append(
                f"Generated {events - have:,} events through the chain trigger in {seconds:.0f} s "
                f"({(events - have) / seconds:,.0f} events/s, one transaction per {BATCH:,})."
            )
        ctx.shared["audit_events"] = _events(conn, clinic_id)
    return []


def _verify_measure(ctx: SetupContext) -> Timing:
    dsn = _owner_dsn(ctx)
    env = {
        "DATABASE_URL": dsn,
        "APP_DATABASE_URL": dsn.replace(f"//{OWNER_ROLE}@", "//fisioflow_app@", 1),
        "FISIOFLOW_LOG_LEVEL": "WARNING",
        "PATH": "/usr/bin:/bin",
    }
    events, slug = int(ctx.shared["audit_events"]), str(ctx.shared["audit_slug"])
    times, failures, detail, output = [], 0, "", ""
    for _ in range(VERIFY_RUNS):
        started = time.perf_counter()
        done = subprocess.run(
            [*fisioflow_command(), "audit", "verify", "--clinic", slug],
            env=env,
            cwd=tempfile.gettempdir(),
            capture_output=True,
            text=True,
            timeout=VERIFY_TIMEOUT_S,
            check=False,
        )
        times.append(time.perf_counter() - started)
        output = done.stdout.strip()
        if done.returncode != 0 or "chain intact" not in output:
            failures, detail = failures + 1, (output + done.stderr)[:300]
    ctx.notes.append(
        f"`fisioflow audit verify --clinic {slug}` as a process over {events:,} events, "
        f"{VERIFY_RUNS} runs; "
        f"events/s = events ÷ wall time (process start and connection included); "
        f"latency columns are whole runs. It printed: `{output}`."
    )
    return Timing(events, tuple(times), failures=failures, failure_detail=detail)


AUDIT_VERIFY = Scenario(
    name="audit-verify-1m",
    description="`fisioflow audit verify` over one clinic's chain of 1,000,000 audit events "
    "(100,000 with `--data-profile small`; hash recomputed for every event, in PostgreSQL). "
    "Req/s here = events verified per second.",
    setup=_verify_setup,
    measure=_verify_measure,
    target=Target(min_rps=50_000, source=f"{ISSUE}: ≥ 50,000 events/s for 1 million events"),
    concurrency=1,
)

AUDIT_SCENARIOS = (PATIENT_CREATE_UNAUDITED, AUDIT_VERIFY)

COMPARISONS = (
    Comparison(
        label="Write audit on create patient",
        baseline=PATIENT_CREATE_UNAUDITED.name,
        measured=patients.PATIENT_CREATE.name,
        max_added=0.25,
        source=ISSUE,
    ),
)
