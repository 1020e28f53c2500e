"""Where the cores went during a measured run (Linux /proc; absent elsewhere).

The server, its PostgreSQL and the load generator share the machine, so the report
shows each one's CPU time as a share of all cores over the run: server (the uvicorn
process), PostgreSQL (postmaster and its backends), generator (our reaped child),
everything else on the machine ("other": a busy machine makes the figures unreliable)
and idle. Idle near zero means the machine, not the server's design, was the limit.
"""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class CpuSample:
    wall_s: float
    machine_busy_s: float
    server_s: float
    postgres_s: float
    children_s: float


@dataclass(frozen=True)
class CpuShare:
    """Percent of all cores over the run."""

    server: float
    postgres: float
    generator: float
    other: float
    idle: float

    def describe(self) -> str:
        return (
            f"server {self.server:.0f}%, PostgreSQL {self.postgres:.0f}%, "
            f"generator {self.generator:.0f}%, other processes {self.other:.0f}%, "
            f"idle {self.idle:.0f}%"
        )


def sample(*, server_pid: int, postmaster_pid_file: Path) -> CpuSample | None:
    try:
        return CpuSample(
            wall_s=time.monotonic(),
            machine_busy_s=_machine_busy(),
            server_s=_server_cpu(server_pid, postmaster_pid_file),
            postgres_s=_postgres_cpu(postmaster_pid_file),
            children_s=_reaped_children(),
        )
    except (OSError, ValueError, IndexError):
        return None


def share(before: CpuSample | None, after: CpuSample | None) -> CpuShare | None:
    if before is None or after is None:
        return None
    capacity = (after.wall_s - before.wall_s) * (os.cpu_count() or 1)
    if capacity <= 0:
        return None

    def pct(a: float, b: float) -> float:
        return max(0.0, 100 * (b - a) / capacity)

    server = pct(before.server_s, after.server_s)
    postgres = pct(before.postgres_s, after.postgres_s)
    generator = pct(before.children_s, after.children_s)
    busy = pct(before.machine_busy_s, after.machine_busy_s)
    return CpuShare(
        server=server,
        postgres=postgres,
        generator=generator,
        other=max(0.0, busy - server - postgres - generator),
        idle=max(0.0, 100 - busy),
    )


def _machine_busy() -> float:
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / _TICK


def _stat_fields(pid: int) -> list[str]:
    raw = Path(f"/proc/{pid}/stat").read_text()
    return raw[raw.rindex(")") + 2 :].split()  # fields from 3 (state) onwards


def _process_cpu(pid: int, *, include_reaped: bool) -> float:
    fields = _stat_fields(pid)
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    return (utime + stime + ((cutime + cstime) if include_reaped else 0)) / _TICK


def _children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if int(_stat_fields(int(entry.name))[1]) == parent:
                found.append(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


def _postmaster(pid_file: Path) -> int:
    return int(pid_file.read_text().splitlines()[0])


def server_processes(server_pid: int, postmaster_pid_file: Path) -> int:
    """The server process plus its worker children (if it ever runs several)."""
    try:
        postmaster = _postmaster(postmaster_pid_file)
        return 1 + sum(1 for pid in _children(server_pid) if pid != postmaster)
    except (OSError, ValueError, IndexError):
        return 1


def _server_cpu(server_pid: int, pid_file: Path) -> float:
    postmaster = _postmaster(pid_file)
    workers = [pid for pid in _children(server_pid) if pid != postmaster]
    own = _process_cpu(server_pid, include_reaped=False)
    return own + sum(_cpu_if_alive(pid) for pid in workers)


def _postgres_cpu(pid_file: Path) -> float:
    postmaster = _postmaster(pid_file)
    total = _process_cpu(postmaster, include_reaped=True)
    return total + sum(_cpu_if_alive(pid) for pid in _children(postmaster))


def _cpu_if_alive(pid: int) -> float:
    """A backend or worker that exits mid-sample counts as zero rather than voiding it."""
    try:
        return _process_cpu(pid, include_reaped=False)
    except (OSError, ValueError, IndexError):
        return 0.0


def _reaped_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def machine_busy_percent(over_s: float = 1.0) -> float | None:
    """Share of all cores busy over a short window (before the run: is the machine quiet?)."""
    try:
        start, busy_start = time.monotonic(), _machine_busy()
        time.sleep(over_s)
        busy = _machine_busy() - busy_start
    except (OSError, ValueError):
        return None
    return 100 * busy / ((time.monotonic() - start) * (os.cpu_count() or 1))


def wait_until_quiet(*, max_wait_s: float, threshold: float = 10.0) -> float | None:
    """Wait (at most `max_wait_s`) until other work uses under `threshold`% of the cores."""
    deadline = time.monotonic() + max_wait_s
    busy = machine_busy_percent(1.0)
    while busy is not None and busy >= threshold and time.monotonic() < deadline:
        busy = machine_busy_percent(1.0)
    return busy
