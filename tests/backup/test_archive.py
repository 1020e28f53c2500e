"""The sealed stream format, the manifest's seal and the retention rule (no database)."""

from __future__ import annotations

import datetime as dt
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fisioflow.backup.archive import CHUNK_SIZE, ArchiveError, opened_reader, sealed_writer
from fisioflow.backup.keys import BackupKeyError, create_key_file, key_id, read_key_file
from fisioflow.backup.manifest import FileEntry, Manifest, ManifestError, authenticate, seal
from fisioflow.backup.retention import Policy, to_keep
from fisioflow.backup.wal import unseal

KEY = bytes(range(32))
# Incompressible, so the sealed file spans several chunks.
DATA = os.urandom(CHUNK_SIZE * 2 + 12345)


def sealed(data: bytes = DATA, *, key: bytes = KEY, name: str = "f") -> bytes:
    out = io.BytesIO()
    with sealed_writer(out, key=key, name=name) as writer:
        writer.write(data)
    return out.getvalue()


def opened(raw: bytes, *, key: bytes = KEY, name: str = "f") -> bytes:
    with opened_reader(io.BytesIO(raw), key=key, name=name) as reader:
        return reader.read()


class TestSealedStream:
    @pytest.mark.parametrize("size", [0, 1, CHUNK_SIZE, len(DATA)])
    def test_round_trip(self, size: int) -> None:
        assert opened(sealed(DATA[:size])) == DATA[:size]

    def test_plaintext_does_not_appear(self) -> None:
        secret = b"Maria Aparecida da Silva " * 1000
        assert b"Maria" not in sealed(secret)

    def test_one_flipped_byte_fails(self) -> None:
        raw = bytearray(sealed())
        raw[len(raw) // 2] ^= 1
        with pytest.raises(ArchiveError, match="fails authentication"):
            opened(bytes(raw))

    def test_truncation_at_a_chunk_boundary_fails(self) -> None:
        raw = sealed()
        header = 4 + 1 + 32 + 4
        with pytest.raises(ArchiveError, match="chunk 1 fails"):
            opened(raw[: header + 2 * (CHUNK_SIZE + 16)])

    def test_reordered_chunks_fail(self) -> None:
        raw = sealed()
        header, size = 41, CHUNK_SIZE + 16
        first, second = raw[header : header + size], raw[header + size : header + 2 * size]
        swapped = raw[:header] + second + first + raw[header + 2 * size :]
        with pytest.raises(ArchiveError, match="chunk 0 fails"):
            opened(swapped)

    def test_other_key_or_other_file_name_fails(self) -> None:
        raw = sealed()
        with pytest.raises(ArchiveError):
            opened(raw, key=bytes(32))
        with pytest.raises(ArchiveError):
            opened(raw, name="other")

    def test_not_a_backup_file(self) -> None:
        with pytest.raises(ArchiveError, match="not a FisioFlow backup"):
            opened(b"PGDMP" + bytes(100))


def manifest() -> Manifest:
    now = dt.datetime.now(dt.UTC)
    return Manifest(
        id="x", kind="dump", label="manual", created_at=now, finished_at=now, database="d",
        postgres_version="18.1", tool_version="18.1", alembic_revision="r", key_id=key_id(KEY),
        tables={}, files=[FileEntry(name="f", sha256="0" * 64, bytes=1, plain_bytes=1)],
    )  # fmt: skip


class TestManifestSeal:
    def test_authentic_manifest_reads_back(self) -> None:
        original = manifest()
        assert authenticate(seal(original, KEY), KEY, source="x") == original

    def test_wrong_key_is_named(self) -> None:
        with pytest.raises(ManifestError, match="wrong backup key"):
            authenticate(seal(manifest(), KEY), bytes(32), source="x")

    def test_edited_manifest_is_refused(self) -> None:
        raw = seal(manifest(), KEY).replace(b"18.1", b"18.2")
        with pytest.raises(ManifestError, match="modified"):
            authenticate(raw, KEY, source="x")


class TestKeyFile:
    def test_created_with_mode_0600_and_never_overwritten(self, tmp_path: Path) -> None:
        path = tmp_path / "k"
        key = create_key_file(path)
        assert oct(path.stat().st_mode & 0o777) == "0o600"
        assert read_key_file(path) == key
        with pytest.raises(BackupKeyError, match="never overwritten"):
            create_key_file(path)

    def test_malformed_key_is_refused(self, tmp_path: Path) -> None:
        path = tmp_path / "k"
        path.write_text("short")
        with pytest.raises(BackupKeyError, match="32 bytes"):
            read_key_file(path)


class TestRetention:
    NOW = dt.datetime(2026, 11, 24, 12, tzinfo=dt.UTC)

    def daily_for(self, days: int) -> dict[str, dt.datetime]:
        return {f"d{n}": self.NOW - dt.timedelta(days=n, hours=1) for n in range(days)}

    def test_keeps_daily_then_weekly_then_monthly(self) -> None:
        created = self.daily_for(500)
        kept = to_keep(created, now=self.NOW, policy=Policy(daily=14, weekly=8, monthly=12))
        ages = sorted((self.NOW - created[k]).days for k in kept)
        assert ages[:14] == list(range(14))  # every day of the last two weeks
        # then one per ISO week (plus the newest of each month that ends in between)
        assert len([a for a in ages if 14 <= a < 56]) <= 8
        assert max(ages) < 366  # nothing older than 12 months
        assert 20 <= len(kept) <= 14 + 8 + 12

    def test_newest_is_kept_whatever_its_age(self) -> None:
        created = {"old": self.NOW - dt.timedelta(days=900)}
        assert to_keep(created, now=self.NOW, policy=Policy()) == {"old"}

    def test_several_a_day_keep_the_newest_of_the_day(self) -> None:
        created = {
            "morning": self.NOW - dt.timedelta(days=3, hours=6),
            "evening": self.NOW - dt.timedelta(days=3, hours=1),
            "today": self.NOW,
        }
        assert to_keep(created, now=self.NOW, policy=Policy()) == {"evening", "today"}


class TestSelfHostedArchiveCommand:
    def test_push_seals_a_segment_that_unseal_gives_back(self, tmp_path: Path) -> None:
        key_file = tmp_path / "key"
        key = create_key_file(key_file)
        segment = tmp_path / "000000010000000000000007"
        segment.write_bytes(b"Paciente Zuleica " * 1000)
        archive = tmp_path / "wal"
        command = [sys.executable, "-m", "fisioflow.backup.wal", "push", "--dir", str(archive),
                   "--key-file", str(key_file), str(segment), segment.name]  # fmt: skip
        assert subprocess.run(command, check=False).returncode == 0
        assert subprocess.run(command, check=False).returncode == 0  # a retry is fine
        sealed = archive / f"{segment.name}.zst.enc"
        assert b"Zuleica" not in sealed.read_bytes()
        restored = tmp_path / "restored"
        restored.mkdir()
        assert unseal(archive, restored, key=key, from_segment="000000010000000000000001") == 1
        assert (restored / segment.name).read_bytes() == segment.read_bytes()
