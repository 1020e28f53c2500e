"""Run the selected scenarios against one server and collect their outcomes."""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx

from benchmarks import bulk, cpu
from benchmarks.load import LoadConfig, LoadGenerator, LoadGeneratorError, LoadResult
from benchmarks.load.native import NativeGenerator
from benchmarks.load.wrk import WrkGenerator
from benchmarks.scenario import (
    Scenario,
    ScenarioSetupError,
    ScenarioSkipped,
    SetupContext,
    Timing,
)
from benchmarks.server import BenchServer

BENCH_DIR = Path(__file__).resolve().parent
# wrk 4.1 records one latency per pipelined write, but its coordinated-omission
# correction assumes one request per write: it adds samples below the minimum and the
# percentiles come out as 0. The built-in generator times the pipelined group itself.
PIPELINE_NOTE = (
    "Measured with the built-in generator (benchmarks/load/native.py): wrk cannot report "
    "percentiles for pipelined requests."
)
DATA_DIR = BENCH_DIR / ".data"


@dataclass(frozen=True)
class RunOptions:
    duration_s: float = 10.0
    warmup_s: float = 2.0
    concurrency: int | None = None
    max_requests: int = 2_000_000
    timeout_s: float = 5.0
    quiet_wait_s: float = 60.0


@dataclass(frozen=True)
class Outcome:
    scenario: Scenario
    status: str  # "measured" | "skipped" | "failed"
    concurrency: int
    result: LoadResult | None = None
    note: str = ""
    usage: cpu.CpuShare | None = None
    details: tuple[str, ...] = ()

    @property
    def target_met(self) -> bool | None:
        if self.result is None or self.scenario.target is None:
            return None
        return self.scenario.target.met_by(rps=self.result.rps, p95_ms=self.result.p95_ms)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class RunRecord:
    outcomes: list[Outcome]
    server_processes: int
    run_id: str = ""
    # What setups put in ctx.shared["report"] (e.g. the data set's description).
    report: dict[str, Any] = field(default_factory=dict)


def run_all(
    scenarios: list[Scenario],
    generator: LoadGenerator,
    options: RunOptions,
    *,
    data_profile: str = "full",
) -> RunRecord:
    run_id = time.strftime("%Y%m%d%H%M%S") + f"-{time.monotonic_ns() % 10_000:04d}"
    log(f"starting server (data folder {DATA_DIR})")
    with BenchServer(DATA_DIR) as server:
        log(f"server ready on {server.base_url}; load generator: {generator.name}")
        processes = cpu.server_processes(server.pid, server.postmaster_pid_file)
        with httpx.Client(base_url=server.base_url, timeout=30.0) as client:
            ctx = SetupContext(
                client=client,
                run_id=run_id,
                owner_dsn=bulk.owner_dsn(server.fisioflow_data_dir),
                data_profile=data_profile,
                planned_s=options.warmup_s + options.duration_s,
            )
            outcomes = [run_one(s, ctx, server, generator, options) for s in scenarios]
        return RunRecord(outcomes, processes, run_id, dict(ctx.shared.get("report", {})))


def run_one(
    scenario: Scenario,
    ctx: SetupContext,
    server: BenchServer,
    generator: LoadGenerator,
    options: RunOptions,
) -> Outcome:
    ctx.notes = []
    try:
        return _run_one(scenario, ctx, server, generator, options)
    finally:
        if scenario.teardown is not None:
            scenario.teardown(ctx)


def _run_one(
    scenario: Scenario,
    ctx: SetupContext,
    server: BenchServer,
    generator: LoadGenerator,
    options: RunOptions,
) -> Outcome:
    concurrency = options.concurrency or scenario.concurrency
    try:
        specs = tuple(scenario.setup(ctx))
    except ScenarioSkipped as exc:
        log(f"[{scenario.name}] skipped: {exc}")
        return Outcome(scenario, "skipped", concurrency, note=str(exc), details=tuple(ctx.notes))
    except Exception as exc:  # a broken scenario must not lose the other scenarios' rows
        kind = "" if isinstance(exc, ScenarioSetupError | httpx.HTTPError) else type(exc).__name__
        log(f"[{scenario.name}] setup failed: {kind} {exc}")
        return Outcome(scenario, "failed", concurrency, note=f"setup failed: {kind} {exc}")
    details = tuple(ctx.notes)
    if scenario.measure is not None:
        return _timed(scenario, ctx, server, options)
    config = LoadConfig(
        host=server.host,
        port=server.port,
        specs=specs,
        concurrency=concurrency,
        duration_s=options.duration_s,
        max_requests=options.max_requests,
        timeout_s=options.timeout_s,
    )
    warmup = replace(config, duration_s=options.warmup_s)
    if scenario.single_use:
        warmup, config = single_use_slices(config, options)
    if any(spec.then for spec in specs) and isinstance(generator, WrkGenerator):
        generator = NativeGenerator()
        details += (PIPELINE_NOTE,)
    if options.quiet_wait_s > 0:
        busy = cpu.wait_until_quiet(max_wait_s=options.quiet_wait_s)
        if busy is not None and busy >= 10:
            log(f"[{scenario.name}] machine still {busy:.0f}% busy; measuring anyway")
    try:
        if options.warmup_s > 0:
            log(f"[{scenario.name}] warmup {options.warmup_s:g} s")
            generator.run(warmup)
        log(f"[{scenario.name}] measuring {options.duration_s:g} s at concurrency {concurrency}")
        before = cpu.sample(server_pid=server.pid, postmaster_pid_file=server.postmaster_pid_file)
        result = generator.run(config)
        after = cpu.sample(server_pid=server.pid, postmaster_pid_file=server.postmaster_pid_file)
    except LoadGeneratorError as exc:
        log(f"[{scenario.name}] load failed: {exc}")
        return Outcome(scenario, "failed", concurrency, note=str(exc), details=details)
    log(
        f"[{scenario.name}] {result.rps:,.0f} req/s, p50 {result.p50_ms:.2f} ms, "
        f"p95 {result.p95_ms:.2f} ms, p99 {result.p99_ms:.2f} ms, errors {result.errors}"
    )
    usage = cpu.share(before, after)
    if usage is not None:
        log(f"[{scenario.name}] CPU of all cores: {usage.describe()}")
    return Outcome(scenario, "measured", concurrency, result=result, usage=usage, details=details)


def _timed(
    scenario: Scenario, ctx: SetupContext, server: BenchServer, options: RunOptions
) -> Outcome:
    """A scenario timed by its own `measure` (no HTTP load), reported in the same table."""
    assert scenario.measure is not None
    if options.quiet_wait_s > 0:
        cpu.wait_until_quiet(max_wait_s=options.quiet_wait_s)
    log(f"[{scenario.name}] measuring")
    before = cpu.sample(server_pid=server.pid, postmaster_pid_file=server.postmaster_pid_file)
    timing = scenario.measure(ctx)
    after = cpu.sample(server_pid=server.pid, postmaster_pid_file=server.postmaster_pid_file)
    result = timing_result(timing)
    log(f"[{scenario.name}] {result.rps:,.0f} units/s over {len(timing.seconds_each)} runs")
    details = tuple(ctx.notes)
    usage = cpu.share(before, after)
    return Outcome(scenario, "measured", 1, result=result, usage=usage, details=details)


def timing_result(timing: Timing) -> LoadResult:
    ms = sorted(s * 1000 for s in timing.seconds_each)

    def pct(p: float) -> float:
        return ms[min(len(ms) - 1, math.ceil(p * len(ms)) - 1)]

    return LoadResult(
        requests=timing.units_per_run * len(ms),
        errors=timing.failures,
        elapsed_s=sum(timing.seconds_each),
        p50_ms=pct(0.5),
        p95_ms=pct(0.95),
        p99_ms=pct(0.99),
        max_ms=ms[-1],
        error_detail=timing.failure_detail,
    )


def single_use_slices(config: LoadConfig, options: RunOptions) -> tuple[LoadConfig, LoadConfig]:
    """Warmup and measurement get disjoint specs, in proportion to their durations, and
    each run is capped at its slice so no spec is sent twice."""
    share = options.warmup_s / (options.warmup_s + options.duration_s)
    cut = math.ceil(len(config.specs) * share)
    warm, measured = config.specs[:cut], config.specs[cut:]
    return (
        replace(config, specs=warm, duration_s=options.warmup_s, max_requests=len(warm)),
        replace(config, specs=measured, max_requests=min(config.max_requests, len(measured))),
    )
