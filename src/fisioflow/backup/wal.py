"""Continuous WAL archiving, sealed like every backup file.

PostgreSQL's `archive_command` copies each finished segment into a spool folder inside
the data folder (beside `pgdata`, same owner, same protection as the cluster itself)
with plain `cp` + `sync` + `mv`: the server may run as another OS user (as root, the
embedded server runs as `embedded_postgres`) that cannot run this project's Python. A
sealer thread in every FisioFlow process that holds the server (and `backup restore
--to`, before it starts) moves spooled segments into `<backups>/wal/<name>.zst.enc`,
compressed and encrypted with the segment name bound into the file key. The spool is
emptied within `SEAL_EVERY_S` seconds, so RPO stays at `archive_timeout` + a few seconds.
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import sys
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from fisioflow.backup.archive import copy_stream, fsync_dir, opened_reader, sealed_writer
from fisioflow.backup.keys import load_key, read_key_file

if TYPE_CHECKING:
    from fisioflow.core.embedded import WalArchive
    from fisioflow.settings import Settings

SUFFIX = ".zst.enc"
SEAL_EVERY_S = 2.0
log = logging.getLogger(__name__)


def wal_folder(settings: Settings) -> Path:
    return settings.backup_folder / "wal"


def spool_folder(settings: Settings) -> Path:
    return settings.data_dir.expanduser().resolve() / "wal-spool"


def archive_command(spool: Path) -> str:
    """Durable copy into the spool; rerunning it for the same segment is harmless."""
    part = shlex.quote(str(spool / ".%f.part"))
    final = shlex.quote(str(spool / "%f"))
    return f"cp %p {part} && sync {part} && mv -f {part} {final}"


def archive_for(settings: Settings) -> WalArchive | None:
    """The embedded server's archiving. Touches no file: the data folder is checked
    first, when the server starts (which creates the spool), then the sealer starts
    (which creates the key file on first use)."""
    from fisioflow.core.embedded import WalArchive

    if not settings.embedded or not settings.backup_wal_archive:
        return None
    spool = spool_folder(settings)
    return WalArchive(
        folder=spool, archive_command=archive_command(spool),
        timeout_s=settings.backup_archive_timeout_s,
    )  # fmt: skip


def seal_spool(spool: Path, folder: Path, *, key: bytes) -> int:
    """Seal every spooled segment into `folder`; safe with several processes at once
    (each segment is claimed by a rename first)."""
    if not spool.is_dir():
        return 0
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    sealed = 0
    for path in sorted(spool.iterdir()):
        if path.name.startswith("."):
            continue
        claimed = spool / f".claimed-{path.name}"
        try:
            path.rename(claimed)
        except FileNotFoundError:
            continue  # another process claimed it
        _seal_one(claimed, folder / f"{path.name}{SUFFIX}", name=path.name, key=key)
        claimed.unlink()
        sealed += 1
    return sealed


def _seal_one(source: Path, target: Path, *, name: str, key: bytes) -> None:
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{name}.")
    try:
        with os.fdopen(fd, "wb") as out, source.open("rb") as plain_in:
            with sealed_writer(out, key=key, name=name) as sealed:
                copy_stream(plain_in, sealed)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    fsync_dir(target.parent)


def unseal(folder: Path, destination: Path, *, key: bytes, from_segment: str) -> int:
    """Decrypt the archived segments a recovery may need (timeline history files and
    every segment from `from_segment` on, any timeline) into `destination`."""
    count = 0
    for path in sorted(folder.glob(f"*{SUFFIX}")):
        name = path.name.removesuffix(SUFFIX)
        if not (name.endswith(".history") or name[8:] >= from_segment[8:]):
            continue
        with (
            path.open("rb") as raw,
            opened_reader(raw, key=key, name=name) as plain,
            (destination / name).open("wb") as out,
        ):
            copy_stream(plain, out)
        count += 1
    return count


class Sealer:
    """A daemon thread sealing the spool every few seconds while the server is held."""

    def __init__(self, settings: Settings) -> None:
        self._spool = spool_folder(settings)
        self._folder = wal_folder(settings)
        self._key_file = settings.backup_key_path
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wal-sealer", daemon=True)

    def start(self) -> None:
        assert self._key_file is not None
        load_key(self._key_file, create=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        self.seal_now()

    def seal_now(self) -> int:
        assert self._key_file is not None
        return seal_spool(self._spool, self._folder, key=load_key(self._key_file, create=False))

    def _run(self) -> None:
        while not self._stop.wait(SEAL_EVERY_S):
            try:
                self.seal_now()
            except Exception:
                log.exception("sealing archived WAL failed; retrying")


def main(argv: list[str] | None = None) -> int:
    """`archive_command` for a self-hosted server whose OS user can run this Python:
    `python -m fisioflow.backup.wal push --dir DIR --key-file FILE %p %f` seals each
    segment straight into DIR (docs/operations.md, point-in-time recovery)."""
    parser = argparse.ArgumentParser(prog="python -m fisioflow.backup.wal")
    parser.add_argument("verb", choices=["push"])
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--key-file", type=Path, required=True)
    parser.add_argument("path", type=Path)
    parser.add_argument("name")
    args = parser.parse_args(argv)
    target = args.dir / f"{args.name}{SUFFIX}"
    if target.exists():
        return 0  # already archived (PostgreSQL retries after a crash)
    args.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    _seal_one(args.path, target, name=args.name, key=read_key_file(args.key_file))
    return 0


if __name__ == "__main__":
    sys.exit(main())
