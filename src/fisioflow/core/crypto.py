"""Streaming authenticated encryption: AES-256-GCM in chunks (`cryptography`).

AES-GCM is a one-shot construction, so a large stream is cut into 1 MiB chunks, each
sealed on its own with the STREAM layout (Hoang, Reyhanitabar, Rogaway, Vizár): the nonce
is a random 7-byte prefix, a 4-byte chunk counter and a 1-byte "last chunk" flag, and the
header is the associated data of every chunk. Reordered, dropped, truncated or altered
chunks fail authentication; a wrong key fails on the key check right after the header.

Layout: MAGIC | kdf (1 byte: 0 raw key, 1 scrypt passphrase) | salt (16) | nonce prefix
(7) | key check (16-byte tag of an empty message) | chunks, each `length (4, big-endian) |
ciphertext+tag`.

Keys: 32 random bytes, given base64-encoded (`openssl rand -base64 32`) in a setting or a
file, or a passphrase stretched with scrypt (n=2^15, r=8, p=1) and the header's salt.
"""

from __future__ import annotations

import base64
import binascii
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

MAGIC = b"FFENC1"
CHUNK = 1 << 20
_RAW, _SCRYPT = 0, 1
_HEADER = struct.Struct(">6sB16s7s")
_CHECK_NONCE_TAIL = b"\xff\xff\xff\xff\x02"
_LENGTH = struct.Struct(">I")
_TAG = 16


class Sink(Protocol):
    def write(self, data: bytes, /) -> object: ...


class CryptoError(ValueError):
    """Bad key material, a wrong key, or damaged ciphertext: one line for a person."""


@dataclass(frozen=True, repr=False)
class Secret:
    """A raw 32-byte key or a passphrase (never printed)."""

    key: bytes | None = None
    passphrase: str | None = None

    def derive(self, kdf: int, salt: bytes) -> bytes:
        if kdf == _SCRYPT:
            if self.passphrase is None:
                raise CryptoError("this file was encrypted with a passphrase: give --passphrase")
            return Scrypt(salt=salt, length=32, n=2**15, r=8, p=1).derive(self.passphrase.encode())
        if self.key is None:
            raise CryptoError("this file was encrypted with a key, not a passphrase: give the key")
        return self.key


def parse_key(text: str | bytes, *, source: str) -> Secret:
    """A base64 key (32 bytes once decoded), as written by `openssl rand -base64 32`."""
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise CryptoError(f"{source}: not base64 (make one with openssl rand -base64 32)") from exc
    if len(key) != 32:
        raise CryptoError(f"{source}: the key must be 32 bytes, got {len(key)}")
    return Secret(key=key)


def key_from_file(path: Path) -> Secret:
    try:
        return parse_key(path.read_bytes(), source=str(path))
    except OSError as exc:
        raise CryptoError(f"cannot read key file {path}: {exc.strerror}") from exc


class EncryptingWriter:
    """Write plaintext in, sealed chunks go to `sink`; `close()` seals the last chunk."""

    def __init__(self, sink: BinaryIO, secret: Secret) -> None:
        kdf = _SCRYPT if secret.passphrase is not None else _RAW
        salt = os.urandom(16) if kdf == _SCRYPT else bytes(16)
        self._prefix = os.urandom(7)
        self._header = _HEADER.pack(MAGIC, kdf, salt, self._prefix)
        self._aead = AESGCM(secret.derive(kdf, salt))
        self._sink = sink
        self._buffer = bytearray()
        self._counter = 0
        check = self._aead.encrypt(self._prefix + _CHECK_NONCE_TAIL, b"", self._header)
        sink.write(self._header + check)

    def write(self, data: bytes) -> int:
        self._buffer += data
        while len(self._buffer) > CHUNK:
            self._seal(bytes(self._buffer[:CHUNK]), last=False)
            del self._buffer[:CHUNK]
        return len(data)

    def flush(self) -> None:
        self._sink.flush()

    def close(self) -> None:
        self._seal(bytes(self._buffer), last=True)
        self._buffer.clear()
        self._sink.flush()

    def _seal(self, plain: bytes, *, last: bool) -> None:
        sealed = self._aead.encrypt(_nonce(self._prefix, self._counter, last), plain, self._header)
        self._sink.write(_LENGTH.pack(len(sealed)) + sealed)
        self._counter += 1


def decrypt(source: BinaryIO, sink: Sink, secret: Secret) -> None:
    """Authenticate and decrypt everything from `source` into `sink`, or raise CryptoError."""
    header = source.read(_HEADER.size)
    if len(header) < _HEADER.size or not header.startswith(MAGIC):
        raise CryptoError("not an encrypted FisioFlow file (bad header)")
    _, kdf, salt, prefix = _HEADER.unpack(header)
    aead = AESGCM(secret.derive(kdf, salt))
    try:
        aead.decrypt(prefix + _CHECK_NONCE_TAIL, source.read(_TAG), header)
    except InvalidTag:
        raise CryptoError("wrong key or passphrase (or a damaged header)") from None
    counter = 0
    while True:
        size = source.read(_LENGTH.size)
        if len(size) < _LENGTH.size:
            raise CryptoError("the file is truncated: its last chunk is missing")
        sealed = source.read(_LENGTH.unpack(size)[0])
        last = _open_chunk(aead, prefix, counter, sealed, header, sink)
        if last:
            break
        counter += 1
    if source.read(1):
        raise CryptoError("the file has data after its last chunk")


def _open_chunk(
    aead: AESGCM, prefix: bytes, counter: int, sealed: bytes, header: bytes, sink: Sink
) -> bool:
    for last in (False, True):
        try:
            sink.write(aead.decrypt(_nonce(prefix, counter, last), sealed, header))
        except InvalidTag:
            continue
        return last
    raise CryptoError(f"the file is damaged: chunk {counter} fails authentication")


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    return prefix + struct.pack(">IB", counter, 1 if last else 0)
