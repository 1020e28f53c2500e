from __future__ import annotations

from collections.abc import Iterator

import pytest

from fisioflow.settings import Settings
from tests.fixtures.receivers import HttpReceiver, SmtpReceiver, http_receiver, smtp_receiver


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    yield from smtp_receiver()


@pytest.fixture
def provider() -> Iterator[HttpReceiver]:
    yield from http_receiver()


@pytest.fixture
def notify_settings(settings: Settings, smtp: SmtpReceiver, provider: HttpReceiver) -> Settings:
    return settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp.port,
            "messaging_provider_url": f"http://127.0.0.1:{provider.port}/messages",
            "notification_retry_base_s": 0.2,
            "notification_retry_max_s": 1.0,
            "breaker_threshold": 3,
            "breaker_cooldown_s": 1.0,
            "notification_lease_s": 2.0,
        }
    )
