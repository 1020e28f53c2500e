"""Sealed streams of any size: chunked AES-256-GCM (`cryptography`), the one encryption
of FisioFlow files (backups, WAL segments, clinic archives).

File layout: a header (magic, version, random salt, chunk size) then chunks. Each file
gets its own key, HKDF(key, salt, info=file name), so a file renamed or swapped for
another one fails to decrypt. Every chunk of plaintext (1 MiB) is sealed separately: the
nonce is the chunk index plus a last-chunk flag, and the header, index and flag are the
associated data, so reordered, dropped, appended or truncated chunks fail authentication.
Written by hand because no maintained library offers a chunked AEAD stream on top of
`cryptography` (the STREAM construction of Hoang, Reyhanitabar, Rogaway and Vizár).

Keys are 32 random bytes; a file that travels to another server (a clinic archive) may
instead use a passphrase, stretched to a key with scrypt (`passphrase_key`).
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
from typing import IO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

MAGIC = b"FFBK"
VERSION = 1
CHUNK_SIZE = 1 << 20
TAG_SIZE = 16
KEY_BYTES = 32
_HEADER = struct.Struct(">4sB32sI")


class SealError(RuntimeError):
    """A file that cannot be decrypted: corrupt, truncated, or another key."""


def key_id(key: bytes) -> str:
    """A short public fingerprint: tells which key a file needs, reveals nothing."""
    return hashlib.sha256(b"fisioflow-backup-key-id\x00" + key).hexdigest()[:16]


def passphrase_key(passphrase: str, salt: bytes) -> bytes:
    """A 32-byte key from a passphrase (scrypt n=2^15, r=8, p=1: ~0.1 s, 32 MiB)."""
    return Scrypt(salt=salt, length=KEY_BYTES, n=2**15, r=8, p=1).derive(passphrase.encode())


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
    """Sealed chunks in, plaintext out; raises SealError naming the file on any tamper."""

    def __init__(self, raw: IO[bytes], *, key: bytes, name: str) -> None:
        self._raw = raw
        self._name = name
        header = raw.read(_HEADER.size)
        if len(header) < _HEADER.size:
            raise SealError(f"{name}: truncated (no header)")
        magic, version, salt, chunk_size = _HEADER.unpack(header)
        if magic != MAGIC or version != VERSION:
            raise SealError(
                f"{name}: not a FisioFlow backup or archive file (or an unknown version)"
            )
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
            raise SealError(
                f"{self._name}: chunk {self._index} fails authentication "
                "(the file is corrupt or truncated)"
            ) from None
        self._index += 1
        self._done = last
        return plain
