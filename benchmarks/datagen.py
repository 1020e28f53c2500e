"""Benchmark data set: clinics full of pt-BR patients, practitioners, record entries and
home-exercise programs (about 5 million logged sessions in the full profile).

    python -m benchmarks.datagen --profile full    # 1 x 100,000 + 10 x 10,000 patients
    python -m benchmarks.datagen --profile small   # 1 x 10,000 + 2 x 1,000 (quick runs)

Run alone it starts the bench server (`fisioflow migrate` + `fisioflow serve` on
benchmarks/.data) like `make bench`; scenarios call `ensure_dataset` from their setup.

Clinics and their admins are created through the public API (`POST /api/v1/signup`), so
logins go through the real code path. Staff, patients and record entries are bulk rows:
COPY as the owner role, one transaction per clinic and part (see `bulk.py` for why via a
staging table). Idempotent: a clinic that already has patients (or record entries) is
left alone, so reruns reuse the data; a part is all-or-nothing per clinic. Record
entries are generated only when the `record_entry` table exists with the columns this
module knows, and can be added later to clinics whose patients were generated earlier.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
from faker import Faker
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from benchmarks import bulk, fake_programs, fake_records, fakes
from benchmarks.bulk import Connection

DATA_DIR = Path(__file__).resolve().parent / ".data"
PASSWORD = "bench-Quartz-Lantern-Meadow-42"  # noqa: S105 - throwaway accounts on a bench DB
CHART_ENTRIES = (20, 40)  # entries per "chart" patient: every chart read finds >= 20
OTHER_ENTRIES = (0, 0, 1, 2, 3)  # everyone else: a sparse history
Advance = Callable[[int], None]


@dataclass(frozen=True)
class ClinicPlan:
    slug: str
    name: str
    patients: int
    practitioners: int
    charts: int  # patients with CHART_ENTRIES record entries
    programs: int = 0  # patients with a home-exercise program and a year of logged sessions

    @property
    def admin_email(self) -> str:
        return f"admin@{self.slug}.example.com"


@dataclass(frozen=True)
class Profile:
    name: str
    clinics: tuple[ClinicPlan, ...]

    @property
    def largest(self) -> ClinicPlan:
        return max(self.clinics, key=lambda c: c.patients)

    def describe(self) -> str:
        sizes: dict[int, int] = {}
        for plan in self.clinics:
            sizes[plan.patients] = sizes.get(plan.patients, 0) + 1
        return " + ".join(f"{n} x {size:,}" for size, n in sizes.items()) + " patients"


def _profile(
    name: str, big: int, small: int, clinics: int, *, charts: int, programs: tuple[int, int]
) -> Profile:
    prefix = "bench" if name == "full" else f"bench-{name}"
    plans = [
        ClinicPlan(
            f"{prefix}-{big // 1000}k", f"Clínica Carga {big:,}", big, 40, charts, programs[0]
        )
    ]
    plans += [
        ClinicPlan(
            f"{prefix}-{small // 1000}k-{n:02d}",
            f"Clínica Carga {n:02d}",
            small,
            6,
            200,
            programs[1],
        )
        for n in range(1, clinics + 1)
    ]
    return Profile(name, tuple(plans))


# Full: 8,000 program patients x 2 daily items x 365 days x 86 % done = ~5.0 million logs.
PROFILES = {
    "full": _profile("full", 100_000, 10_000, 10, charts=2_000, programs=(3_000, 500)),
    "small": _profile("small", 10_000, 1_000, 2, charts=500, programs=(300, 50)),
}


@dataclass(frozen=True)
class Clinic:
    plan: ClinicPlan
    id: uuid.UUID

    @property
    def credentials(self) -> dict[str, str]:
        return {"clinic_slug": self.plan.slug, "email": self.plan.admin_email, "password": PASSWORD}


@dataclass
class Stats:
    """What was generated and how long it took; kept next to the data it describes."""

    profile: str
    phases: dict[str, dict[str, Any]] = field(default_factory=dict)
    records: str = "not generated"
    programs: str = "not generated"

    @classmethod
    def path(cls, profile: str) -> Path:
        return DATA_DIR / f"datagen-{profile}.json"

    @classmethod
    def load(cls, profile: str) -> Stats:
        try:
            return cls(**json.loads(cls.path(profile).read_text()))
        except (OSError, ValueError, TypeError):
            return cls(profile)

    def save(self) -> None:
        self.path(self.profile).parent.mkdir(parents=True, exist_ok=True)
        self.path(self.profile).write_text(json.dumps(asdict(self), indent=2) + "\n")

    def add(self, phase: str, *, rows: int, seconds: float) -> None:
        at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        self.phases[phase] = {"rows": rows, "seconds": round(seconds, 1), "at": at}

    def describe(self) -> str:
        parts = [
            f"{name}: {p['rows']:,} rows in {p['seconds']:.0f} s ({p['at']})"
            for name, p in self.phases.items()
        ]
        return "; ".join(parts) or "reused (generation time not recorded)"


@dataclass
class Dataset:
    profile: Profile
    clinics: list[Clinic]
    stats: Stats
    rows: dict[str, int] = field(default_factory=dict)

    def report(self) -> dict[str, Any]:
        """For RESULTS.md: what the scenarios ran against and how long generating it took."""
        counts = ", ".join(f"{table} {n:,}" for table, n in self.rows.items())
        return {
            "summary": f"profile `{self.profile.name}`: {len(self.clinics)} clinics, "
            f"{self.profile.describe()} as generated; rows now: {counts}",
            "details": [
                f"generation (COPY via staging tables, one transaction per clinic and part): "
                f"{self.stats.describe()}",
                f"record entries: {self.stats.records}",
                f"exercise programs: {self.stats.programs}",
            ],
        }

    def clinic(self, slug: str) -> Clinic:
        return next(c for c in self.clinics if c.plan.slug == slug)

    @property
    def largest(self) -> Clinic:
        return self.clinic(self.profile.largest.slug)


# -- orchestration ------------------------------------------------------------------------


def ensure_dataset(
    client: httpx.Client, dsn: str, profile: Profile, *, console: Console | None = None
) -> Dataset:
    """Create what is missing (clinics, then people, then record entries); reuse the rest."""
    console = console or Console(stderr=True)
    stats = Stats.load(profile.name)
    with bulk.connect(dsn) as conn:
        clinics = [_ensure_clinic(client, conn, plan) for plan in profile.clinics]
        records_problem = record_schema_problem(conn)
        people = [c for c in clinics if _is_empty(conn, c, "patient")]
        records = [] if records_problem else [c for c in clinics if _is_empty(conn, c, T_RECORD)]
        programs_problem = program_schema_problem(conn)
        programs = [] if programs_problem else [c for c in clinics if _needs_programs(conn, c)]
        if people or records or programs:
            with _progress(console) as progress:
                _run_phase(progress, stats, "staff and patients", people, _fill_people, conn)
                _run_phase(progress, stats, "record entries", records, _fill_records, conn)
                _run_phase(progress, stats, "exercise programs", programs, _fill_programs, conn)
    if people or records or programs:
        started = time.perf_counter()
        bulk.vacuum_analyze(dsn, ("user_account", "practitioner", "patient", T_RECORD))
        if not programs_problem:
            bulk.vacuum_analyze(dsn, PROGRAM_TABLES)
        stats.add("vacuum analyze", rows=0, seconds=time.perf_counter() - started)
    stats.records = records_problem or "generated"
    stats.programs = programs_problem or "generated"
    stats.save()
    with bulk.connect(dsn) as conn:
        tables = ["practitioner", "patient"] + ([] if records_problem else [T_RECORD])
        tables += [] if programs_problem else ["prescription", T_LOG]
        rows = {t: sum(_count(conn, c, t) for c in clinics) for t in tables}
    return Dataset(profile, clinics, stats, rows)


def record_schema_problem_for(dsn: str) -> str | None:
    with bulk.connect(dsn) as conn:
        return record_schema_problem(conn)


T_RECORD = "record_entry"


def record_schema_problem(conn: Connection) -> str | None:
    """Why record entries cannot be generated on this schema, or None when they can."""
    columns = bulk.table_columns(conn, T_RECORD)
    if not columns:
        return "table record_entry does not exist (migration 0004_records not applied)"
    missing = [c for c in fake_records.RECORD_COLUMNS if c not in columns]
    unknown = [
        c for c, required in columns.items() if required and c not in fake_records.RECORD_COLUMNS
    ]
    if missing or unknown:
        return f"record_entry changed: missing {missing}, unknown required {unknown}"
    return None


T_LOG = "exercise_log"
PROGRAM_TABLES = ("prescription", "prescription_item", "prescription_item_version", T_LOG)


def program_schema_problem_for(dsn: str) -> str | None:
    with bulk.connect(dsn) as conn:
        return program_schema_problem(conn)


def program_schema_problem(conn: Connection) -> str | None:
    """Why exercise programs cannot be generated on this schema, or None when they can."""
    for table, columns in (
        ("prescription", fake_programs.PRESCRIPTION_COLUMNS),
        ("prescription_item_version", fake_programs.VERSION_COLUMNS),
        (T_LOG, fake_programs.LOG_COLUMNS),
    ):
        found = bulk.table_columns(conn, table)
        if not found:
            return f"table {table} does not exist (migration 0016_exercise not applied)"
        missing = [c for c in columns if c not in found]
        unknown = [c for c, required in found.items() if required and c not in columns]
        if missing or unknown:
            return f"{table} changed: missing {missing}, unknown required {unknown}"
    return None


def _needs_programs(conn: Connection, clinic: Clinic) -> bool:
    return clinic.plan.programs > 0 and _is_empty(conn, clinic, "prescription")


def _ensure_clinic(client: httpx.Client, conn: Connection, plan: ClinicPlan) -> Clinic:
    existing = bulk.clinic_id(conn, plan.slug)
    if existing is not None:
        return Clinic(plan, existing)
    payload = {
        "clinic": {"name": plan.name, "slug": plan.slug},
        "admin": {"full_name": "Bench Admin", "email": plan.admin_email, "password": PASSWORD},
    }
    response = client.post("/api/v1/signup", json=payload)
    if response.status_code != 201:
        raise RuntimeError(f"signup of {plan.slug}: {response.status_code} {response.text[:300]}")
    return Clinic(plan, uuid.UUID(response.json()["clinic"]["id"]))


def _count(conn: Connection, clinic: Clinic, table: str) -> int:
    with bulk.tenant_transaction(conn, clinic.id):
        return bulk.count(conn, table)


def _is_empty(conn: Connection, clinic: Clinic, table: str) -> bool:
    return _count(conn, clinic, table) == 0


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


Fill = Callable[[Connection, Clinic, Advance], int]


def _run_phase(
    progress: Progress,
    stats: Stats,
    title: str,
    clinics: list[Clinic],
    fill: Fill,
    conn: Connection,
) -> None:
    if not clinics:
        return
    expected = sum(_expected_rows(title, c.plan) for c in clinics)
    task = progress.add_task(f"{title} ({len(clinics)} clinics)", total=expected)
    started, rows = time.perf_counter(), 0
    for clinic in clinics:
        progress.update(task, description=f"{title}: {clinic.plan.slug}")
        rows += fill(conn, clinic, lambda n: progress.advance(task, n))
    progress.update(task, description=f"{title} ({len(clinics)} clinics)", total=rows)
    stats.add(title, rows=rows, seconds=time.perf_counter() - started)
    stats.save()  # a later phase may fail; what was committed stays described


def _expected_rows(title: str, plan: ClinicPlan) -> int:
    if title.startswith("exercise"):
        return int(plan.programs * (6 + len(fake_programs.ITEMS) * 365 * fake_programs.ADHERENCE))
    if title.startswith("record"):
        others = (plan.patients - plan.charts) * sum(OTHER_ENTRIES) / len(OTHER_ENTRIES)
        return int(plan.charts * sum(CHART_ENTRIES) / 2 * 1.07 + others)
    return plan.patients + 2 * plan.practitioners


# -- the parts of one clinic ----------------------------------------------------------------


def _generator(clinic: Clinic, part: str) -> tuple[random.Random, fakes.People]:
    seed = f"{clinic.plan.slug}:{part}"
    fake = Faker("pt_BR")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    return rng, fakes.People(rng, fakes.Pools.draw(fake))


def _fill_people(conn: Connection, clinic: Clinic, advance: Advance) -> int:
    from fisioflow.auth.passwords import hash_password

    _, people = _generator(clinic, "people")
    plan, now = clinic.plan, dt.datetime.now(dt.UTC)
    users, practitioners = fakes.staff_rows(
        people,
        tenant_id=clinic.id,
        slug=plan.slug,
        count=plan.practitioners,
        password_hash=hash_password(PASSWORD),
    )
    practitioner_ids = [row[1] for row in practitioners]
    patients = (
        fakes.patient_row(
            people, tenant_id=clinic.id, practitioners=practitioner_ids, today=now.date(), now=now
        )
        for _ in range(plan.patients)
    )
    with bulk.tenant_transaction(conn, clinic.id):
        rows = bulk.staged_insert(
            conn, "user_account", fakes.USER_COLUMNS, users, advance=advance
        ) + bulk.staged_insert(
            conn, "practitioner", fakes.PRACTITIONER_COLUMNS, practitioners, advance=advance
        )
        rows += bulk.staged_insert(
            conn, "patient", fakes.PATIENT_COLUMNS, patients, advance=advance
        )
    return rows


def _fill_records(conn: Connection, clinic: Clinic, advance: Advance) -> int:
    rng, people = _generator(clinic, "records")
    with bulk.tenant_transaction(conn, clinic.id):
        patients = conn.execute("select id, practitioner_id from patient order by id").fetchall()
        staff = conn.execute("select id, user_id from practitioner where user_id is not null")
        authors = {row[0]: fake_records.Author(row[0], row[1]) for row in staff}
        if not authors:
            return 0
        charts = set(rng.sample(range(len(patients)), min(clinic.plan.charts, len(patients))))
        rows = _timelines(rng, people, clinic, patients, authors, charts)
        return bulk.staged_insert(
            conn,
            T_RECORD,
            fake_records.RECORD_COLUMNS,
            rows,
            advance=advance,
            batches=("parent_id is null", "parent_id is not null"),  # addenda see their parent
        )


def _timelines(
    rng: random.Random,
    people: fakes.People,
    clinic: Clinic,
    patients: list[tuple[Any, ...]],
    authors: dict[uuid.UUID, fake_records.Author],
    charts: set[int],
) -> Iterator[tuple[Any, ...]]:
    now, pool = dt.datetime.now(dt.UTC), list(authors.values())
    for n, (patient_id, practitioner_id) in enumerate(patients):
        count = rng.randint(*CHART_ENTRIES) if n in charts else rng.choice(OTHER_ENTRIES)
        if count == 0:
            continue
        yield from fake_records.record_rows(
            rng,
            tenant_id=clinic.id,
            patient_id=patient_id,
            author=authors.get(practitioner_id) or rng.choice(pool),
            count=count,
            sentences=people.pools.sentences,
            now=now,
        )


def _fill_programs(conn: Connection, clinic: Clinic, advance: Advance) -> int:
    from fisioflow.auth.passwords import hash_password

    rng, _ = _generator(clinic, "programs")
    start = dt.date.today() - dt.timedelta(days=fake_programs.DAYS)
    with bulk.tenant_transaction(conn, clinic.id):
        treated = conn.execute(
            "select p.id, p.practitioner_id, pr.user_id from patient p join practitioner pr"
            " on pr.tenant_id = p.tenant_id and pr.id = p.practitioner_id"
            " where pr.user_id is not null order by p.id"
        ).fetchall()
        chosen = rng.sample(treated, min(clinic.plan.programs, len(treated)))
        accounts = conn.execute(
            "select patient_id, id from user_account where role = 'patient'"
            " and patient_id = any(%s)",
            [[patient_id for patient_id, _, _ in chosen]],
        ).fetchall()
        made = fake_programs.program_rows(
            tenant_id=clinic.id,
            slug=clinic.plan.slug,
            patients=chosen,
            start=start,
            password_hash=hash_password(PASSWORD),
            accounts=dict(accounts),
        )
        parts = (
            ("user_account", fake_programs.USER_COLUMNS, made.users),
            ("prescription", fake_programs.PRESCRIPTION_COLUMNS, made.prescriptions),
            ("prescription_item", fake_programs.ITEM_COLUMNS, made.items),
            ("prescription_item_version", fake_programs.VERSION_COLUMNS, made.versions),
        )
        logs = fake_programs.log_rows(rng, tenant_id=clinic.id, programs=made.programs, start=start)
        # a year of history through the per-row audit chain would take most of the time
        with bulk.audit_paused(conn, ("user_account", *PROGRAM_TABLES)):
            rows = sum(
                bulk.staged_insert(conn, table, columns, part, advance=advance)
                for table, columns, part in parts
            )
            return rows + bulk.staged_insert(
                conn, T_LOG, fake_programs.LOG_COLUMNS, logs, advance=advance
            )


# -- command line ---------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    from benchmarks.server import BenchServer, ServerError

    parser = argparse.ArgumentParser(prog="python -m benchmarks.datagen", description=__doc__)
    parser.add_argument("--profile", choices=sorted(PROFILES), default="full")
    args = parser.parse_args(argv)
    console = Console(stderr=True)
    started = time.perf_counter()
    try:
        with BenchServer(DATA_DIR) as server, httpx.Client(base_url=server.base_url) as client:
            dsn = bulk.owner_dsn(DATA_DIR / "fisioflow")
            dataset = ensure_dataset(client, dsn, PROFILES[args.profile], console=console)
    except ServerError as exc:
        console.print(f"error: {exc}")
        return 1
    console.print(f"profile {args.profile}: {dataset.profile.describe()}")
    console.print(f"generation: {dataset.stats.describe()}")
    console.print(f"record entries: {dataset.stats.records}")
    console.print(f"exercise programs: {dataset.stats.programs}")
    console.print(f"done in {time.perf_counter() - started:.0f} s (server start included)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
