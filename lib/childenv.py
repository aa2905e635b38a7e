"""The environment of every child process: an allow-list per kind, never `dict(os.environ)`.

`child_env(kind, *, tenant=None, base=None)` starts from `base` (default: this process's environment)
merged over the `.env` files (`lib.config.merged_environ`: a setting reaches the child the same way
whether it came from the environment or `.env`), keeps the variables every process needs (paths,
locale, Jupyter/Python dirs, non-secret settings) and adds only the secrets of that kind:

| kind | database login | other secrets |
|---|---|---|
| `dash` | `APP_DATABASE_URL` (+ `PIPELINE_`/`DBT_`/`ANALYST_DATABASE_URL` for the runs it launches) | `PIPELINE_API_TOKEN`, `DASH_SECRET_KEY`, every tenant's ServerKey and `SMTP_PASSWORD` (passed on to runs), object-storage credentials |
| `voila`, `lab` | `ANALYST_DATABASE_URL` | none (`lab` keeps `JUPYTER_TOKEN`, its own sign-in) |
| `run` (a launched `bi run`) | `PIPELINE_DATABASE_URL`, `DBT_DATABASE_URL`, `ANALYST_DATABASE_URL` (its report step) | the run's tenant's ServerKey only, `SMTP_PASSWORD`, object-storage credentials |
| `kernel-extract` | `PIPELINE_DATABASE_URL` | the step's tenant's ServerKey only |
| `kernel-transform` | `PIPELINE_DATABASE_URL` | none |
| `kernel-dbt` (the dbt step's kernel, which starts dbt) | `PIPELINE_DATABASE_URL`, `DBT_DATABASE_URL` | none |
| `kernel-report` (the weekly report) | `ANALYST_DATABASE_URL` | `SMTP_PASSWORD` |
| `dbt` | `DBT_DATABASE_URL` | none |
| `simulator` | none | the ServerKeys it accepts (`INDIGITALL_SERVER_KEY`, the tenants' key variables) |

The owner's `DATABASE_URL` is in none of them: a kind whose login URL is unset finds its generated
login on the embedded default (`lib.db.login_url`, via BI_DATA_DIR) or stops with a ConfigError
naming the setting; it never falls back to the owner.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from lib.config import PROJECT_ROOT, ConfigError, get_tenant, load_tenants, merged_environ

KERNEL_FORKSERVER_ENV = (
    "BI_KERNEL_FORKSERVER"  # a batch's kernel fork server (lib.pipeline.kernel_forkserver)
)

KINDS = (
    "dash",
    "voila",
    "lab",
    "run",
    "kernel-extract",
    "kernel-transform",
    "kernel-dbt",
    "kernel-report",
    "dbt",
    "simulator",
    "browser",
)

# Every process: the OS, Python, Jupyter and tool locations, nothing secret.
_COMMON = (
    "PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "TERM", "TZ", "TMPDIR", "TEMP", "TMP",
    "PYTHONPATH", "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE", "PYTHONHASHSEED", "VIRTUAL_ENV",
    "JUPYTER_DATA_DIR", "JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTER_PLATFORM_DIRS", "IPYTHONDIR",
    "MPLCONFIGDIR", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_RUNTIME_DIR",
    "PYDEVD_DISABLE_FILE_VALIDATION", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE",
    "PGHOST", "PGPORT", "PGSSLMODE", "PGSSLROOTCERT", "PGCONNECT_TIMEOUT",
)  # fmt: skip
_COMMON_PREFIXES = ("LC_",)
# Non-secret settings of the platform (names from design.md / README), for every kind that runs lib.
_SETTINGS = (
    "BI_DATA_DIR", "RUNS_DIR", "RUNS_RETENTION_DAYS", "RUNS_MAX_SIZE", "RUNS_ARCHIVE_URL",
    "RUNS_QUARANTINE_DIR", "TENANTS_FILE", "TENANT_ID", "TENANT_TIMEZONE", "INDIGITALL_BASE_URL",
    "INDIGITALL_APP_ID", "BI_CLOCK_NOW", "BI_PIPELINE_FAULT", "BI_DBT_WORK_DIR", "BI_DBT_THREADS",
    "BI_DBT_FULL_BUILD_HOURS", "BI_DBT_LOOKBACK_MINUTES", "BI_WEEKLY_REPORT", "REPORT_RECIPIENTS", "SMTP_HOST", "SMTP_PORT", "SMTP_USER",
    "SMTP_FROM", "SMTP_SECURITY",
)  # fmt: skip
_SETTINGS_PREFIXES = ("EXTRACT_",)
_DASH_SETTINGS = ("DASH_WORKERS", "WEB_CONCURRENCY", "DASH_TIMEOUT", "FORWARDED_ALLOW_IPS", "DASH_COOKIE_DOMAIN",
                  "DASH_COOKIE_SECURE", "DASH_SIBLING_HOSTS", "BI_AUTH_URL")  # fmt: skip
# Voila checks each browser's session with the dashboards (lib.voila_auth): their public URL, siblings.
_JUPYTER_SETTINGS = ("VOILA_BASE_URL", "LAB_BASE_URL", "BI_AUTH_URL", "DASH_COOKIE_DOMAIN", "DASH_PUBLIC_URL",
                     "DASH_SIBLING_HOSTS")  # fmt: skip
# Object storage of the archive (RUNS_ARCHIVE_URL): only the processes that move or read archives.
_STORAGE = (
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL", "AWS_PROFILE", "GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_PROJECT",
)  # fmt: skip
_LOGINS = {
    "dash": ("APP_DATABASE_URL", "PIPELINE_DATABASE_URL", "DBT_DATABASE_URL", "ANALYST_DATABASE_URL"),
    "voila": ("ANALYST_DATABASE_URL",),
    "lab": ("ANALYST_DATABASE_URL",),
    "run": ("PIPELINE_DATABASE_URL", "DBT_DATABASE_URL", "ANALYST_DATABASE_URL"),
    "kernel-extract": ("PIPELINE_DATABASE_URL",),
    "kernel-transform": ("PIPELINE_DATABASE_URL",),
    "kernel-dbt": ("PIPELINE_DATABASE_URL", "DBT_DATABASE_URL"),
    "kernel-report": ("ANALYST_DATABASE_URL",),
    "dbt": ("DBT_DATABASE_URL",),
    "simulator": (),
    "browser": (),  # headless Chromium printing a report: no login, no key
}


def _all_key_vars() -> list[str]:
    """The env var names that hold the configured tenants' ServerKeys."""
    try:
        return list(dict.fromkeys(t.server_key_env for t in load_tenants()))
    except ConfigError:
        return ["INDIGITALL_SERVER_KEY"]


def _tenant_key_var(tenant: str | None) -> str:
    """The env var holding `tenant`'s key (the default tenant's when None); ConfigError if unknown."""
    return get_tenant(tenant).server_key_env


def kernel_kind(step_kind: str | None) -> str:
    """The kind of environment a step kernel gets: extract, dbt, else transform (post steps too)."""
    kinds = {"extract": "kernel-extract", "dbt": "kernel-dbt", "report": "kernel-report"}
    return kinds.get(step_kind or "", "kernel-transform")


def child_env(
    kind: str, *, tenant: str | None = None, base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment of a child process of `kind` (see the module doc); `tenant` scopes the key."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind of process {kind!r}; expected one of {', '.join(KINDS)}")
    src = merged_environ(base)
    keep: set[str] = {k for k in src if k in _COMMON or k.startswith(_COMMON_PREFIXES)}
    keep |= {k for k in src if k in _SETTINGS or k.startswith(_SETTINGS_PREFIXES)}
    keep |= set(_LOGINS[kind])
    if kind == "dash":
        keep |= {k for k in src if k.startswith("DASH_")}
        keep |= {*_DASH_SETTINGS, "PIPELINE_API_TOKEN", "DASH_SECRET_KEY", "SMTP_PASSWORD", *_STORAGE}
        keep |= set(_all_key_vars())
    elif kind in ("voila", "lab"):
        keep |= set(_JUPYTER_SETTINGS) | {k for k in src if k.startswith(("VOILA_", "LAB_"))}
        if kind == "lab":
            keep.add("JUPYTER_TOKEN")
    elif kind == "run":
        keep |= {*_STORAGE, _tenant_key_var(tenant), "SMTP_PASSWORD", KERNEL_FORKSERVER_ENV}
    elif kind == "kernel-report":  # the weekly report reads as an analyst and may send its e-mail
        keep.add("SMTP_PASSWORD")
    elif kind == "kernel-extract":
        keep.add(_tenant_key_var(tenant))
    elif kind == "dbt":  # dbt's own settings (DBT_TARGET_PATH, DBT_PARTIAL_PARSE, its login URL)
        keep |= {k for k in src if k.startswith("DBT_")}
    elif kind == "simulator":  # it accepts every configured tenant's key
        keep |= {"INDIGITALL_SERVER_KEY", *_all_key_vars()}
    env = {k: src[k] for k in keep if k in src and src[k] is not None}
    env.pop("DATABASE_URL", None)
    paths = [str(PROJECT_ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.setdefault("PATH", os.defpath)
    return env
