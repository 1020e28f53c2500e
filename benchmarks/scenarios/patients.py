"""Patient scenarios on the generated data set (benchmarks/datagen.py): search by name
fragment in the largest clinic, the chart (patient + last 20 record entries), and its two
halves, and patient creation.

Requests are built from real rows of the data set (names, ids), read as the owner role
inside the clinic's tenancy, so every search fragment matches at least its patient and
every chart has at least 20 entries. Queries and ids are drawn with fixed seeds, so two
runs on the same data send the same requests.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import quote

import psycopg

from benchmarks import bulk, datagen
from benchmarks.datagen import Clinic, Dataset
from benchmarks.scenario import (
    RequestSpec,
    Scenario,
    ScenarioSetupError,
    ScenarioSkipped,
    SetupContext,
    Target,
    expect_status,
    require_endpoint,
)
from benchmarks.scenarios import patient_bodies
from benchmarks.scenarios.search_terms import fragment, kind_counts

SEARCH_QUERIES = 2_000
READ_PATIENTS = 1_000
CHART_LIMIT = 20
CREATES_PER_SECOND_CAP = 400  # bodies prepared per planned second; far above measured rates
ISSUE = "issue 4 (patients and records): 2 cores"


def dataset(ctx: SetupContext) -> Dataset:
    """Generate (first time) or reuse the data set of `ctx.data_profile`, once per run."""
    cached: Dataset | None = ctx.shared.get("dataset")
    if cached is not None:
        return cached
    if ctx.owner_dsn is None:
        raise ScenarioSetupError("no owner connection to the bench database for datagen")
    try:
        data = datagen.ensure_dataset(ctx.client, ctx.owner_dsn, datagen.PROFILES[ctx.data_profile])
    except (RuntimeError, psycopg.Error) as exc:
        raise ScenarioSetupError(f"data generation failed: {exc}") from exc
    ctx.shared["dataset"] = data
    ctx.shared.setdefault("report", {})["data"] = data.report()
    return data


def auth(ctx: SetupContext, clinic: Clinic) -> dict[str, str]:
    key = f"token:{clinic.plan.slug}"
    if key not in ctx.shared:
        login = ctx.client.post("/api/v1/auth/login", json=clinic.credentials)
        require_endpoint(login, "POST /api/v1/auth/login")
        expect_status(login, "POST /api/v1/auth/login", 200)
        ctx.shared[key] = {"Authorization": f"Bearer {login.json()['access_token']}"}
    headers: dict[str, str] = ctx.shared[key]
    return headers


def rows(ctx: SetupContext, clinic: Clinic, query: str, *params: Any) -> list[tuple[Any, ...]]:
    """Run a read in the clinic's tenancy with a fixed random seed (stable samples)."""
    assert ctx.owner_dsn is not None
    with bulk.connect(ctx.owner_dsn) as conn, bulk.tenant_transaction(conn, clinic.id):
        conn.execute("select setseed(0.2026)")
        return conn.execute(query, params).fetchall()


# -- patient-search ---------------------------------------------------------------------


def search_path(q: str) -> str:
    return f"/api/v1/patients?q={quote(q)}&limit=20"


def _search_setup(ctx: SetupContext) -> Sequence[RequestSpec]:
    clinic = dataset(ctx).largest
    headers = auth(ctx, clinic)
    names = rows(
        ctx,
        clinic,
        "select full_name from patient where archived_at is null order by random() limit %s",
        SEARCH_QUERIES,
    )
    rng = random.Random(2026)
    queries = [fragment(name, rng) for (name,) in names]
    probe = ctx.client.get(search_path(queries[0][1]), headers=headers)
    require_endpoint(probe, "GET /api/v1/patients")
    expect_status(probe, "GET /api/v1/patients?q=", 200)
    ctx.notes += _search_notes(ctx, clinic, queries)
    return [RequestSpec("GET", search_path(q), headers) for _, q in queries]


MATCHES = """
select count(*) from patient
where archived_at is null
  and (f_unaccent(lower(full_name)) %%> f_unaccent(lower(%s))
       or f_unaccent(lower(social_name)) %%> f_unaccent(lower(%s)))
"""


def _search_notes(ctx: SetupContext, clinic: Clinic, queries: list[tuple[str, str]]) -> list[str]:
    sample = [q for _, q in queries[:: max(1, len(queries) // 60)]]
    assert ctx.owner_dsn is not None
    with bulk.connect(ctx.owner_dsn) as conn, bulk.tenant_transaction(conn, clinic.id):
        conn.execute("select set_config('pg_trgm.word_similarity_threshold', '0.35', true)")
        counts = sorted(int(conn.execute(MATCHES, [q, q]).fetchone()[0]) for q in sample)  # type: ignore[index]
    median, p90 = counts[len(counts) // 2], counts[int(len(counts) * 0.9)]
    return [
        f"{len(queries):,} distinct queries in {clinic.plan.slug} "
        f"({clinic.plan.patients:,} patients), rotated: {kind_counts(queries)}; "
        f"e.g. {', '.join(repr(q) for _, q in queries[:4])}.",
        f"Rows matching the name predicate (word similarity ≥ 0.35), over {len(counts)} of "
        f"them: median {median:,}, 90th percentile {p90:,}, max {counts[-1]:,}; all of them are "
        "scored and sorted before the first page of 20 is returned.",
    ]


# -- patient-read, patient-records, patient-chart -----------------------------------------


def _chart_patients(ctx: SetupContext, clinic: Clinic) -> list[str]:
    problem = datagen.record_schema_problem_for(ctx.owner_dsn or "")
    if problem:
        raise ScenarioSkipped(f"no record entries to read: {problem}")
    found = rows(
        ctx,
        clinic,
        "select patient_id from record_entry group by patient_id having count(*) >= %s "
        "order by random() limit %s",
        CHART_LIMIT,
        READ_PATIENTS,
    )
    if not found:
        raise ScenarioSetupError(f"no patient in {clinic.plan.slug} has {CHART_LIMIT} entries")
    return [str(patient_id) for (patient_id,) in found]


def _records_path(patient_id: str) -> str:
    return f"/api/v1/patients/{patient_id}/records?limit={CHART_LIMIT}"


def _probe_records(ctx: SetupContext, patient_id: str, headers: dict[str, str]) -> None:
    response = ctx.client.get(_records_path(patient_id), headers=headers)
    require_endpoint(response, "GET /api/v1/patients/{id}/records")
    expect_status(response, "GET /api/v1/patients/{id}/records", 200)
    items = response.json().get("items", [])
    if len(items) != CHART_LIMIT:
        raise ScenarioSetupError(f"records of {patient_id}: {len(items)} items, not {CHART_LIMIT}")
    ctx.notes.append(
        f"{READ_PATIENTS:,} patients of the largest clinic with 20–40 entries each, rotated; "
        f"a page of {CHART_LIMIT} entries is about {len(response.content) // 1024} KiB of JSON."
    )


def _read_setup(ctx: SetupContext) -> Sequence[RequestSpec]:
    clinic = dataset(ctx).largest
    headers = auth(ctx, clinic)
    ids = rows(ctx, clinic, "select id from patient order by random() limit %s", READ_PATIENTS)
    probe = ctx.client.get(f"/api/v1/patients/{ids[0][0]}", headers=headers)
    require_endpoint(probe, "GET /api/v1/patients/{id}")
    expect_status(probe, "GET /api/v1/patients/{id}", 200)
    ctx.notes.append(f"{len(ids):,} random patients of {clinic.plan.slug}, rotated.")
    return [RequestSpec("GET", f"/api/v1/patients/{pid}", headers) for (pid,) in ids]


def _records_setup(ctx: SetupContext) -> Sequence[RequestSpec]:
    clinic = dataset(ctx).largest
    headers = auth(ctx, clinic)
    ids = _chart_patients(ctx, clinic)
    _probe_records(ctx, ids[0], headers)
    return [RequestSpec("GET", _records_path(pid), headers) for pid in ids]


def _chart_setup(ctx: SetupContext) -> Sequence[RequestSpec]:
    clinic = dataset(ctx).largest
    headers = auth(ctx, clinic)
    ids = _chart_patients(ctx, clinic)
    _probe_records(ctx, ids[0], headers)
    return [
        RequestSpec(
            "GET",
            f"/api/v1/patients/{pid}",
            headers,
            then=(RequestSpec("GET", _records_path(pid), headers),),
        )
        for pid in ids
    ]


# -- patient-create ---------------------------------------------------------------------


def _create_setup(ctx: SetupContext) -> Sequence[RequestSpec]:
    return create_specs(ctx, seed=ctx.run_id)


def create_specs(ctx: SetupContext, *, seed: str) -> Sequence[RequestSpec]:
    """Single-use POST /api/v1/patients bodies; `seed` keeps runs and variants apart."""
    data = dataset(ctx)
    clinic = data.clinics[1] if len(data.clinics) > 1 else data.largest
    headers = auth(ctx, clinic)
    practitioners = [str(p) for (p,) in rows(ctx, clinic, "select id from practitioner")]
    taken = [cpf for (cpf,) in rows(ctx, clinic, "select cpf from patient where cpf is not null")]
    count = int(ctx.planned_s * CREATES_PER_SECOND_CAP) + 1
    bodies = patient_bodies.generate(
        count, seed=seed, practitioners=practitioners, taken_cpfs=taken
    )
    probe = ctx.client.post("/api/v1/patients", json=bodies[0], headers=headers)
    require_endpoint(probe, "POST /api/v1/patients")
    expect_status(probe, "POST /api/v1/patients", 201)
    ctx.notes.append(
        f"Into {clinic.plan.slug} (started at {clinic.plan.patients:,} patients; each run adds "
        f"the ones it creates). {count - 1:,} distinct single-use bodies prepared: pt-BR names, "
        "valid CPFs (half with punctuation), phones (half national format), e-mail, address, "
        "a practitioner for most, a guardian for minors; each create also runs the CPF "
        "uniqueness and near-duplicate (name + birth date) checks."
    )
    return [RequestSpec.json("POST", "/api/v1/patients", b, headers=headers) for b in bodies[1:]]


LOADED = 8
AT_ONE = (
    " One connection: the latency one user sees, without queueing behind others (one "
    "server process serves every request)."
)


def loaded(scenario: Scenario) -> Scenario:
    """The same requests from LOADED connections at once, recorded without a target."""
    return replace(
        scenario,
        name=f"{scenario.name}-loaded",
        description=f"{scenario.description.removesuffix(AT_ONE)} {LOADED} connections at once "
        "(saturation: latency includes queueing).",
        target=None,
        concurrency=LOADED,
    )


PATIENT_SEARCH = Scenario(
    name="patient-search",
    description="GET /api/v1/patients?q=<name fragment>&limit=20 in the 100,000-patient clinic: "
    "ranked trigram + unaccent search, first page." + AT_ONE,
    setup=_search_setup,
    target=Target(max_p95_ms=25, source=f"{ISSUE}, 100,000 patients", p95_inclusive=True),
    concurrency=1,
)

PATIENT_READ = Scenario(
    name="patient-read",
    description="GET /api/v1/patients/{id} in the 100,000-patient clinic (half of the chart)."
    + AT_ONE,
    setup=_read_setup,
    concurrency=1,
)

PATIENT_RECORDS = Scenario(
    name="patient-records",
    description="GET /api/v1/patients/{id}/records?limit=20: the newest 20 entries of a "
    "timeline (the other half of the chart)." + AT_ONE,
    setup=_records_setup,
    concurrency=1,
)

PATIENT_CHART = Scenario(
    name="patient-chart",
    description="Opening a chart: GET /api/v1/patients/{id} and GET "
    "/api/v1/patients/{id}/records?limit=20, pipelined on one connection; the latency is "
    "until both answers are in, and each answer counts as one request (charts/s = req/s ÷ 2)."
    + AT_ONE,
    setup=_chart_setup,
    target=Target(max_p95_ms=20, source=ISSUE, p95_inclusive=True),
    concurrency=1,
)

PATIENT_CREATE = Scenario(
    name="patient-create",
    description="POST /api/v1/patients with varied, valid bodies into a 10,000-patient clinic."
    + AT_ONE,
    setup=_create_setup,
    concurrency=1,
    single_use=True,
)

PATIENT_SCENARIOS = (
    PATIENT_SEARCH,
    PATIENT_READ,
    PATIENT_RECORDS,
    PATIENT_CHART,
    PATIENT_CREATE,
    loaded(PATIENT_SEARCH),
    loaded(PATIENT_CHART),
    loaded(PATIENT_CREATE),
)
