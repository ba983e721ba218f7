"""Settings from the environment (prefix ``HARI_``), read once per process."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HARI_", env_file=".env", extra="ignore")

    # Database: unset means "start the embedded FerretDB".
    mongodb_url: str | None = None
    db_prefix: str = Field("hari", pattern=r"^[a-z][a-z0-9]{0,15}$")
    data_dir: Path = Path(".data")
    cache_dir: Path = Path(".cache")
    ferretdb_bin: Path | None = None
    mongodb_timeout_ms: int = 5000

    # HTTP
    host: str = "127.0.0.1"
    port: int = Field(8000, validation_alias=AliasChoices("PORT", "HARI_PORT"))
    workers: int = 1
    cors_origins: Annotated[list[str], NoDecode] = []
    max_body_bytes: int = 5 * 1024 * 1024
    log_level: str = "INFO"
    graceful_shutdown_seconds: int = 30

    # Workspaces
    default_workspace: str = "default"
    base_domains: Annotated[list[str], NoDecode] = ["localhost"]

    # Identity
    admin_email: str | None = None
    admin_password: SecretStr | None = None
    jwt_secret: SecretStr | None = None
    jwt_algorithm: str = "HS256"
    access_token_ttl_seconds: int = 3600
    refresh_token_ttl_seconds: int = 30 * 24 * 3600
    argon2_time_cost: int = 3
    argon2_memory_cost: int = 65536

    # Rate limits (the `limits` package's notation)
    rate_limit_storage: str = "memory://"
    rate_limit_authenticated: str = "300/minute"
    rate_limit_login: str = "5/15minutes"
    rate_limit_bulk: str = "20/minute"
    rate_limit_anonymous: str = "120/minute"

    # Webhooks
    webhook_allow_private: bool = False
    webhook_worker: bool = True

    @field_validator("cors_origins", "base_domains", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value


def get_settings() -> Settings:
    return Settings()
