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
