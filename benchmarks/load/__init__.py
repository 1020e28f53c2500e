"""Load generators: `wrk` when it is on PATH, else the built-in asyncio generator.

Both run in their own process (never in the server's interpreter), are bounded in time
(duration plus a hard kill deadline) and in count (`max_requests`), and report the same
`LoadResult`.
"""

from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from benchmarks.scenario import RequestSpec

# A run that has not returned this long after its duration is killed and reported failed.
KILL_GRACE_S = 30.0


@dataclass(frozen=True)
class LoadConfig:
    host: str
    port: int
    specs: tuple[RequestSpec, ...]
    concurrency: int
    duration_s: float
    max_requests: int
    timeout_s: float = 5.0


@dataclass(frozen=True)
class LoadResult:
    requests: int
    errors: int
    elapsed_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    error_detail: str = ""

    @property
    def rps(self) -> float:
        return self.requests / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class LoadGenerator(Protocol):
    name: str

    def run(self, config: LoadConfig) -> LoadResult: ...


class LoadGeneratorError(RuntimeError):
    pass


def pick_generator(preference: str) -> LoadGenerator:
    """`auto` prefers wrk; `wrk` requires it; `builtin` forces the asyncio generator."""
    from benchmarks.load.native import NativeGenerator
    from benchmarks.load.wrk import WrkGenerator

    wrk_path = shutil.which("wrk")
    if preference == "builtin" or (preference == "auto" and wrk_path is None):
        return NativeGenerator()
    if wrk_path is None:
        raise LoadGeneratorError("--load-generator wrk: wrk is not on PATH (apt install wrk)")
    return WrkGenerator(wrk_path)
