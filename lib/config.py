"""Settings: environment variables (and `.env`), plus an optional `tenants.yml`.

One reader, one precedence, for every setting of every command: the process environment, then the
`.env` files (`dotenv_paths()`: the project's, then the working directory's, which wins), then the
built-in default; per-tenant values come
from `tenants.yml` (a tenant's own entry beats the process-wide setting). `Settings` holds the
contract names below; any other setting (EXTRACT_*, DASH_*, SMTP_*, a tenant's `server_key_env`) is
read with `env_value(name)`, never with `os.environ` alone, so a value only in `.env` counts too.

The names are a contract (design.md): DATABASE_URL, INDIGITALL_BASE_URL, INDIGITALL_SERVER_KEY,
INDIGITALL_APP_ID, TENANT_ID, TENANT_TIMEZONE, RUNS_DIR, PIPELINE_API_TOKEN, and one database login
per kind of process beside the owner's DATABASE_URL: APP_DATABASE_URL, ANALYST_DATABASE_URL,
PIPELINE_DATABASE_URL, DBT_DATABASE_URL (`lib.db.logins`).
Secrets are `SecretStr`: their repr/str never shows the value; call `.get_secret_value()` at the
last moment (an HTTP header, a connect call), never to build a message.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, overload
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


# Where `.env` is read (later wins): the project's, then the working directory's (`dotenv_paths()`).
ENV_FILES = (PROJECT_ROOT / ".env", Path(".env"))


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names it (never its value if secret)."""


class Settings(BaseSettings):
    """Process-wide settings read from the environment and `.env`."""

    model_config = SettingsConfigDict(
        env_file=ENV_FILES, env_file_encoding="utf-8", extra="ignore", case_sensitive=False
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
        return key_from_env(self.server_key_env)

    @property
    def application_id(self) -> str | None:
        """The first (primary) application id, if any."""
        return self.application_ids[0] if self.application_ids else None


def dotenv_values(path: Path | None = None) -> dict[str, str]:
    """The assignments of `path`, or of every `dotenv_paths()` file merged (later wins); never log them."""
    out: dict[str, str] = {}
    for p in [path] if path is not None else dotenv_paths():
        try:
            stat = p.stat()
        except OSError:
            continue
        out.update(_read_dotenv(str(p.resolve()), stat.st_mtime_ns, stat.st_size))
    return out


@lru_cache(maxsize=8)
def _read_dotenv(path: str, _mtime_ns: int, _size: int) -> tuple[tuple[str, str], ...]:
    from dotenv import dotenv_values as parse

    return tuple((k, v) for k, v in parse(path, encoding="utf-8").items() if v is not None)


@overload
def env_value(name: str) -> str | None: ...
@overload
def env_value(name: str, default: str) -> str: ...
def env_value(name: str, default: str | None = None) -> str | None:
    """One setting by name: the environment, else `.env`, else `default`.

    A variable set in the environment wins even when empty (as for `Settings`); empty means `default`.
    """
    value = env_raw(name)
    return value if value is not None and value.strip() else default


def key_from_env(env_name: str) -> SecretStr | None:
    """A ServerKey from the variable `env_name` (environment, else `.env`); INDIGITALL_SERVER_KEY also
    through the settings object."""
    value = env_value(env_name)
    if value:
        return SecretStr(value)
    if env_name == "INDIGITALL_SERVER_KEY":
        return get_settings().indigitall_server_key
    return None


def env_raw(name: str) -> str | None:
    """The setting as written (an empty value included): the environment, else `.env`, else None."""
    value = os.environ.get(name)
    return dotenv_values().get(name) if value is None else value


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


_TENANT_DOCS: dict[tuple[str, int, int], Any] = {}


def _tenants_doc(path: Path) -> Any:
    """The parsed `tenants.yml`, parsed again only when its size or mtime changed (a run asks for its
    tenant many times; libyaml's parser when PyYAML has it)."""
    st = path.stat()
    key = (str(path), st.st_mtime_ns, st.st_size)
    if key not in _TENANT_DOCS:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        _TENANT_DOCS.clear()
        _TENANT_DOCS[key] = yaml.load(path.read_text(encoding="utf-8"), Loader=loader) or {}
    return copy.deepcopy(_TENANT_DOCS[key])


def load_tenants(settings: Settings | None = None) -> list[TenantConfig]:
    """Tenants from `tenants.yml` when it exists, else the single tenant of the env vars."""
    settings = settings or get_settings()
    path = settings.tenants_file
    if not path.is_absolute() and not path.exists():
        path = PROJECT_ROOT / path
    if path.exists():
        doc = _tenants_doc(path)
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


ROLE_URL_VARS = (
    "DATABASE_URL", "APP_DATABASE_URL", "ANALYST_DATABASE_URL", "PIPELINE_DATABASE_URL", "DBT_DATABASE_URL",
)  # fmt: skip
# Settings whose value is a secret by name (besides the tenants' key variables and the URLs above).
_SECRET_SUFFIXES = ("TOKEN", "SECRET", "PASSWORD", "PASSWD", "_KEY", "_SECRET_KEY", "ACCESS_KEY")
_NOT_SECRET_SUFFIXES = ("_ENV", "_FILE", "_PATH", "_DIR", "_URL", "_NAME", "_ID")
# Generated secrets kept owner-only under the data dir (the demo token, the Dash key, the logins).
_DATA_SECRET_WORDS = ("password", "passwd", "secret", "token", "login", "credential", "_key")
_DATA_SECRET_MAX_BYTES = 8192


def dotenv_paths() -> list[Path]:
    """The `.env` files settings come from: the project's, then the working directory's (wins)."""
    return list(dict.fromkeys([PROJECT_ROOT / ".env", Path.cwd() / ".env"]))


def merged_environ(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """`base` (default os.environ) over the `.env` files: one view whatever a setting's source."""
    out = dotenv_values()
    out.update(os.environ if base is None else base)
    return out


def is_secret_name(name: str) -> bool:
    """True for a variable that holds a secret by its name (…_TOKEN, …_PASSWORD, …_KEY, …_SECRET)."""
    upper = name.upper()
    if upper.endswith(_NOT_SECRET_SUFFIXES) or upper in ("PWD", "OLDPWD"):
        return False
    return upper.endswith(_SECRET_SUFFIXES)


def url_password(url: str) -> list[str]:
    """A database URL's password, decoded and as written (e.g. `p%40ss` and `p@ss`); [] without one."""
    import re
    from urllib.parse import unquote

    match = re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@?#]*:([^@/?#]*)@", url.strip())
    if not match or not match.group(1):
        return []
    written = match.group(1)
    return list(dict.fromkeys([unquote(written), written]))


def _data_dir_secrets(data_dir: Path) -> list[str]:
    """Values of the small owner-only secret files under the data dir (not the database files)."""
    values: list[str] = []
    if not data_dir.is_dir():
        return values
    candidates = [p for p in data_dir.iterdir() if p.is_file()]  # logins/: lib.db.logins reads its store
    for sub in ("secrets", "passwords"):
        if (data_dir / sub).is_dir():
            candidates += [p for p in (data_dir / sub).iterdir() if p.is_file()]
    for path in candidates:
        name = path.name.lower()
        if path.parent.name not in ("secrets", "passwords") and not any(
            w in name for w in _DATA_SECRET_WORDS
        ):
            continue
        try:
            if path.stat().st_size > _DATA_SECRET_MAX_BYTES:
                continue
            text = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            continue
        for line in text.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            key, sep, value = line.partition("=")
            value = value.strip().strip("'\"") if sep and key.strip().isidentifier() else line
            values.extend(url_password(value) or [value])
    return values


def secret_values(settings: Settings | None = None, environ: Mapping[str, str] | None = None) -> list[str]:
    """Every secret value this process can see (for leak scans); never log the result.

    ServerKeys of every configured tenant, the pipeline token, the password of every `*DATABASE_URL`
    as written and decoded, the Dash signing key (DASH_SECRET_KEY or `<data dir>/dash_secret_key`),
    any `…_TOKEN/_PASSWORD/_SECRET/_KEY` setting, and the generated secrets under the data dir; from
    the environment and `.env` alike.
    """
    settings = settings or get_settings()
    env = merged_environ(environ)
    values = [
        s.get_secret_value()
        for s in (settings.indigitall_server_key, settings.pipeline_api_token)
        if s is not None
    ]
    urls = [env.get(name) for name in env if name.upper().endswith("DATABASE_URL")]
    if settings.database_url is not None:
        urls.append(settings.database_url.get_secret_value())
    for url in urls:
        if url:
            values += url_password(url)
    values += [v for k, v in env.items() if v and is_secret_name(k)]
    for field_name in DATABASE_URL_FIELDS:  # the login URLs as settings (environment or .env)
        configured = getattr(settings, field_name, None)
        if configured is not None:
            values += url_password(configured.get_secret_value())
    from lib.db.logins import generated_passwords  # the embedded default's generated logins

    values.extend(generated_passwords(settings))
    from lib.identity import signing_keys  # the dashboards' session signing key (env or generated)

    values.extend(signing_keys(settings.data_dir))
    try:
        tenants = load_tenants(settings)
    except ConfigError:
        tenants = []
    for t in tenants:
        key = t.server_key() or (SecretStr(env[t.server_key_env]) if env.get(t.server_key_env) else None)
        if key is not None:
            values.append(key.get_secret_value())
    values += _data_dir_secrets(settings.data_dir)
    # Short values would match innocent text; real keys are UUIDs/tokens.
    return sorted({v for v in values if len(v) >= 6})
