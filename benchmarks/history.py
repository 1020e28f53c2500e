"""Results kept between runs: a run replaces the rows of the scenarios it ran, keeps the
rest, and RESULTS.md is rendered from the merged history (RESULTS.json next to it).

Each scenario row remembers the run it came from (date, commit, options, load generator,
data set), so rows measured at different times stay honest about their origin.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchmarks.runner import Outcome, RunOptions

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class RunInfo:
    generator: str
    options: RunOptions
    started_at: dt.datetime
    busy_before: float | None
    server_processes: int
    data: dict[str, Any] | None = None


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


def run_entry(info: RunInfo) -> dict[str, Any]:
    return {
        "started_at": info.started_at.isoformat(timespec="seconds"),
        "commit": git_commit(),
        "generator": info.generator,
        "options": asdict(info.options),
        "busy_before": info.busy_before,
        "server_processes": info.server_processes,
        "cores": os.cpu_count(),
        "cpu": cpu_model(),
        "system": f"{platform.platform()}, Python {platform.python_version()}",
        "data": info.data,
    }


def outcome_entry(outcome: Outcome, run_id: str) -> dict[str, Any]:
    scenario, target = outcome.scenario, outcome.scenario.target
    return {
        "run": run_id,
        "description": scenario.description,
        "status": outcome.status,
        "concurrency": outcome.concurrency,
        "result": None if outcome.result is None else outcome.result.to_json(),
        "usage": None if outcome.usage is None else asdict(outcome.usage),
        "note": outcome.note,
        "details": list(outcome.details),
        "target": None
        if target is None
        else {"text": target.describe(), "source": target.source, "met": outcome.target_met},
    }


def load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {"runs": {}, "scenarios": {}, "backups": None}
    return {
        "runs": data.get("runs", {}),
        "scenarios": data.get("scenarios", {}),
        "backups": data.get("backups"),  # written by `python -m benchmarks.backups`
    }


def merge(
    history: dict[str, Any],
    *,
    run_id: str,
    info: RunInfo,
    outcomes: list[Outcome],
    known: list[str],
) -> dict[str, Any]:
    """This run's rows replace older ones; rows of unregistered scenarios are dropped, and
    so are runs no row refers to any more."""
    scenarios = {k: v for k, v in history["scenarios"].items() if k in known}
    scenarios.update({o.scenario.name: outcome_entry(o, run_id) for o in outcomes})
    ordered = {name: scenarios[name] for name in known if name in scenarios}
    runs = {**history["runs"], run_id: run_entry(info)}
    used = {row["run"] for row in ordered.values()}
    return {
        "runs": {k: v for k, v in runs.items() if k in used},
        "scenarios": ordered,
        "backups": history.get("backups"),
    }


def save(path: Path, history: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(history, indent=2, ensure_ascii=False) + "\n")
