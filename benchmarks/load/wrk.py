"""Drive `wrk` with a generated Lua script.

The script rotates over the scenario's request specs, stops each thread after its share
of `max_requests`, and prints one JSON line from wrk's `done()` hook with the latency
percentiles (wrk's `--latency` table lacks p95).

A spec with follow-ups (`RequestSpec.then`) is one pipelined write: wrk learns the depth
from the first `request()` call, counts every response as a request, and records one
latency per write, from sending it to the last response. Hence one depth per scenario.
"""

from __future__ import annotations

import json
import math
import subprocess
import tempfile
from pathlib import Path

from benchmarks.load import KILL_GRACE_S, LoadConfig, LoadGeneratorError, LoadResult
from benchmarks.scenario import RequestSpec

MARKER = "BENCH_JSON "

_LUA_TEMPLATE = """
local specs = {specs}
local max_per_thread = {max_per_thread}
local prepared = {{}}
local sent = 0
local index = 0

init = function(args)
  for i, group in ipairs(specs) do
    local parts = {{}}
    for j, s in ipairs(group) do
      parts[j] = wrk.format(s.method, s.path, s.headers, s.body)
    end
    prepared[i] = table.concat(parts)
  end
end

request = function()
  sent = sent + 1
  if sent >= max_per_thread then
    wrk.thread:stop()
  end
  index = index % #prepared + 1
  return prepared[index]
end

done = function(summary, latency, _)
  local e = summary.errors
  io.write(string.format(
    '{marker}{{"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"p50_us":%d,"p95_us":%d,"p99_us":%d,"max_us":%d}}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
"""


def lua_string(value: str | bytes) -> str:
    raw = value.encode() if isinstance(value, str) else value
    safe = (chr(b) if 32 <= b < 127 and chr(b) not in '"\\' else f"\\{b:03d}" for b in raw)
    return '"' + "".join(safe) + '"'


def lua_spec(spec: RequestSpec) -> str:
    headers = ", ".join(f"[{lua_string(k)}] = {lua_string(v)}" for k, v in spec.headers.items())
    body = "nil" if spec.body is None else lua_string(spec.body)
    return (
        f"{{method = {lua_string(spec.method)}, path = {lua_string(spec.path)}, "
        f"headers = {{{headers}}}, body = {body}}}"
    )


def lua_group(spec: RequestSpec) -> str:
    return "{" + ", ".join(lua_spec(s) for s in spec.group) + "}"


def lua_script(config: LoadConfig, *, threads: int) -> str:
    if len({len(s.group) for s in config.specs}) > 1:
        raise LoadGeneratorError("wrk needs the same pipeline depth (1 + len(then)) for all specs")
    specs = "{\n  " + ",\n  ".join(lua_group(s) for s in config.specs) + "\n}"
    return _LUA_TEMPLATE.format(
        specs=specs, max_per_thread=math.ceil(config.max_requests / threads), marker=MARKER
    )


class WrkGenerator:
    def __init__(self, binary: str, *, threads: int = 1) -> None:
        self.binary = binary
        self.threads = threads
        self.name = f"wrk ({_version(binary)}), {threads} thread(s)"

    def run(self, config: LoadConfig) -> LoadResult:
        threads = max(1, min(self.threads, config.concurrency))
        with tempfile.TemporaryDirectory(prefix="fisioflow-wrk-") as tmp:
            script = Path(tmp) / "scenario.lua"
            script.write_text(lua_script(config, threads=threads))
            command = [
                self.binary,
                f"--threads={threads}",
                f"--connections={config.concurrency}",
                f"--duration={max(1, math.ceil(config.duration_s))}s",
                f"--timeout={max(1, math.ceil(config.timeout_s))}s",
                f"--script={script}",
                f"http://{config.host}:{config.port}/",
            ]
            try:
                done = subprocess.run(
                    command,
                    capture_output=True,
                    text=True,
                    timeout=config.duration_s + KILL_GRACE_S,
                    check=False,
                )
            except subprocess.TimeoutExpired as exc:
                raise LoadGeneratorError("wrk did not finish in time; killed") from exc
        return _parse(done)


def _parse(done: subprocess.CompletedProcess[str]) -> LoadResult:
    lines = [line for line in done.stdout.splitlines() if line.startswith(MARKER)]
    if done.returncode != 0 or not lines:
        tail = (done.stderr or done.stdout).strip()[-500:]
        raise LoadGeneratorError(f"wrk exited {done.returncode}: {tail}")
    data = json.loads(lines[-1][len(MARKER) :])
    kinds = ("connect", "read", "write", "timeout", "status")
    errors = {kind: int(data[kind]) for kind in kinds}
    detail = ", ".join(
        f"{'HTTP ≥ 400' if k == 'status' else k}: {v}" for k, v in errors.items() if v
    )
    return LoadResult(
        requests=int(data["requests"]),
        errors=sum(errors.values()),
        elapsed_s=int(data["duration_us"]) / 1e6,
        p50_ms=int(data["p50_us"]) / 1e3,
        p95_ms=int(data["p95_us"]) / 1e3,
        p99_ms=int(data["p99_us"]) / 1e3,
        max_ms=int(data["max_us"]) / 1e3,
        error_detail=detail,
    )


def _version(binary: str) -> str:
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown version"
    first = (out.stdout or out.stderr).strip().splitlines()
    return first[0].split(" [")[0] if first else "unknown version"
