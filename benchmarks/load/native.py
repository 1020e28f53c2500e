"""Built-in load generator: asyncio streams, HTTP/1.1 keep-alive, one connection per task.

Used when `wrk` is not installed. Runs in a child process (`python -m
benchmarks.load.native`, config as JSON on stdin, result as JSON on stdout) so it never
shares the server's interpreter. Written on raw streams rather than an HTTP client
library because the generator shares the machine's cores with the server: per request it
only formats nothing (requests are pre-encoded) and parses the status line and
Content-Length (or chunked framing).

Specs rotate over all connections from one shared counter, so no spec is sent twice
until the list wraps. A spec with follow-ups (`RequestSpec.then`) is written in one go
(pipelined); its latency runs until the last response, and each response counts as a
request, as with wrk.
"""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import sys
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.load import KILL_GRACE_S, LoadConfig, LoadGeneratorError, LoadResult
from benchmarks.scenario import RequestSpec

REPO_ROOT = Path(__file__).resolve().parents[2]


class NativeGenerator:
    name = "built-in asyncio generator (benchmarks/load/native.py), 1 process"

    def run(self, config: LoadConfig) -> LoadResult:
        payload = json.dumps(config_to_json(config))
        try:
            done = subprocess.run(
                [sys.executable, "-m", "benchmarks.load.native"],
                input=payload,
                capture_output=True,
                text=True,
                timeout=config.duration_s + KILL_GRACE_S,
                check=False,
                cwd=REPO_ROOT,
            )
        except subprocess.TimeoutExpired as exc:
            raise LoadGeneratorError("built-in load generator did not finish; killed") from exc
        if done.returncode != 0:
            raise LoadGeneratorError(f"built-in load generator failed: {done.stderr[-500:]}")
        return LoadResult(**json.loads(done.stdout))


def spec_to_json(spec: RequestSpec) -> dict[str, Any]:
    return {
        "method": spec.method,
        "path": spec.path,
        "headers": dict(spec.headers),
        "body": None if spec.body is None else base64.b64encode(spec.body).decode(),
        "then": [spec_to_json(s) for s in spec.then],
    }


def spec_from_json(data: dict[str, Any]) -> RequestSpec:
    return RequestSpec(
        data["method"],
        data["path"],
        data["headers"],
        None if data["body"] is None else base64.b64decode(data["body"]),
        tuple(spec_from_json(s) for s in data.get("then", ())),
    )


def config_to_json(config: LoadConfig) -> dict[str, Any]:
    specs = [spec_to_json(s) for s in config.specs]
    return {
        "host": config.host,
        "port": config.port,
        "specs": specs,
        "concurrency": config.concurrency,
        "duration_s": config.duration_s,
        "max_requests": config.max_requests,
        "timeout_s": config.timeout_s,
    }


def config_from_json(data: dict[str, Any]) -> LoadConfig:
    specs = tuple(spec_from_json(s) for s in data["specs"])
    return LoadConfig(**{**data, "specs": specs})


def encode(spec: RequestSpec, host: str, port: int) -> tuple[bytes, int]:
    """The spec and its follow-ups as one write, and how many responses to read."""
    return b"".join(encode_one(s, host, port) for s in spec.group), len(spec.group)


def encode_one(spec: RequestSpec, host: str, port: int) -> bytes:
    lines = [f"{spec.method} {spec.path} HTTP/1.1", f"Host: {host}:{port}"]
    lines += [f"{k}: {v}" for k, v in spec.headers.items()]
    body = spec.body or b""
    if spec.body is not None or spec.method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


# -- the child process ----------------------------------------------------------------


class ProtocolError(Exception):
    pass


@dataclass
class Tally:
    max_requests: int
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    issued: int = 0
    responses: int = 0

    def take(self) -> int | None:
        """The next spec's index (shared rotation), or None once `max_requests` are out."""
        if self.issued >= self.max_requests:
            return None
        self.issued += 1
        return self.issued - 1

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one response; return (status, connection reusable)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, _, header_block = head.partition(b"\r\n")
    parts = status_line.split(b" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        raise ProtocolError(status_line[:80].decode(errors="replace"))
    headers: dict[bytes, bytes] = {}
    for line in header_block.split(b"\r\n"):
        name, sep, value = line.partition(b":")
        if sep:
            headers[name.strip().lower()] = value.strip().lower()
    if headers.get(b"transfer-encoding") == b"chunked":
        await _read_chunked(reader)
    else:
        await reader.readexactly(int(headers.get(b"content-length", b"0")))
    return int(parts[1]), headers.get(b"connection") != b"close"


async def _read_chunked(reader: asyncio.StreamReader) -> None:
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        await reader.readexactly(size + 2)
        if size == 0:
            return


Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]
Encoded = tuple[bytes, int]


async def connection_worker(
    config: LoadConfig, requests: list[Encoded], tally: Tally, *, deadline: float
) -> None:
    conn: Connection | None = None
    while time.perf_counter() < deadline and (index := tally.take()) is not None:
        try:
            if conn is None:
                conn = await asyncio.wait_for(_connect(config), config.timeout_s)
            started = time.perf_counter()
            conn, statuses = await asyncio.wait_for(
                _exchange(conn, requests[index % len(requests)]), config.timeout_s
            )
            tally.latencies.append(time.perf_counter() - started)
            tally.responses += len(statuses)
            for status in statuses:
                if status >= 400:
                    tally.error("HTTP ≥ 400")
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ProtocolError) as exc:
            tally.error(type(exc).__name__)
            _close(conn)
            conn = None
            await asyncio.sleep(0.01)
    _close(conn)


async def _connect(config: LoadConfig) -> Connection:
    return await asyncio.open_connection(config.host, config.port)


async def _exchange(conn: Connection, request: Encoded) -> tuple[Connection | None, list[int]]:
    reader, writer = conn
    payload, expected = request
    writer.write(payload)
    statuses, reusable = [], True
    for _ in range(expected):
        status, reusable = await read_response(reader)
        statuses.append(status)
        if not reusable:
            break
    if reusable:
        return conn, statuses
    _close(conn)
    return None, statuses


def _close(conn: Connection | None) -> None:
    if conn is not None:
        conn[1].close()


def percentile(sorted_values: list[float], pct: float) -> float:
    if not sorted_values:
        return 0.0
    rank = max(0, min(len(sorted_values) - 1, round(pct / 100 * len(sorted_values)) - 1))
    return sorted_values[rank]


async def generate(config: LoadConfig) -> LoadResult:
    requests = [encode(s, config.host, config.port) for s in config.specs]
    tally = Tally(max_requests=config.max_requests)
    started = time.perf_counter()
    deadline = started + config.duration_s
    await asyncio.gather(
        *(
            connection_worker(config, requests, tally, deadline=deadline)
            for _ in range(config.concurrency)
        )
    )
    elapsed = time.perf_counter() - started
    ms = sorted(x * 1000 for x in tally.latencies)
    return LoadResult(
        requests=tally.responses,
        errors=sum(tally.errors.values()),
        elapsed_s=elapsed,
        p50_ms=percentile(ms, 50),
        p95_ms=percentile(ms, 95),
        p99_ms=percentile(ms, 99),
        max_ms=ms[-1] if ms else 0.0,
        error_detail=", ".join(f"{k}: {v}" for k, v in sorted(tally.errors.items())),
    )


def run_loop(main: Coroutine[Any, Any, LoadResult]) -> LoadResult:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


def main() -> None:
    config = config_from_json(json.loads(sys.stdin.read()))
    result = run_loop(generate(config))
    sys.stdout.write(json.dumps(result.to_json()))


if __name__ == "__main__":
    main()
