"""Render the merged results history (see history.py) as benchmarks/RESULTS.md."""

from __future__ import annotations

from typing import Any

from benchmarks.server import BENCH_ENV

Row = dict[str, Any]
Run = dict[str, Any]


def render(history: dict[str, Any]) -> str:
    runs: dict[str, Run] = history["runs"]
    rows: dict[str, Row] = history["scenarios"]
    labels = {run_id: f"R{n}" for n, run_id in enumerate(sorted(runs), start=1)}
    latest = runs[max(runs)] if runs else {}
    lines = [
        "# Benchmark results",
        "",
        "Written by `make bench` (`python -m benchmarks`); rerun it to refresh, do not edit. "
        "A run replaces the rows of the scenarios it ran and keeps the others; the Run "
        "column says which run measured a row (raw figures in RESULTS.json).",
        "",
        *_machine(latest),
        "",
        "## Runs",
        "",
        "| Run | Date | Commit | Load generator | Per scenario | Machine busy before start "
        "| Server processes |",
        "| --- | --- | --- | --- | --- | --- | ---: |",
        *(_run_row(labels[k], runs[k]) for k in sorted(runs)),
        "",
        f"The server, its PostgreSQL and the load generator share the same {latest.get('cores')} "
        "cores, so every request/s figure is what is left for the server after the "
        "generator's own CPU use: a lower bound for the server alone on this machine. "
        "With one server process it can use at most one core.",
        *_data_section(runs, labels),
        "",
        "## Results",
        "",
        "| Scenario | Run | Concurrency | Duration (s) | Requests | Req/s | p50 (ms) | p95 (ms) "
        "| p99 (ms) | Errors | Target | Result |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
        *(_row(name, row, labels) for name, row in rows.items()),
        "",
        "CPU during each measured run, as a share of all cores (Linux /proc accounting):",
        "",
        "| Scenario | Server (uvicorn) | PostgreSQL | Load generator | Other processes | Idle |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
        *(_cpu_row(name, row) for name, row in rows.items() if row.get("usage")),
        "",
        "## Scenarios",
        "",
        *(line for name, row in rows.items() for line in _scenario(name, row)),
    ]
    lines += _comparisons(rows)
    lines += _backups(history.get("backups"))
    notes = [note for name, row in rows.items() for note in _notes(name, row)]
    if notes:
        lines += ["", "## Notes", "", *notes]
    return "\n".join(lines) + "\n"


def _comparisons(rows: dict[str, Row]) -> list[str]:
    from benchmarks.scenarios import COMPARISONS

    lines = [
        "",
        "## Overheads",
        "",
        "| Comparison | Baseline p95 (ms) | With p95 (ms) | Added at p95 | Target | Result |",
        "| --- | ---: | ---: | ---: | --- | --- |",
    ]
    for c in COMPARISONS:
        base, measured = rows.get(c.baseline, {}), rows.get(c.measured, {})
        target = (
            f"no target ({c.source})"
            if c.max_added is None
            else f"≤ {c.max_added:.0%} added ({c.source})"
        )
        if not base.get("result") or not measured.get("result"):
            lines.append(f"| {c.label} | — | — | — | {target} | not measured |")
            continue
        b, m = base["result"]["p95_ms"], measured["result"]["p95_ms"]
        added = m / b - 1 if b > 0 else 0.0
        if c.max_added is None:
            verdict = f"{m - b:+.2f} ms"
        else:
            verdict = "**pass**" if added <= c.max_added else "**FAIL**"
        lines.append(
            f"| {c.label} (`{c.measured}` vs `{c.baseline}`) | {b:.2f} | {m:.2f} "
            f"| {added:+.0%} | {target} | {verdict} |"
        )
    return lines


def _machine(run: Run) -> list[str]:
    env = ", ".join(f"{k}={v}" for k, v in BENCH_ENV.items() if k != "PYTHONUNBUFFERED")
    return [
        "| | |",
        "| --- | --- |",
        f"| Cores | {run.get('cores')} (`os.cpu_count()`), {run.get('cpu')} |",
        f"| System | {run.get('system')} |",
        "| Load | HTTP/1.1 keep-alive on loopback, from a separate process |",
        f"| Server | `fisioflow serve` + embedded PostgreSQL in benchmarks/.data/, {env} |",
    ]


def _run_row(label: str, run: Run) -> str:
    opts = run["options"]
    per = (
        f"{opts['warmup_s']:g} s warmup + {opts['duration_s']:g} s measured, "
        f"≤ {opts['max_requests']:,} requests, {opts['timeout_s']:g} s timeout, "
        f"waited ≤ {opts['quiet_wait_s']:g} s for a quiet machine"
    )
    date = run["started_at"].replace("T", " ")[:16] + " UTC"
    cells = [label, date, run["commit"], run["generator"], per, _busy(run.get("busy_before"))]
    return "| " + " | ".join([*cells, str(run["server_processes"])]) + " |"


def _data_section(runs: dict[str, Run], labels: dict[str, str]) -> list[str]:
    with_data = [(labels[k], runs[k]["data"]) for k in sorted(runs) if runs[k].get("data")]
    if not with_data:
        return []
    lines = ["", "## Data set", ""]
    for label, data in with_data:
        lines.append(f"- {label}: {data['summary']}")
        lines += [f"  - {item}" for item in data.get("details", [])]
    return lines


def _busy(percent: float | None) -> str:
    if percent is None:
        return "unknown"
    return f"{percent:.0f}% of all cores over 1 s" + (
        " (other work was running: figures are pessimistic)" if percent > 10 else ""
    )


def _row(name: str, row: Row, labels: dict[str, str]) -> str:
    target = row.get("target")
    target_text = "—" if target is None else target["text"]
    result = row.get("result")
    if result is None:
        cells = ["—"] * 7 + [target_text, row["status"]]
    else:
        cells = [
            f"{result['elapsed_s']:.1f}",
            f"{result['requests']:,}",
            f"{_rps(result):,.0f}",
            f"{result['p50_ms']:.2f}",
            f"{result['p95_ms']:.2f}",
            f"{result['p99_ms']:.2f}",
            f"{result['errors']:,}",
            target_text,
            _verdict(target),
        ]
    run = labels.get(row["run"], "?")
    return f"| {name} | {run} | {row['concurrency']} | " + " | ".join(cells) + " |"


def _rps(result: dict[str, Any]) -> float:
    elapsed: float = result["elapsed_s"]
    return result["requests"] / elapsed if elapsed > 0 else 0.0


def _verdict(target: dict[str, Any] | None) -> str:
    met = None if target is None else target["met"]
    return {True: "**pass**", False: "**FAIL**", None: "recorded (no target)"}[met]


def _cpu_row(name: str, row: Row) -> str:
    u = row["usage"]
    keys = ("server", "postgres", "generator", "other", "idle")
    return f"| {name} | " + " | ".join(f"{u[k]:.0f}%" for k in keys) + " |"


def _scenario(name: str, row: Row) -> list[str]:
    return [f"- **{name}**: {row['description']}", *(f"  - {d}" for d in row.get("details", []))]


def _notes(name: str, row: Row) -> list[str]:
    notes = []
    if row["status"] != "measured":
        notes.append(f"- {name}: {row['status']}: {row['note']}")
    result, usage, target = row.get("result"), row.get("usage"), row.get("target")
    if result is not None and result["errors"]:
        notes.append(f"- {name}: errors: {result['error_detail']}")
    if usage is not None and usage["other"] >= 10:
        notes.append(
            f"- {name}: other processes used {usage['other']:.0f}% of the cores during "
            "the run, so its figures are pessimistic; rerun on a quiet machine."
        )
    if target is not None and target["source"]:
        notes.append(f"- {name}: target from {target['source']}.")
    return notes


def _backups(run: dict[str, Any] | None) -> list[str]:
    """Figures of `python -m benchmarks.backups` (one run, the latest)."""
    if not run:
        return []
    rows = [
        f"| {step['name']} | {step['seconds']:.1f} | {step['mb']:,.1f} | "
        f"{step['mb'] / step['seconds']:,.1f} | {step['note']} |"
        for step in run["steps"]
    ]
    return [
        "",
        "## Backups",
        "",
        f"`python -m benchmarks.backups` on {run['date']}, commit `{run['commit']}`, "
        f"{run['cores']} cores, machine busy before start: {run['busy']}. Data set: "
        f"{run['dataset']}; database {run['database_mb']:,.0f} MB on disk. Each step is a "
        "`fisioflow backup ...` process against the running bench server (wall-clock, "
        "including the command's start-up).",
        "",
        "| Step | Seconds | MB | MB/s | What |",
        "| --- | ---: | ---: | ---: | --- |",
        *rows,
        "",
        f"RTO: {run['rto']}",
    ]
