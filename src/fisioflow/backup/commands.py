"""`fisioflow backup ...`: the service's results as Rich tables and one-line errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from fisioflow.backup.archive import ArchiveError
from fisioflow.backup.dump import Progress as Advance
from fisioflow.backup.keys import BackupKeyError
from fisioflow.backup.manifest import ManifestError
from fisioflow.backup.server import BackupError
from fisioflow.backup.service import Listed, ProgressFactory, VerifyReport

CLEAR_ERRORS = (BackupError, BackupKeyError, ManifestError, ArchiveError)


@contextmanager
def progress_bars(console: Console) -> Iterator[ProgressFactory]:
    """Progress bars on a terminal; nothing when the output is a file or a pipe."""
    bars = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal,
    )

    @contextmanager
    def task(description: str, total: int | None) -> Iterator[Advance]:
        task_id = bars.add_task(description, total=total)
        yield lambda size: bars.advance(task_id, size)
        bars.update(task_id, total=bars.tasks[task_id].completed)

    factory: ProgressFactory = task
    with bars:
        yield factory


def size(value: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024  # type: ignore[assignment]
    raise AssertionError


def backups_table(listed: list[Listed], *, where: str) -> Table:
    table = Table(title=f"backups in {where}")
    for column in ("id", "kind", "label", "created (UTC)", "size", "rows", "revision", "verified"):
        table.add_column(column)
    for item in listed:
        m = item.manifest
        verified = {None: "-", True: "[green]pass[/]", False: "[red]FAIL[/]"}[item.verified]
        table.add_row(
            m.id,
            m.kind,
            m.label,
            f"{m.created_at:%Y-%m-%d %H:%M:%S}",
            size(m.size),
            str(m.rows),
            m.alembic_revision or "-",
            verified,
        )
    return table


def verify_table(report: VerifyReport) -> Table:
    table = Table(title=f"verification of {report.manifest.id}")
    for column in ("check", "expected", "actual", "result"):
        table.add_column(column)
    for check in report.checks:
        result = "[green]pass[/]" if check.ok else "[bold red]FAIL[/]"
        table.add_row(check.item, check.expected, check.actual, result)
    return table
