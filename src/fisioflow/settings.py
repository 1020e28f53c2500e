"""Settings read from the environment (and an optional `.env`), documented in the README."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", env_prefix="FISIOFLOW_", populate_by_name=True
    )

    database_url: str | None = Field(
        default=None,
        validation_alias="DATABASE_URL",
        description="Owner connection (runs migrations). Unset: embedded PostgreSQL.",
    )
    app_database_url: str | None = Field(
        default=None,
        validation_alias="APP_DATABASE_URL",
        description="Connection of the application role. Unset: derived from DATABASE_URL.",
    )
    app_database_password: SecretStr | None = None
    app_db_role: str = "fisioflow_app"
    data_dir: Path = Path(".fisioflow")
    embedded_db_name: str = "fisioflow"

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = Field(default=1, ge=1, le=64, description="API worker processes.")
    jobs_in_process: bool = Field(
        default=False, description="Run the job worker inside the API process (`run` sets it)."
    )
    environment: Literal["development", "test", "production"] = "development"
    log_level: str = "INFO"
    log_format: Literal["json", "console"] = "json"
    db_pool_size: int = 10
    db_max_overflow: int = 10
    db_statement_timeout_ms: int = 30_000
    shutdown_timeout_s: int = 20

    secret_key: SecretStr = Field(
        default=SecretStr(""),
        description="JWT signing key. Unset: a random key kept in the data folder.",
    )
    access_token_minutes: int = 15
    refresh_token_days: int = 30
    redis_url: str | None = Field(default=None, validation_alias="REDIS_URL")
    login_max_failures: int = 10
    login_window_minutes: int = 15
    ip_rate_limit: str = "60/minute"
    signup_rate_limit: str = "5/hour"

    worker_heartbeat_s: float = Field(
        default=10, gt=0, description="Worker heartbeat; 3 missed beats mark a worker stalled."
    )

    public_url: str = Field(
        default="http://127.0.0.1:8000", description="Base URL of links sent to patients."
    )
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_timeout_s: float = Field(default=15, gt=0)
    email_sender: str = "FisioFlow <nao-responda@fisioflow.local>"
    messaging_provider_url: str | None = Field(
        default=None, description="SMS/WhatsApp provider endpoint (POST JSON). Unset: disabled."
    )
    messaging_provider_token: SecretStr | None = None
    vapid_private_key: SecretStr | None = Field(
        default=None, description="Web-push VAPID key (PEM or base64url). Unset: push disabled."
    )
    vapid_subject: str = "mailto:suporte@fisioflow.local"
    notification_lanes: int = Field(default=4, ge=1, le=32)
    notification_batch: int = Field(default=100, ge=1, le=1000)
    notification_lease_s: float = Field(default=120, gt=0)
    notification_max_attempts: int = Field(default=8, ge=1, le=50)
    notification_retry_base_s: float = Field(default=30, gt=0)
    notification_retry_max_s: float = Field(default=3600, gt=0)
    breaker_threshold: int = Field(default=5, ge=1)
    breaker_cooldown_s: float = Field(default=60, gt=0)
    branch: str | None = Field(
        default=None, description="Serve a database branch instead of main (`--branch`)."
    )
    neon_api_key: SecretStr | None = Field(default=None, validation_alias="NEON_API_KEY")
    neon_project_id: str | None = Field(default=None, validation_alias="NEON_PROJECT_ID")
    neon_api_url: str = "https://console.neon.tech/api/v2"
    export_key: SecretStr | None = Field(
        default=None,
        description="Clinic archive key: base64 of 32 bytes (openssl rand -base64 32).",
    )
    export_key_file: Path | None = Field(
        default=None, description="File holding the clinic archive key (base64)."
    )
    backup_dir: Path | None = Field(
        default=None, description="Backups folder. Unset: <data dir>/backups."
    )
    backup_key_file: Path | None = Field(
        default=None,
        description="Backup encryption key file. Unset: <data dir>/backup.key (embedded only).",
    )
    backup_s3_bucket: str | None = None
    backup_s3_prefix: str = "fisioflow/"
    backup_s3_endpoint_url: str | None = None
    backup_s3_region: str | None = None
    backup_keep_daily: int = Field(default=14, ge=1)
    backup_keep_weekly: int = Field(default=8, ge=0)
    backup_keep_monthly: int = Field(default=12, ge=0)
    backup_verify_max_age_hours: int = Field(default=48, ge=1)
    backup_schedule: bool = True
    backup_wal_archive: bool = True
    backup_archive_timeout_s: int = Field(default=60, ge=1, le=3600)

    @field_validator(
        "backup_dir", "backup_key_file", "backup_s3_bucket", "backup_s3_endpoint_url",
        "backup_s3_region", mode="before",
    )  # fmt: skip
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @property
    def embedded(self) -> bool:
        return self.database_url is None

    @property
    def backup_folder(self) -> Path:
        return (self.backup_dir or self.data_dir / "backups").expanduser().resolve()

    @property
    def backup_key_path(self) -> Path | None:
        if self.backup_key_file is not None:
            return self.backup_key_file.expanduser().resolve()
        if self.embedded:
            return (self.data_dir / "backup.key").expanduser().resolve()
        return None


@lru_cache
def get_settings() -> Settings:
    return Settings()
