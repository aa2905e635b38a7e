"""Settings: environment variables (and `.env`), plus an optional `tenants.yml`.

The names are a contract (design.md): DATABASE_URL, INDIGITALL_BASE_URL, INDIGITALL_SERVER_KEY,
INDIGITALL_APP_ID, TENANT_ID, TENANT_TIMEZONE, RUNS_DIR, PIPELINE_API_TOKEN, and one database login
per kind of process beside the owner's DATABASE_URL: APP_DATABASE_URL, ANALYST_DATABASE_URL,
PIPELINE_DATABASE_URL, DBT_DATABASE_URL (`lib.db.logins`).
Secrets are `SecretStr`: their repr/str never shows the value; call `.get_secret_value()` at the
last moment (an HTTP header, a connect call), never to build a message.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The owner's URL and the application logins' URLs (each a secret: it holds a password).
DATABASE_URL_FIELDS = (
    "database_url",
    "app_database_url",
    "analyst_database_url",
    "pipeline_database_url",
    "dbt_database_url",
)
DEFAULT_BASE_URL = "https://am1.api.indigitall.com"


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names it (never its value if secret)."""


class Settings(BaseSettings):
    """Process-wide settings read from the environment and `.env`."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    database_url: SecretStr | None = Field(default=None, alias="DATABASE_URL")
    app_database_url: SecretStr | None = Field(default=None, alias="APP_DATABASE_URL")
    analyst_database_url: SecretStr | None = Field(default=None, alias="ANALYST_DATABASE_URL")
    pipeline_database_url: SecretStr | None = Field(default=None, alias="PIPELINE_DATABASE_URL")
    dbt_database_url: SecretStr | None = Field(default=None, alias="DBT_DATABASE_URL")
    indigitall_base_url: str = Field(default=DEFAULT_BASE_URL, alias="INDIGITALL_BASE_URL")
    indigitall_server_key: SecretStr | None = Field(default=None, alias="INDIGITALL_SERVER_KEY")
    indigitall_app_id: str | None = Field(default=None, alias="INDIGITALL_APP_ID")
    tenant_id: str = Field(default="demo", alias="TENANT_ID")
    tenant_timezone: str = Field(default="America/Bogota", alias="TENANT_TIMEZONE")
    runs_dir: Path = Field(default=Path("runs"), alias="RUNS_DIR")
    pipeline_api_token: SecretStr | None = Field(default=None, alias="PIPELINE_API_TOKEN")
    tenants_file: Path = Field(default=Path("tenants.yml"), alias="TENANTS_FILE")
    data_dir: Path = Field(default=PROJECT_ROOT / ".data", alias="BI_DATA_DIR")

    @field_validator(
        "database_url",
        "app_database_url",
        "analyst_database_url",
        "pipeline_database_url",
        "dbt_database_url",
        "indigitall_server_key",
        "pipeline_api_token",
        mode="before",
    )
    @classmethod
    def _empty_is_none(cls, v: object) -> object:
        return None if v in ("", None) else v

    @field_validator("indigitall_app_id", mode="before")
    @classmethod
    def _empty_app_is_none(cls, v: object) -> object:
        return None if v in ("", None) else v

    @field_validator("tenant_timezone")
    @classmethod
    def _valid_tz(cls, v: str) -> str:
        check_timezone(v)
        return v

    @property
    def runs_path(self) -> Path:
        """RUNS_DIR resolved against the project root when relative."""
        return self.runs_dir if self.runs_dir.is_absolute() else PROJECT_ROOT / self.runs_dir


def check_timezone(name: str) -> ZoneInfo:
    """Return the zone or raise ConfigError naming it."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"unknown time zone {name!r} (use an IANA name such as America/Bogota)") from exc


@dataclass(frozen=True)
class TenantConfig:
    """One tenant: where its API lives, which applications, its time zone, where its key is."""

    id: str
    name: str
    base_url: str = DEFAULT_BASE_URL
    application_ids: tuple[str, ...] = ()
    timezone: str = "America/Bogota"
    server_key_env: str = "INDIGITALL_SERVER_KEY"
    extra: dict = field(default_factory=dict, compare=False, repr=False)

    def server_key(self) -> SecretStr | None:
        """The tenant's ServerKey, read from the env var it names (never stored on the object)."""
        value = os.environ.get(self.server_key_env)
        if value:
            return SecretStr(value)
        if self.server_key_env == "INDIGITALL_SERVER_KEY":
            return get_settings().indigitall_server_key
        return None

    @property
    def application_id(self) -> str | None:
        """The first (primary) application id, if any."""
        return self.application_ids[0] if self.application_ids else None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings of this process (cached; call `reload_settings()` after changing the env)."""
    return Settings()


def reload_settings() -> Settings:
    """Drop the cache and read the environment again."""
    get_settings.cache_clear()
    return get_settings()


def _tenant_from_mapping(raw: dict, settings: Settings) -> TenantConfig:
    missing = [k for k in ("id",) if not raw.get(k)]
    if missing:
        raise ConfigError(f"tenants.yml: a tenant lacks {', '.join(missing)}")
    apps = raw.get("application_ids") or raw.get("applications") or []
    if isinstance(apps, str | int):
        apps = [apps]
    tz = raw.get("timezone") or raw.get("time_zone") or settings.tenant_timezone
    check_timezone(tz)
    known = {
        "id",
        "name",
        "base_url",
        "application_ids",
        "applications",
        "timezone",
        "time_zone",
        "server_key_env",
    }
    return TenantConfig(
        id=str(raw["id"]),
        name=str(raw.get("name") or raw["id"]),
        base_url=str(raw.get("base_url") or settings.indigitall_base_url),
        application_ids=tuple(str(a) for a in apps),
        timezone=tz,
        server_key_env=str(raw.get("server_key_env") or "INDIGITALL_SERVER_KEY"),
        extra={k: v for k, v in raw.items() if k not in known},
    )


def load_tenants(settings: Settings | None = None) -> list[TenantConfig]:
    """Tenants from `tenants.yml` when it exists, else the single tenant of the env vars."""
    settings = settings or get_settings()
    path = settings.tenants_file
    if not path.is_absolute() and not path.exists():
        path = PROJECT_ROOT / path
    if path.exists():
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        items = doc.get("tenants", doc) if isinstance(doc, dict) else doc
        if not isinstance(items, list) or not items:
            raise ConfigError(f"{path}: expected a list under 'tenants:'")
        tenants = [_tenant_from_mapping(item, settings) for item in items]
        ids = [t.id for t in tenants]
        if len(set(ids)) != len(ids):
            raise ConfigError(f"{path}: duplicate tenant ids")
        return tenants
    apps = tuple(a.strip() for a in (settings.indigitall_app_id or "").split(",") if a.strip())
    return [
        TenantConfig(
            id=settings.tenant_id,
            name=settings.tenant_id,
            base_url=settings.indigitall_base_url,
            application_ids=apps,
            timezone=settings.tenant_timezone,
        )
    ]


def get_tenant(tenant_id: str | None = None, settings: Settings | None = None) -> TenantConfig:
    """The tenant with this id (default: TENANT_ID, or the only one in tenants.yml)."""
    tenants = load_tenants(settings)
    if tenant_id is None:
        settings = settings or get_settings()
        if len(tenants) == 1:
            return tenants[0]
        tenant_id = settings.tenant_id
    for t in tenants:
        if t.id == tenant_id:
            return t
    raise ConfigError(f"unknown tenant {tenant_id!r}; configured: {', '.join(t.id for t in tenants)}")


def secret_values(settings: Settings | None = None) -> list[str]:
    """Every configured secret's literal value (for leak scans); never log the result."""
    settings = settings or get_settings()
    values = [
        s.get_secret_value()
        for s in (settings.indigitall_server_key, settings.pipeline_api_token)
        if s is not None
    ]
    from sqlalchemy.engine import make_url

    for url in DATABASE_URL_FIELDS:
        configured = getattr(settings, url)
        if configured is None:
            continue
        try:
            pw = make_url(configured.get_secret_value()).password
        except Exception:  # noqa: BLE001 - a malformed URL has no password to protect
            pw = None
        if pw:
            values.append(str(pw))
    from lib.db.logins import generated_passwords  # the embedded default's generated logins

    values.extend(generated_passwords(settings))
    from lib.identity import signing_keys  # the dashboards' session signing key (env or generated)

    values.extend(signing_keys(settings.data_dir))
    try:
        tenants = load_tenants(settings)
    except ConfigError:
        tenants = []
    for t in tenants:
        key = t.server_key()
        if key is not None:
            values.append(key.get_secret_value())
    # Short values would match innocent text; real keys are UUIDs/tokens.
    return sorted({v for v in values if len(v) >= 6})
