"""The clinic archive: a gzip'd tar of `manifest.json` and `tables/<table>.jsonl`, sealed
with chunked AES-256-GCM (`core/sealing.py`, the same construction as backups).

File layout: `FFCLINIC` | kdf (1 byte: 0 key, 1 passphrase) | salt (16) | key id (16,
`sealing.key_id` of the sealing key: tells a wrong key from a damaged file) | a sealed
stream. The sealing key is the 32-byte key itself, or scrypt(passphrase, salt).

Each JSON Lines file holds one row per line as PostgreSQL's `to_jsonb(row)` renders it,
so every type round-trips through `jsonb_populate_recordset` on import. The manifest names
the format version, the schema revision, the clinic, and each table's row count and
SHA-256 (of the file's bytes). Decrypted: `tar xzf` and any JSON tool read it, which is
what LGPD portability asks for.

Trap: tables are spooled to anonymous temporary files (memory up to 16 MiB each, then
an unlinked file in TMPDIR) while their size and hash are computed; plaintext never has
a name on disk, and the archive itself is written to `<file>.partial` and renamed only
once complete.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import struct
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO

from fisioflow.core.sealing import (
    CHUNK_SIZE,
    DecryptingReader,
    EncryptingWriter,
    SealError,
    key_id,
    passphrase_key,
)
from fisioflow.portability.keys import Secret

FORMAT = "fisioflow-clinic-export"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
_SPOOL = 16 << 20
_MAGIC = b"FFCLINIC"
_KEY, _PASSPHRASE = 0, 1
_PREAMBLE = struct.Struct(">8sB16s16s")
_STREAM = "clinic-archive"  # the sealed stream's name (bound into its key)


class ArchiveError(RuntimeError):
    """The archive cannot be used; the message says why in one line."""


@dataclass(frozen=True)
class TableEntry:
    name: str
    file: str
    rows: int
    sha256: str


@dataclass
class Manifest:
    clinic: dict[str, str]
    schema_revision: list[str]
    postgres_version: str
    fisioflow_version: str
    created_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat())
    tables: list[TableEntry] = field(default_factory=list)
    format: str = FORMAT
    format_version: int = FORMAT_VERSION

    def rows(self) -> dict[str, int]:
        return {t.name: t.rows for t in self.tables}

    @classmethod
    def parse(cls, raw: bytes) -> Manifest:
        try:
            data = json.loads(raw)
            if data.get("format") != FORMAT:
                raise ArchiveError("not a FisioFlow clinic export (manifest format)")
            if data.get("format_version") != FORMAT_VERSION:
                raise ArchiveError(
                    f"archive format version {data.get('format_version')} is not supported "
                    f"(this FisioFlow reads version {FORMAT_VERSION})"
                )
            data["tables"] = [TableEntry(**t) for t in data["tables"]]
            return cls(**data)
        except (ValueError, TypeError, KeyError) as exc:
            raise ArchiveError(f"the archive manifest is malformed ({exc})") from exc


class TableSpool:
    """One table's JSON Lines, counted and hashed as they are written."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.rows = 0
        self.file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=_SPOOL)  # noqa: SIM115
        self._hash = hashlib.sha256()

    def write(self, line: str) -> None:
        data = line.encode() + b"\n"
        self.file.write(data)
        self._hash.update(data)
        self.rows += 1

    def entry(self) -> TableEntry:
        return TableEntry(self.name, f"tables/{self.name}.jsonl", self.rows, self._hash.hexdigest())


def write_archive(path: Path, manifest: Manifest, spools: list[TableSpool], secret: Secret) -> None:
    """Seal the manifest and the tables into `path` (atomically: .partial, then rename)."""
    manifest.tables = [s.entry() for s in spools]
    partial = path.with_name(path.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as sink:
            sealed = _sealing(sink, secret)
            with tarfile.open(fileobj=sealed, mode="w|gz") as tar:
                _add(tar, MANIFEST, io.BytesIO(_manifest_bytes(manifest)))
                for spool, entry in zip(spools, manifest.tables, strict=True):
                    spool.file.seek(0)
                    _add(tar, entry.file, spool.file)
            sealed.close()
            os.fsync(sink.fileno())
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _sealing(sink: IO[bytes], secret: Secret) -> EncryptingWriter:
    kdf = _KEY if secret.passphrase is None else _PASSPHRASE
    salt = os.urandom(16)
    key = _key(secret, kdf, salt)
    sink.write(_PREAMBLE.pack(_MAGIC, kdf, salt, key_id(key).encode()))
    return EncryptingWriter(sink, key=key, name=_STREAM)


def _key(secret: Secret, kdf: int, salt: bytes) -> bytes:
    if kdf == _PASSPHRASE:
        if secret.passphrase is None:
            raise ArchiveError("this file was encrypted with a passphrase: give --passphrase")
        return passphrase_key(secret.passphrase, salt)
    if secret.key is None:
        raise ArchiveError("this file was encrypted with a key, not a passphrase: give the key")
    return secret.key


def _unseal(source: IO[bytes], sink: _Gunzip, secret: Secret) -> None:
    preamble = source.read(_PREAMBLE.size)
    if len(preamble) < _PREAMBLE.size or not preamble.startswith(_MAGIC):
        raise ArchiveError("not a FisioFlow clinic archive (bad header)")
    _, kdf, salt, expected = _PREAMBLE.unpack(preamble)
    key = _key(secret, kdf, salt)
    if key_id(key).encode() != expected:
        raise ArchiveError("wrong key or passphrase (or a damaged header)")
    reader = DecryptingReader(source, key=key, name=_STREAM)
    buffer = bytearray(CHUNK_SIZE)
    try:
        while size := reader.readinto(buffer):
            sink.write(bytes(buffer[:size]))
    except SealError:
        raise ArchiveError("the file is damaged or truncated (it fails authentication)") from None


def _manifest_bytes(manifest: Manifest) -> bytes:
    return json.dumps(asdict(manifest), indent=2, ensure_ascii=False).encode()


def _add(tar: tarfile.TarFile, name: str, data: IO[bytes]) -> None:
    size = data.seek(0, io.SEEK_END)
    data.seek(0)
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o600
    tar.addfile(info, data)


class OpenArchive:
    """A decrypted, verified archive: the manifest and each table's lines."""

    def __init__(self, tar: tarfile.TarFile, manifest: Manifest) -> None:
        self._tar = tar
        self.manifest = manifest

    def lines(self, table: str) -> Iterator[bytes]:
        entry = next(t for t in self.manifest.tables if t.name == table)
        member = self._tar.extractfile(entry.file)
        assert member is not None
        yield from member


@contextmanager
def open_archive(path: Path, secret: Secret) -> Iterator[OpenArchive]:
    """Decrypt and authenticate all of `path`, then check every table against the
    manifest, before anything reads a row."""
    with tempfile.TemporaryFile() as plain:
        try:
            with path.open("rb") as source:
                _unseal(source, _Gunzip(plain), secret)
        except OSError as exc:
            raise ArchiveError(f"cannot read {path}: {exc.strerror}") from exc
        except ArchiveError as exc:
            raise ArchiveError(f"{path.name}: {exc}") from exc
        plain.seek(0)
        with tarfile.open(fileobj=plain, mode="r:") as tar:
            opened = OpenArchive(tar, _read_manifest(tar))
            _verify(opened)
            yield opened


class _Gunzip:
    def __init__(self, sink: BinaryIO) -> None:
        self._sink = sink
        self._inflate = zlib.decompressobj(wbits=31)

    def write(self, data: bytes) -> int:
        try:
            self._sink.write(self._inflate.decompress(data))
        except zlib.error as exc:
            raise ArchiveError(f"the archive content is not gzip ({exc})") from exc
        return len(data)


def _read_manifest(tar: tarfile.TarFile) -> Manifest:
    try:
        member = tar.extractfile(MANIFEST)
    except (KeyError, tarfile.TarError) as exc:
        raise ArchiveError("the archive has no manifest.json") from exc
    assert member is not None
    return Manifest.parse(member.read())


def _verify(archive: OpenArchive) -> None:
    for entry in archive.manifest.tables:
        digest, rows = hashlib.sha256(), 0
        try:
            for line in archive.lines(entry.name):
                digest.update(line)
                rows += 1
        except KeyError as exc:
            raise ArchiveError(f"the archive lacks {entry.file}") from exc
        if digest.hexdigest() != entry.sha256 or rows != entry.rows:
            raise ArchiveError(f"{entry.file} does not match its checksum in the manifest")


def row_json(line: bytes | str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(line)
    return value
