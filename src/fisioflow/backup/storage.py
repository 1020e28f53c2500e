"""Where backups live: a local folder (default) or an S3-compatible bucket.

A backup is a folder (or key prefix) named by its id, holding its files and, written
last, `manifest.json`: a backup without a manifest is incomplete and is never listed.
Locally, files are written under `.partial-<id>/` and the folder is renamed to `<id>`
only once the manifest is in place, so a crash or a full disk leaves, at worst, a
`.partial-` folder that `backup prune` removes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol

from fisioflow.backup.archive import fsync_dir
from fisioflow.backup.manifest import MANIFEST_NAME

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef

PARTIAL_PREFIX = ".partial-"


class Storage(Protocol):
    where: str

    def writer(self, backup_id: str, name: str) -> contextlib.AbstractContextManager[BinaryIO]: ...
    def finish(self, backup_id: str, manifest: bytes) -> None: ...
    def abort(self, backup_id: str) -> None: ...
    def manifests(self) -> dict[str, bytes]: ...
    def reader(self, backup_id: str, name: str) -> contextlib.AbstractContextManager[BinaryIO]: ...
    def delete(self, backup_id: str) -> None: ...
    def leftovers(self, *, older_than: dt.datetime) -> list[str]: ...


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.where = str(root)

    def _partial(self, backup_id: str) -> Path:
        return self.root / f"{PARTIAL_PREFIX}{backup_id}"

    @contextmanager
    def writer(self, backup_id: str, name: str) -> Iterator[BinaryIO]:
        folder = self._partial(backup_id)
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        with (folder / name).open("xb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())

    def finish(self, backup_id: str, manifest: bytes) -> None:
        folder = self._partial(backup_id)
        with (folder / MANIFEST_NAME).open("xb") as handle:
            handle.write(manifest)
            handle.flush()
            os.fsync(handle.fileno())
        folder.rename(self.root / backup_id)
        fsync_dir(self.root)

    def abort(self, backup_id: str) -> None:
        shutil.rmtree(self._partial(backup_id), ignore_errors=True)

    def manifests(self) -> dict[str, bytes]:
        if not self.root.is_dir():
            return {}
        found = {}
        for folder in self.root.iterdir():
            manifest = folder / MANIFEST_NAME
            if folder.name.startswith(".") or not manifest.is_file():
                continue
            found[folder.name] = manifest.read_bytes()
        return found

    @contextmanager
    def reader(self, backup_id: str, name: str) -> Iterator[BinaryIO]:
        with (self.root / backup_id / name).open("rb") as handle:
            yield handle

    def delete(self, backup_id: str) -> None:
        shutil.rmtree(self.root / backup_id)

    def leftovers(self, *, older_than: dt.datetime) -> list[str]:
        """Removes incomplete backups (failed, or crashed) untouched since `older_than`:
        a younger one may still be being written by another process."""
        if not self.root.is_dir():
            return []
        removed = []
        for folder in self.root.iterdir():
            if folder.name.startswith(PARTIAL_PREFIX) and _touched(folder) < older_than:
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder.name.removeprefix(PARTIAL_PREFIX))
        return removed


class S3Storage:
    """Objects `<prefix><id>/<name>`; files are spooled to a local temporary file (they
    are already encrypted) and uploaded whole by boto3's multipart transfer."""

    def __init__(self, client: S3Client, *, bucket: str, prefix: str, spool: Path) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.spool = spool
        self.where = f"s3://{bucket}/{prefix}"

    def _key(self, backup_id: str, name: str) -> str:
        return f"{self.prefix}{backup_id}/{name}"

    @contextmanager
    def writer(self, backup_id: str, name: str) -> Iterator[BinaryIO]:
        self.spool.mkdir(parents=True, exist_ok=True, mode=0o700)
        with tempfile.TemporaryFile(dir=self.spool) as handle:
            yield handle
            handle.seek(0)
            self.client.upload_fileobj(handle, self.bucket, self._key(backup_id, name))

    def finish(self, backup_id: str, manifest: bytes) -> None:
        self.client.put_object(
            Bucket=self.bucket, Key=self._key(backup_id, MANIFEST_NAME), Body=manifest
        )

    def abort(self, backup_id: str) -> None:
        self.delete(backup_id)

    def _keys(self, prefix: str) -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                yield item["Key"]

    def manifests(self) -> dict[str, bytes]:
        found = {}
        for key in self._keys(self.prefix):
            backup_id, _, name = key[len(self.prefix) :].partition("/")
            if name == MANIFEST_NAME:
                body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
                found[backup_id] = body.read()
        return found

    @contextmanager
    def reader(self, backup_id: str, name: str) -> Iterator[BinaryIO]:
        self.spool.mkdir(parents=True, exist_ok=True, mode=0o700)
        with tempfile.TemporaryFile(dir=self.spool) as handle:
            self.client.download_fileobj(self.bucket, self._key(backup_id, name), handle)
            handle.seek(0)
            yield handle

    def delete(self, backup_id: str) -> None:
        keys = list(self._keys(f"{self.prefix}{backup_id}/"))
        for start in range(0, len(keys), 1000):
            batch: list[ObjectIdentifierTypeDef] = [{"Key": k} for k in keys[start : start + 1000]]
            self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch})

    def leftovers(self, *, older_than: dt.datetime) -> list[str]:
        """Removes prefixes with files but no manifest (uploads that failed part way)
        whose newest object is older than `older_than`."""
        newest: dict[str, dt.datetime] = {}
        complete = set()
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            for item in page.get("Contents", []):
                backup_id, _, name = item["Key"][len(self.prefix) :].partition("/")
                if name == MANIFEST_NAME:
                    complete.add(backup_id)
                seen = newest.get(backup_id, item["LastModified"])
                newest[backup_id] = max(seen, item["LastModified"])
        stale = sorted(
            backup_id
            for backup_id, when in newest.items()
            if backup_id not in complete and when < older_than
        )
        for backup_id in stale:
            self.delete(backup_id)
        return stale


def _touched(folder: Path) -> dt.datetime:
    times = [folder.stat().st_mtime, *(p.stat().st_mtime for p in folder.iterdir())]
    return dt.datetime.fromtimestamp(max(times), dt.UTC)
