"""Run the selected scenarios against one server and collect their outcomes."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import httpx

from benchmarks import cpu
from benchmarks.load import LoadConfig, LoadGenerator, LoadGeneratorError, LoadResult
from benchmarks.scenario import Scenario, ScenarioSetupError, ScenarioSkipped, SetupContext
from benchmarks.server import BenchServer

BENCH_DIR = Path(__file__).resolve().parent
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


def run_all(scenarios: list[Scenario], generator: LoadGenerator, options: RunOptions) -> RunRecord:
    run_id = time.strftime("%Y%m%d%H%M%S") + f"-{time.monotonic_ns() % 10_000:04d}"
    log(f"starting server (data folder {DATA_DIR})")
    with BenchServer(DATA_DIR) as server:
        log(f"server ready on {server.base_url}; load generator: {generator.name}")
        processes = cpu.server_processes(server.pid, server.postmaster_pid_file)
        with httpx.Client(base_url=server.base_url, timeout=30.0) as client:
            ctx = SetupContext(client=client, run_id=run_id)
            outcomes = [run_one(s, ctx, server, generator, options) for s in scenarios]
        return RunRecord(outcomes, processes)


def run_one(
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
        return Outcome(scenario, "skipped", concurrency, note=str(exc))
    except (ScenarioSetupError, httpx.HTTPError) as exc:
        log(f"[{scenario.name}] setup failed: {exc}")
        return Outcome(scenario, "failed", concurrency, note=f"setup failed: {exc}")
    config = LoadConfig(
        host=server.host,
        port=server.port,
        specs=specs,
        concurrency=concurrency,
        duration_s=options.duration_s,
        max_requests=options.max_requests,
        timeout_s=options.timeout_s,
    )
    if options.quiet_wait_s > 0:
        busy = cpu.wait_until_quiet(max_wait_s=options.quiet_wait_s)
        if busy is not None and busy >= 10:
            log(f"[{scenario.name}] machine still {busy:.0f}% busy; measuring anyway")
    try:
        if options.warmup_s > 0:
            log(f"[{scenario.name}] warmup {options.warmup_s:g} s")
            generator.run(replace(config, duration_s=options.warmup_s))
        log(f"[{scenario.name}] measuring {options.duration_s:g} s at concurrency {concurrency}")
        before = cpu.sample(server_pid=server.pid, postmaster_pid_file=server.postmaster_pid_file)
        result = generator.run(config)
        after = cpu.sample(server_pid=server.pid, postmaster_pid_file=server.postmaster_pid_file)
    except LoadGeneratorError as exc:
        log(f"[{scenario.name}] load failed: {exc}")
        return Outcome(scenario, "failed", concurrency, note=str(exc))
    log(
        f"[{scenario.name}] {result.rps:,.0f} req/s, p50 {result.p50_ms:.2f} ms, "
        f"p95 {result.p95_ms:.2f} ms, p99 {result.p99_ms:.2f} ms, errors {result.errors}"
    )
    usage = cpu.share(before, after)
    if usage is not None:
        log(f"[{scenario.name}] CPU of all cores: {usage.describe()}")
    return Outcome(scenario, "measured", concurrency, result=result, usage=usage)
