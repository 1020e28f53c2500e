"""Render the outcomes as benchmarks/RESULTS.md."""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.runner import Outcome, RunOptions
from benchmarks.server import BENCH_ENV

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class RunInfo:
    generator: str
    options: RunOptions
    started_at: dt.datetime
    busy_before: float | None
    server_processes: int


def git_commit() -> str:
    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=False
        )
        return done.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--", "src", "migrations", "pyproject.toml", "uv.lock")
    return f"`{commit}`" + (
        " plus uncommitted changes (others were editing the tree)" if dirty else ""
    )


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def render(outcomes: Sequence[Outcome], info: RunInfo) -> str:
    cores = os.cpu_count()
    opts = info.options
    env = ", ".join(f"{k}={v}" for k, v in BENCH_ENV.items() if k != "PYTHONUNBUFFERED")
    lines = [
        "# Benchmark results",
        "",
        "Written by `make bench` (`python -m benchmarks`); rerun it to refresh, do not edit.",
        "",
        "| | |",
        "| --- | --- |",
        f"| Date | {info.started_at:%Y-%m-%d %H:%M} UTC |",
        f"| Commit | {git_commit()} |",
        f"| Cores | {cores} (`os.cpu_count()`), {cpu_model()} |",
        f"| System | {platform.platform()}, Python {platform.python_version()} |",
        f"| Load generator | {info.generator}, HTTP/1.1 keep-alive on loopback |",
        f"| Server | `fisioflow serve` + embedded PostgreSQL in benchmarks/.data/, {env} |",
        f"| Per scenario | {opts.warmup_s:g} s warmup (discarded), then {opts.duration_s:g} s "
        f"measured; at most {opts.max_requests:,} requests, {opts.timeout_s:g} s request "
        f"timeout; waited up to {opts.quiet_wait_s:g} s for a quiet machine first |",
        f"| Machine busy before start | {_busy(info.busy_before)} |",
        "",
        f"The server, its PostgreSQL and the load generator share the same {cores} cores, so "
        "every request/s figure is what is left for the server after the generator's own "
        "CPU use: a lower bound for the server alone on this machine.",
        "",
        _process_note(info.server_processes, cores or 1),
        "",
        "## Results",
        "",
        "| Scenario | Concurrency | Duration (s) | Requests | Req/s | p50 (ms) | p95 (ms) "
        "| p99 (ms) | Errors | Target | Result |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
        *(_row(o) for o in outcomes),
        "",
        "CPU during each measured run, as a share of all cores (Linux /proc accounting):",
        "",
        "| Scenario | Server (uvicorn) | PostgreSQL | Load generator | Other processes | Idle |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
        *(_cpu_row(o) for o in outcomes if o.usage is not None),
        "",
        "## Scenarios",
        "",
        *(f"- **{o.scenario.name}**: {o.scenario.description}" for o in outcomes),
    ]
    notes = [note for o in outcomes for note in _notes(o)]
    if notes:
        lines += ["", "## Notes", "", *notes]
    return "\n".join(lines) + "\n"


def _row(outcome: Outcome) -> str:
    target = outcome.scenario.target
    target_text = "—" if target is None else target.describe()
    result = outcome.result
    if result is None:
        cells = ["—"] * 8
        verdict = outcome.status
    else:
        cells = [
            f"{result.elapsed_s:.1f}",
            f"{result.requests:,}",
            f"{result.rps:,.0f}",
            f"{result.p50_ms:.2f}",
            f"{result.p95_ms:.2f}",
            f"{result.p99_ms:.2f}",
            f"{result.errors:,}",
            target_text,
        ]
        verdict = {True: "**pass**", False: "**FAIL**", None: "recorded (no target)"}[
            outcome.target_met
        ]
    if result is None:
        cells[-1] = target_text
    return (
        f"| {outcome.scenario.name} | {outcome.concurrency} | "
        + " | ".join([*cells, verdict])
        + " |"
    )


def _process_note(processes: int, cores: int) -> str:
    if processes > 1:
        return f"`fisioflow serve` ran as {processes} processes (a supervisor and its workers)."
    return (
        "`fisioflow serve` ran as one Python process, so it can use at most one of the "
        f"{cores} cores ({100 / cores:.0f}% in the CPU table below)."
    )


def _busy(percent: float | None) -> str:
    if percent is None:
        return "unknown"
    return f"{percent:.0f}% of all cores over 1 s" + (
        " (other work was running: figures are pessimistic)" if percent > 10 else ""
    )


def _cpu_row(outcome: Outcome) -> str:
    u = outcome.usage
    assert u is not None
    cells = (f"{x:.0f}%" for x in (u.server, u.postgres, u.generator, u.other, u.idle))
    return f"| {outcome.scenario.name} | " + " | ".join(cells) + " |"


def _notes(outcome: Outcome) -> list[str]:
    name = outcome.scenario.name
    notes = []
    if outcome.status != "measured":
        notes.append(f"- {name}: {outcome.status}: {outcome.note}")
    if outcome.result is not None and outcome.result.errors:
        notes.append(f"- {name}: errors: {outcome.result.error_detail}")
    if outcome.usage is not None and outcome.usage.other >= 10:
        notes.append(
            f"- {name}: other processes used {outcome.usage.other:.0f}% of the cores during "
            "the run, so its figures are pessimistic; rerun on a quiet machine."
        )
    target = outcome.scenario.target
    if target is not None and target.source:
        notes.append(f"- {name}: target from {target.source}.")
    return notes
