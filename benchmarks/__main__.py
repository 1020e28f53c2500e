"""`python -m benchmarks`: start the server, run the scenarios, update RESULTS.md.

Rows of scenarios not run this time are kept (from RESULTS.json next to the output).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from benchmarks import history
from benchmarks.cpu import machine_busy_percent
from benchmarks.datagen import PROFILES
from benchmarks.history import RunInfo
from benchmarks.load import LoadGeneratorError, pick_generator
from benchmarks.report import render
from benchmarks.runner import BENCH_DIR, RunOptions, log, run_all
from benchmarks.scenarios import SCENARIOS, by_name
from benchmarks.server import ServerError


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--scenario",
        action="append",
        metavar="NAME",
        help="run only this scenario (repeatable); default: all",
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of discarded load")
    parser.add_argument("--concurrency", type=int, help="open connections (default: per scenario)")
    parser.add_argument(
        "--max-requests", type=int, default=2_000_000, help="hard cap per measured run"
    )
    parser.add_argument("--timeout", type=float, default=5.0, help="per-request timeout (s)")
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=60.0,
        help="before each scenario, wait up to S seconds for other work to drop under 10%% CPU",
    )
    parser.add_argument("--load-generator", choices=("auto", "wrk", "builtin"), default="auto")
    parser.add_argument(
        "--data-profile",
        choices=sorted(PROFILES),
        default="full",
        help="data set for the patient scenarios (see benchmarks/datagen.py)",
    )
    parser.add_argument("--output", type=Path, default=BENCH_DIR / "RESULTS.md")
    parser.add_argument("--list", action="store_true", help="list scenarios and exit")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        for scenario in SCENARIOS:
            print(f"{scenario.name:24} {scenario.description}")
        return 0
    if args.duration <= 0 or args.warmup < 0 or (args.concurrency or 1) < 1:
        log("error: --duration must be > 0, --warmup >= 0, --concurrency >= 1")
        return 2
    try:
        scenarios = [by_name(n) for n in args.scenario] if args.scenario else list(SCENARIOS)
        generator = pick_generator(args.load_generator)
    except (KeyError, LoadGeneratorError) as exc:
        log(f"error: {exc.args[0]}")
        return 2
    options = RunOptions(
        duration_s=args.duration,
        warmup_s=args.warmup,
        concurrency=args.concurrency,
        max_requests=args.max_requests,
        timeout_s=args.timeout,
        quiet_wait_s=args.quiet_wait,
    )
    started = dt.datetime.now(dt.UTC)
    busy_before = machine_busy_percent()
    if busy_before is not None:
        log(f"machine busy before start: {busy_before:.0f}% of all cores")
    try:
        record = run_all(scenarios, generator, options, data_profile=args.data_profile)
    except ServerError as exc:
        log(f"error: {exc}")
        return 1
    info = RunInfo(
        generator.name,
        options,
        started,
        busy_before,
        record.server_processes,
        data=record.report.get("data"),
    )
    history_path = args.output.with_suffix(".json")
    merged = history.merge(
        history.load(history_path),
        run_id=record.run_id,
        info=info,
        outcomes=record.outcomes,
        known=[s.name for s in SCENARIOS],
    )
    history.save(history_path, merged)
    args.output.write_text(render(merged))
    log(f"wrote {args.output} (and {history_path.name})")
    return 1 if any(o.status == "failed" for o in record.outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
