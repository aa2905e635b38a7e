"""One identity for the dashboards, Voila, Lab and Studio: the session cookie's name, where the
sign-in page is, and which hosts a sign-in may send the browser back to.

The dashboards (Dash) own the users, the sign-in and the session; every other surface asks Dash
(`GET /auth/verify`, through Caddy's `forward_auth`, or from Voila itself via BI_AUTH_URL).

Settings (environment):
- `DASH_PUBLIC_URL`: the dashboards' public origin, e.g. `https://bi.example.com`; the sign-in page
  is `<DASH_PUBLIC_URL>/login`. Unset: the origin the request reached (Dash) or BI_AUTH_URL's
  origin (Voila reached directly), which is right when nothing sits in between.
- `DASH_SIBLING_HOSTS`: comma-separated origins (`https://voila.example.com`) or bare host names
  (`https://` implied) a sign-in may return to with an absolute `next`. Unset: the loopback origins
  of `bi serve voila|lab` on their default ports.
- `DASH_COOKIE_DOMAIN`: the session cookie's domain (`.example.com`) so sibling hosts receive it.
- `BI_AUTH_URL`: where Voila checks a browser's cookie (default `http://127.0.0.1:8050/auth/verify`).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode, urlsplit

from lib.config import env_raw, env_value

SESSION_COOKIE = "bi_session"
SECRET_KEY_FILE = "dash_secret_key"  # under BI_DATA_DIR: the generated signing key (0600)
DEFAULT_AUTH_URL = "http://127.0.0.1:8050/auth/verify"
DEFAULT_SIBLINGS = (
    "http://127.0.0.1:8866",
    "http://localhost:8866",
    "http://127.0.0.1:8888",
    "http://localhost:8888",
)
_DEFAULT_PORTS = {"http": 80, "https": 443}
Origin = tuple[str, str, int]


def env_number(name: str, default: float, *, minimum: float = 0) -> float:
    """A numeric setting of the sign-in (DASH_SESSION_HOURS, DASH_LOGIN_*, …); ConfigError naming it."""
    from lib.config import ConfigError

    raw = env_value(name, "").strip()
    try:
        value = float(raw) if raw else default
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from exc
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum:g}")
    return value


def signing_keys(data_dir: Path) -> list[str]:
    """The session signing keys in use (DASH_SECRET_KEY, the generated key file): for the secret scan."""
    keys = [env_value("DASH_SECRET_KEY", "")]
    try:
        keys.append((Path(data_dir) / SECRET_KEY_FILE).read_text(encoding="utf-8").strip())
    except OSError:  # none generated yet, or not readable by this process: nothing of it to leak here
        pass
    return [k for k in keys if k]


def origin_of(url: str) -> Origin | None:
    """(scheme, host, port) of an absolute http(s) URL without credentials; None otherwise."""
    if not url or any(c.isspace() or ord(c) < 0x20 or c == "\\" for c in url):
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname or parts.username or parts.password:
        return None
    return scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[scheme]


def dash_public_url() -> str | None:
    """DASH_PUBLIC_URL without a trailing slash (None when unset)."""
    value = env_value("DASH_PUBLIC_URL", "").strip().rstrip("/")
    return value or None


def sibling_origins() -> set[Origin]:
    """The origins an absolute `next` may point at: DASH_SIBLING_HOSTS and the dashboards' own."""
    raw = env_raw("DASH_SIBLING_HOSTS")  # set but empty: no siblings
    entries = [e.strip() for e in raw.split(",")] if raw is not None else list(DEFAULT_SIBLINGS)
    public = dash_public_url()
    if public:
        entries.append(public)
    out: set[Origin] = set()
    for entry in entries:
        if not entry:
            continue
        origin = origin_of(entry if "://" in entry else f"https://{entry}")
        if origin is None:
            raise ValueError(f"DASH_SIBLING_HOSTS: not an http(s) origin or host name: {entry!r}")
        out.add(origin)
    return out


def safe_next(target: str | None, default: str = "/") -> str:
    """A redirect target after sign-in: a local path, or an absolute URL on a sibling host."""
    if not target or any(c.isspace() or ord(c) < 0x20 or c == "\\" for c in target):
        return default
    if target.startswith("/"):
        parts = urlsplit(target)
        return default if target.startswith("//") or parts.scheme or parts.netloc else target
    origin = origin_of(target)
    return target if origin is not None and origin in sibling_origins() else default


def auth_url() -> str:
    """BI_AUTH_URL (Voila's check of a browser's dashboard session)."""
    return env_value("BI_AUTH_URL", "").strip() or DEFAULT_AUTH_URL


def sign_in_url(next_url: str | None = None, *, base: str | None = None) -> str:
    """The dashboards' sign-in page, with `next` when it is a valid target.

    `base`: the origin to use when DASH_PUBLIC_URL is unset (default: BI_AUTH_URL's origin).
    """
    root = dash_public_url() or (base or "").rstrip("/")
    if not root:
        parts = urlsplit(auth_url())
        root = f"{parts.scheme}://{parts.netloc}"
    target = safe_next(next_url, default="") if next_url else ""
    return f"{root}/login" + (f"?{urlencode({'next': target})}" if target else "")
