"""Compressed (zstd) and encrypted (AES-256-GCM) streams of any size.

File layout: a header (magic, version, random salt, chunk size) then chunks. Each file
gets its own key, HKDF(backup key, salt, info=file name), so a file renamed or swapped for
another one fails to decrypt. Every chunk of plaintext (1 MiB) is sealed separately: the
nonce is the chunk index plus a last-chunk flag, and the header, index and flag are the
associated data, so reordered, dropped, appended or truncated chunks fail authentication.
Written by hand because no maintained library offers a chunked AEAD stream on top of
`cryptography` (the STREAM construction of Hoang, Reyhanitabar, Rogaway and Vizár).
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, cast

import zstandard
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAGIC = b"FFBK"
VERSION = 1
CHUNK_SIZE = 1 << 20
TAG_SIZE = 16
_HEADER = struct.Struct(">4sB32sI")
ZSTD_LEVEL = 3


class ArchiveError(RuntimeError):
    """A file that cannot be decrypted: corrupt, truncated, or another key."""


def _file_key(key: bytes, salt: bytes, name: str) -> AESGCM:
    derived = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=salt,
        info=b"fisioflow-backup-file\x00" + name.encode(),
    ).derive(key)
    return AESGCM(derived)


def _nonce_and_aad(header: bytes, index: int, *, last: bool) -> tuple[bytes, bytes]:
    flag = b"\x01" if last else b"\x00"
    nonce = index.to_bytes(11, "big") + flag
    return nonce, header + index.to_bytes(8, "big") + flag


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


class EncryptingWriter(io.RawIOBase):
    """Plaintext in, sealed chunks out; `close()` seals the last chunk (even if empty)."""

    def __init__(self, out: io.RawIOBase | IO[bytes], *, key: bytes, name: str) -> None:
        salt = os.urandom(32)
        self._out = out
        self._header = _HEADER.pack(MAGIC, VERSION, salt, CHUNK_SIZE)
        self._aead = _file_key(key, salt, name)
        self._buffer = bytearray()
        self._index = 0
        self._sealed = False
        out.write(self._header)

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        self._buffer += data
        # Keep at least one byte back: the last chunk must be sealed with the last flag.
        while len(self._buffer) > CHUNK_SIZE:
            self._seal(bytes(self._buffer[:CHUNK_SIZE]), last=False)
            del self._buffer[:CHUNK_SIZE]
        return len(data)

    def close(self) -> None:
        if not self._sealed and not self.closed:
            self._seal(bytes(self._buffer), last=True)
            self._buffer.clear()
            self._sealed = True
        super().close()

    def _seal(self, chunk: bytes, *, last: bool) -> None:
        nonce, aad = _nonce_and_aad(self._header, self._index, last=last)
        self._out.write(self._aead.encrypt(nonce, chunk, aad))
        self._index += 1


class DecryptingReader(io.RawIOBase):
    """Sealed chunks in, plaintext out; raises ArchiveError naming the file on any tamper."""

    def __init__(self, raw: IO[bytes], *, key: bytes, name: str) -> None:
        self._raw = raw
        self._name = name
        header = raw.read(_HEADER.size)
        if len(header) < _HEADER.size:
            raise ArchiveError(f"{name}: truncated (no header)")
        magic, version, salt, chunk_size = _HEADER.unpack(header)
        if magic != MAGIC or version != VERSION:
            raise ArchiveError(f"{name}: not a FisioFlow backup file (or an unknown version)")
        self._header = header
        self._chunk = chunk_size + TAG_SIZE
        self._aead = _file_key(key, salt, name)
        self._index = 0
        self._pending = raw.read(self._chunk)
        self._plain = b""
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._plain and not self._done:
            self._plain = self._open_next()
        size = min(len(buffer), len(self._plain))
        buffer[:size] = self._plain[:size]
        self._plain = self._plain[size:]
        return size

    def _open_next(self) -> bytes:
        sealed = self._pending
        self._pending = self._raw.read(self._chunk)
        last = not self._pending
        nonce, aad = _nonce_and_aad(self._header, self._index, last=last)
        try:
            plain = self._aead.decrypt(nonce, sealed, aad)
        except InvalidTag:
            raise ArchiveError(
                f"{self._name}: chunk {self._index} fails authentication "
                "(the file is corrupt or truncated)"
            ) from None
        self._index += 1
        self._done = last
        return plain


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
