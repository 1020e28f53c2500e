"""Backups to an S3-compatible server: moto's real HTTP server on loopback, boto3 over
the network, the same create/verify/restore/prune paths as the local folder."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer

from fisioflow.backup.service import Backups
from fisioflow.backup.storage import S3Storage
from fisioflow.core.database import DatabaseLocation
from fisioflow.settings import Settings
from tests.backup.conftest import drop, states
from tests.core.test_cli import free_port

BUCKET = "clinic-backups"


@pytest.fixture
def s3_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    # moto keeps its buckets per process, not per server: start each test empty.
    httpx.post(f"{endpoint}/moto-api/reset").raise_for_status()
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=BUCKET)
    yield endpoint
    server.stop()


@pytest.fixture
def s3_backups(settings: Settings, database: DatabaseLocation, s3_endpoint: str) -> Backups:
    configured = settings.model_copy(
        update={"backup_s3_bucket": BUCKET, "backup_s3_endpoint_url": s3_endpoint,
                "backup_s3_prefix": "prod/"}
    )  # fmt: skip
    return Backups.open(configured, database)


class TestS3Target:
    def test_round_trip_through_the_bucket(
        self, s3_backups: Backups, database: DatabaseLocation, s3_endpoint: str
    ) -> None:
        assert isinstance(s3_backups.storage, S3Storage)
        manifest = s3_backups.create()
        keys = {
            item["Key"]
            for item in boto3.client("s3", endpoint_url=s3_endpoint)
            .list_objects_v2(Bucket=BUCKET)
            .get("Contents", [])
        }
        assert keys == {
            f"prod/{manifest.id}/database.dump.zst.enc",
            f"prod/{manifest.id}/manifest.json",
        }
        assert [i.manifest.id for i in s3_backups.list_all()] == [manifest.id]

        assert s3_backups.verify(manifest.id).ok
        result = s3_backups.restore(manifest.id)
        try:
            live = states(database)
            del live["backup_verification"]  # the verification just recorded its result
            assert states(database, result.database) == live | {
                "backup_verification": manifest.tables["backup_verification"]
            }
        finally:
            drop(database, result.database)

    def test_an_upload_without_manifest_is_not_listed(
        self, s3_backups: Backups, s3_endpoint: str
    ) -> None:
        client = boto3.client("s3", endpoint_url=s3_endpoint)
        client.put_object(
            Bucket=BUCKET, Key="prod/20261124T000000Z-half/database.dump.zst.enc", Body=b"x"
        )
        assert s3_backups.list_all() == []

    def test_prune_deletes_objects(self, s3_backups: Backups, s3_endpoint: str) -> None:
        first, second = s3_backups.create(), s3_backups.create()
        assert s3_backups.prune() == [first.id]
        assert [i.manifest.id for i in s3_backups.list_all()] == [second.id]
