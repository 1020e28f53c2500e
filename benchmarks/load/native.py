"""Built-in load generator: asyncio streams, HTTP/1.1 keep-alive, one connection per task.

Used when `wrk` is not installed. Runs in a child process (`python -m
benchmarks.load.native`, config as JSON on stdin, result as JSON on stdout) so it never
shares the server's interpreter. Written on raw streams rather than an HTTP client
library because the generator shares the machine's cores with the server: per request it
only formats nothing (requests are pre-encoded) and parses the status line and
Content-Length (or chunked framing).
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


def config_to_json(config: LoadConfig) -> dict[str, Any]:
    specs = [
        {
            "method": s.method,
            "path": s.path,
            "headers": dict(s.headers),
            "body": None if s.body is None else base64.b64encode(s.body).decode(),
        }
        for s in config.specs
    ]
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
    specs = tuple(
        RequestSpec(
            s["method"],
            s["path"],
            s["headers"],
            None if s["body"] is None else base64.b64decode(s["body"]),
        )
        for s in data["specs"]
    )
    return LoadConfig(**{**data, "specs": specs})


def encode(spec: RequestSpec, host: str, port: int) -> bytes:
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

    def take(self) -> bool:
        if self.issued >= self.max_requests:
            return False
        self.issued += 1
        return True

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


async def connection_worker(
    config: LoadConfig, requests: list[bytes], tally: Tally, *, offset: int, deadline: float
) -> None:
    conn: Connection | None = None
    index = offset
    while time.perf_counter() < deadline and tally.take():
        try:
            if conn is None:
                conn = await asyncio.wait_for(_connect(config), config.timeout_s)
            started = time.perf_counter()
            conn, status = await asyncio.wait_for(
                _exchange(conn, requests[index % len(requests)]), config.timeout_s
            )
            tally.latencies.append(time.perf_counter() - started)
            if status >= 400:
                tally.error("HTTP ≥ 400")
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ProtocolError) as exc:
            tally.error(type(exc).__name__)
            _close(conn)
            conn = None
            await asyncio.sleep(0.01)
        index += 1
    _close(conn)


async def _connect(config: LoadConfig) -> Connection:
    return await asyncio.open_connection(config.host, config.port)


async def _exchange(conn: Connection, request: bytes) -> tuple[Connection | None, int]:
    reader, writer = conn
    writer.write(request)
    status, reusable = await read_response(reader)
    if reusable:
        return conn, status
    _close(conn)
    return None, status


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
            connection_worker(config, requests, tally, offset=i, deadline=deadline)
            for i in range(config.concurrency)
        )
    )
    elapsed = time.perf_counter() - started
    ms = sorted(x * 1000 for x in tally.latencies)
    return LoadResult(
        requests=len(ms),
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
