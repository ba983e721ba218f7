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
    jwt_algorithm: str = Field("HS256", pattern=r"^HS(256|384|512)$")  # HMAC only: the secret signs and verifies
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
    api_key_touch_seconds: int = 60  # last_used_at is written at most this often per key

    # GraphQL: documents past these limits are refused before they run (code query_too_complex).
    graphql_max_depth: int = Field(10, ge=2)
    graphql_max_aliases: int = Field(30, ge=1)
    graphql_max_tokens: int = Field(5000, ge=100)
    graphql_max_cost: int = Field(20000, ge=100)  # fields x page sizes, see graph/limits.py
    graphql_connection_init_seconds: float = Field(10.0, gt=0)
    graphql_max_subscriptions: int = Field(20, ge=1)  # per websocket connection
    # A subscriber's credentials are checked again before an event when this long has passed since the last check.
    graphql_subscription_recheck_seconds: float = Field(30.0, ge=0)

    # Webhooks
    webhook_allow_private: bool = False
    webhook_worker: bool = True
    # Seconds before retry 1, 2, ...; tries = len + 1, then the delivery is failed.
    webhook_retry_schedule: Annotated[list[float], NoDecode] = [5, 30, 120, 600, 3600, 21600]
    webhook_timeout_seconds: float = Field(10.0, gt=0)
    webhook_blocking_timeout_seconds: float = Field(3.0, gt=0)
    webhook_poll_interval_seconds: float = Field(1.0, gt=0)
    webhook_lease_seconds: float = Field(60.0, gt=0)  # a claimed delivery is re-claimable after this
    webhook_stage_timeout_seconds: float = Field(30.0, gt=0)  # unconfirmed outbox entries are then checked
    webhook_concurrency: int = Field(32, ge=1)
    webhook_concurrency_per_target: int = Field(4, ge=1)
    webhook_secret_key: SecretStr | None = None  # encrypts stored signing secrets; default: derived from JWT secret

    @field_validator("jwt_secret")
    @classmethod
    def _long_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("HARI_JWT_SECRET must be at least 32 characters (e.g. `openssl rand -hex 32`).")
        return value

    @field_validator("rate_limit_authenticated", "rate_limit_login", "rate_limit_bulk", "rate_limit_anonymous")
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        from limits import parse

        parse(value)  # raises ValueError on a malformed limit such as "300/fortnight"
        return value

    @field_validator("cors_origins", "base_domains", "webhook_retry_schedule", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value


def get_settings() -> Settings:
    return Settings()
