"""`python -m benchmarks.backups`: time backup, verify, restore and point-in-time
recovery of the bench data set (datagen.py) and add them to RESULTS.md.

Runs `fisioflow serve` on the bench data folder like `make bench` (its embedded
PostgreSQL archives WAL, as in production), fills the data set if needed, then runs each
`fisioflow backup ...` command as a process and times it. MB/s is the plaintext dump
(or base backup) size over the wall-clock time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg

from benchmarks import datagen, history
from benchmarks.bulk import owner_dsn
from benchmarks.cpu import machine_busy_percent
from benchmarks.report import render
from benchmarks.runner import BENCH_DIR, log
from benchmarks.server import BenchServer, fisioflow_command

MB = 1024 * 1024
STEP_TIMEOUT_S = 3600


def run_step(server: BenchServer, *args: str) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(
        [*fisioflow_command(), "backup", *args],
        env=server.env(),
        cwd=server.data_dir,
        capture_output=True,
        text=True,
        timeout=STEP_TIMEOUT_S,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"fisioflow backup {' '.join(args)} failed: {done.stderr.strip()}")
    log(f"backup {args[0]}: {seconds:.1f} s")
    return seconds, done.stdout.strip().splitlines()[-1]


def manifest(server: BenchServer, backup_id: str) -> dict[str, Any]:
    path = server.fisioflow_data_dir / "backups" / backup_id / "manifest.json"
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def step(name: str, seconds: float, size: int, note: str) -> dict[str, Any]:
    return {"name": name, "seconds": seconds, "mb": size / MB, "note": note}


def measure(server: BenchServer, dsn: str) -> dict[str, Any]:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("select pg_database_size(current_database())").fetchone()
    database_bytes = int(row[0]) if row else 0
    seconds, backup_id = run_step(server, "create", "--label", "bench")
    dump = manifest(server, backup_id)
    plain = sum(f["plain_bytes"] for f in dump["files"])
    stored = sum(f["bytes"] for f in dump["files"])
    rows = sum(t["rows"] for t in dump["tables"].values())
    steps = [
        step(
            "create",
            seconds,
            plain,
            f"pg_dump {plain / MB:,.0f} MB -> {stored / MB:,.0f} "
            f"MB stored (zstd + AES-256-GCM), {rows:,} rows in {len(dump['tables'])} tables",
        )
    ]
    seconds, _ = run_step(server, "verify", backup_id)
    steps.append(
        step(
            "verify",
            seconds,
            plain,
            "SHA-256, restore into a scratch database, per-table counts and checksums",
        )
    )
    seconds, restored = run_step(server, "restore", backup_id, "--target-db", "bench_restored")
    steps.append(
        step("restore", seconds, plain, "into a new database, checked against the manifest")
    )
    rto_restore = seconds
    _drop(dsn, restored)
    seconds, base_id = run_step(server, "base")
    base = sum(f["plain_bytes"] for f in manifest(server, base_id)["files"])
    steps.append(step("base", seconds, base, "pg_basebackup (tar, WAL fetched) sealed"))
    moment = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f+00")
    seconds, recovered = run_step(server, "restore", "--to", moment, "--target-db", "bench_pitr")
    steps.append(
        step(
            "restore --to",
            seconds,
            base,
            "extract base, replay WAL, copy into a new database, check every table",
        )
    )
    _drop(dsn, recovered)
    return {
        "database_mb": database_bytes / MB,
        "steps": steps,
        "rto": f"{rto_restore:.0f} s from the newest backup (restore), {seconds:.0f} s to a "
        "moment (point-in-time recovery), each to a checked database beside the live one; "
        "the `--replace` swap adds a rename (milliseconds) plus the safety backup (a create).",
    }


def _drop(dsn: str, database: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{database}" with (force)')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.backups", description=__doc__)
    parser.add_argument("--data-profile", choices=sorted(datagen.PROFILES), default="full")
    parser.add_argument("--output", type=Path, default=BENCH_DIR / "RESULTS.md")
    args = parser.parse_args(argv)
    busy = machine_busy_percent()
    with BenchServer(BENCH_DIR / ".data") as server:
        dsn = owner_dsn(server.fisioflow_data_dir)
        with httpx.Client(base_url=server.base_url, timeout=60) as client:
            dataset = datagen.ensure_dataset(client, dsn, datagen.PROFILES[args.data_profile])
        superuser = owner_dsn(server.fisioflow_data_dir).replace("fisioflow_owner@", "postgres@")
        figures = measure(server, superuser)
    figures.update(
        date=f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        commit=history.git_commit(),
        cores=os.cpu_count(),
        busy="unknown" if busy is None else f"{busy:.0f}% of all cores over 1 s",
        dataset=f"profile `{args.data_profile}`, "
        + ", ".join(f"{table} {count:,}" for table, count in dataset.rows.items()),
    )
    history_path = args.output.with_suffix(".json")
    merged = {**history.load(history_path), "backups": figures}
    history.save(history_path, merged)
    args.output.write_text(render(merged))
    log(f"wrote {args.output} (and {history_path.name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
