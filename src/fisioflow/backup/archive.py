"""Backup files: compressed (zstd), then sealed (chunked AES-256-GCM, `core/sealing.py`)."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, cast

import zstandard

from fisioflow.core.sealing import CHUNK_SIZE, DecryptingReader, EncryptingWriter, SealError

ZSTD_LEVEL = 3

ArchiveError = SealError


class HashingWriter(io.RawIOBase):
    """Counts and hashes what goes to the file (the manifest's SHA-256 and size)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.sha256 = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        view = bytes(data)
        self.raw.write(view)
        self.sha256.update(view)
        self.size += len(view)
        return len(view)


@contextmanager
def sealed_writer(out: IO[bytes] | io.RawIOBase, *, key: bytes, name: str) -> Iterator[IO[bytes]]:
    """Write plaintext; it lands in `out` compressed then encrypted."""
    encrypting = cast(IO[bytes], EncryptingWriter(out, key=key, name=name))
    compressor = zstandard.ZstdCompressor(level=ZSTD_LEVEL)
    with compressor.stream_writer(encrypting, closefd=True) as writer:
        yield writer


@contextmanager
def opened_reader(raw: IO[bytes], *, key: bytes, name: str) -> Iterator[IO[bytes]]:
    """Read plaintext back from a sealed file."""
    decrypting = io.BufferedReader(DecryptingReader(raw, key=key, name=name), CHUNK_SIZE)
    with zstandard.ZstdDecompressor().stream_reader(decrypting, closefd=True) as reader:
        yield reader


def copy_stream(
    source: IO[bytes], target: IO[bytes], *, on_chunk: Callable[[int], object] | None = None
) -> int:
    total = 0
    while block := source.read(CHUNK_SIZE):
        target.write(block)
        total += len(block)
        if on_chunk is not None:
            on_chunk(len(block))
    return total


def fsync_dir(path: Path) -> None:
    """Make a rename in `path` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
