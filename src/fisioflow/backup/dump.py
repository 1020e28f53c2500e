"""pg_dump into a sealed file, and a sealed file back through pg_restore.

Plaintext only ever flows through pipes: pg_dump's output is compressed and encrypted on
its way to the file, and decrypted on its way into pg_restore's standard input.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import tempfile
from collections.abc import Callable
from typing import IO, BinaryIO, cast

from fisioflow.backup.archive import HashingWriter, copy_stream, opened_reader, sealed_writer
from fisioflow.backup.manifest import FileEntry
from fisioflow.backup.server import BackupError, Server, binary
from fisioflow.backup.storage import Storage

Progress = Callable[[int], object]


class HashingReader(io.RawIOBase):
    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.sha256 = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.raw.read(len(buffer))
        self.sha256.update(data)
        buffer[: len(data)] = data
        return len(data)


def sha256_of(storage: Storage, backup_id: str, name: str, *, progress: Progress) -> str:
    digest = hashlib.sha256()
    with storage.reader(backup_id, name) as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
            progress(len(block))
    return digest.hexdigest()


def write_sealed(
    storage: Storage,
    *,
    backup_id: str,
    name: str,
    command: list[str],
    env: dict[str, str],
    key: bytes,
    progress: Progress,
) -> FileEntry:
    """Run `command`, seal its standard output into `<backup>/<name>`."""
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, env=env)
        assert process.stdout is not None
        try:
            with storage.writer(backup_id, name) as raw:
                hashing = HashingWriter(raw)
                with sealed_writer(hashing, key=key, name=name) as plain:
                    plain_bytes = copy_stream(process.stdout, plain, on_chunk=progress)
        except BaseException:
            process.kill()
            raise
        finally:
            process.wait()
        _check(process, command[0], errors)
    return FileEntry(
        name=name, sha256=hashing.sha256.hexdigest(), bytes=hashing.size, plain_bytes=plain_bytes
    )


def pg_dump_command(server: Server, *, snapshot: str) -> tuple[list[str], dict[str, str]]:
    args, env = server.tool_args(server.database)
    command = [
        str(binary("pg_dump")),
        "--format=custom",
        "--compress=0",
        f"--snapshot={snapshot}",
        *args,
    ]
    return command, env


def restore_into(
    storage: Storage,
    *,
    backup_id: str,
    entry: FileEntry,
    server: Server,
    database: str,
    key: bytes,
    progress: Progress,
) -> None:
    """Feed the sealed dump to pg_restore; the file's SHA-256 is checked on the way."""
    args, env = server.tool_args(database)
    owners = [] if server.embedded else ["--no-owner"]
    command = [str(binary("pg_restore")), "--exit-on-error", *owners, *args]
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=errors, env=env
        )
        assert process.stdin is not None
        try:
            with storage.reader(backup_id, entry.name) as raw:
                hashing = HashingReader(raw)
                buffered = cast(IO[bytes], io.BufferedReader(hashing))
                with opened_reader(buffered, key=key, name=entry.name) as plain:
                    copy_stream(plain, process.stdin, on_chunk=progress)
            process.stdin.close()
        except BrokenPipeError:
            pass  # pg_restore stopped early: its own error says why
        except BaseException:
            process.kill()
            raise
        finally:
            process.wait()
        _check(process, "pg_restore", errors)
    if hashing.sha256.hexdigest() != entry.sha256:
        raise BackupError(f"{entry.name}: SHA-256 does not match the manifest")


def _check(process: subprocess.Popen[bytes], program: str, errors: IO[bytes]) -> None:
    if process.returncode == 0:
        return
    errors.seek(0)
    lines = errors.read().decode(errors="replace").strip().splitlines()
    found = [line for line in lines if "error" in line.lower()] or lines or ["no output"]
    name = program.rsplit("/", 1)[-1]
    raise BackupError(f"{name} failed (exit {process.returncode}): {found[0]}")
