"""Voila behind the dashboards' sign-in, also when it is reached directly (without Caddy).

- `BIIdentityProvider` (a jupyter_server identity provider): the user of a request is whoever the
  dashboards say owns the browser's session cookie. Voila asks `GET BI_AUTH_URL` with that cookie
  only; 200 gives the user (X-BI-User / X-BI-Role / X-BI-Tenant), anything else gives nobody: pages
  redirect to the sign-in, API and websocket calls get 403. An answer is cached VOILA_AUTH_CACHE_S
  seconds (default 5) per cookie, so a sign-out or a revoked user ends within that. The Voila
  process holds no signing key and no users table.
- Voila's `/login` sends the browser to the dashboards' sign-in with `next` = the Voila page
  (`VOILA_PUBLIC_URL`, Voila's public origin, when set; else the origin the request reached).
- `prelaunch_hook`: before a notebook's kernel starts, a first cell is inserted that fixes the
  kernel's identity (`lib.analysis.params.set_identity`), from the verified session only. The
  notebook derives its tenant from it: a viewer's own, whatever the URL (`?tenant=`) or the widget
  state say. Voila's kernels accept only comm/widget messages from the page (no execute requests),
  so nothing sent later can change it.

`bi serve voila` loads this through `lib/voila_config/voila.py`.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from typing import Any

import httpx
import tornado.web
from jupyter_server.auth.identity import IdentityProvider, User
from jupyter_server.utils import url_path_join

from lib.config import env_value
from lib.identity import SESSION_COOKIE, auth_url, env_number, sign_in_url

log = logging.getLogger(__name__)
_CACHE_MAX = 5000
_cache: dict[str, tuple[float, BIUser | None]] = {}


@dataclass
class BIUser(User):
    """A Jupyter user with the dashboards' role and tenant (None for an admin)."""

    role: str = "viewer"
    tenant: str | None = None


async def _ask(cookie: str) -> BIUser | None:
    """The dashboards' answer for this session cookie (None: not signed in, or no answer)."""
    async with httpx.AsyncClient(timeout=5.0, follow_redirects=False) as client:
        resp = await client.get(
            auth_url(), headers={"Cookie": f"{SESSION_COOKIE}={cookie}", "Accept": "application/json"}
        )
    if resp.status_code != 200:
        return None
    name = resp.headers.get("X-BI-User", "")
    role = resp.headers.get("X-BI-Role", "")
    tenant = resp.headers.get("X-BI-Tenant", "") or None
    if not name or role not in ("admin", "viewer") or (role == "viewer" and not tenant):
        return None
    return BIUser(username=name, name=name, role=role, tenant=None if role == "admin" else tenant)


async def check_cookie(cookie: str) -> BIUser | None:
    """The signed-in user behind a dashboards session cookie (cached a few seconds)."""
    key = hashlib.sha256(cookie.encode("utf-8")).hexdigest()
    now = time.monotonic()
    hit = _cache.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    try:
        user = await _ask(cookie)
    except httpx.HTTPError as exc:  # fail closed, and ask again next time
        log.warning("sign-in check at BI_AUTH_URL failed: %s", type(exc).__name__)
        return None
    if len(_cache) >= _CACHE_MAX:
        for k in [k for k, v in _cache.items() if v[0] <= now] or list(_cache)[: _CACHE_MAX // 2]:
            _cache.pop(k, None)
    _cache[key] = (now + env_number("VOILA_AUTH_CACHE_S", 5), user)
    return user


class SignInRedirectHandler(tornado.web.RequestHandler):
    """Voila's login URL: off to the dashboards' sign-in, coming back to the page asked for."""

    def get(self) -> None:
        target = self.get_argument("next", "/")
        if not target.startswith("/") or target.startswith("//"):
            target = "/"
        public = env_value("VOILA_PUBLIC_URL", "").strip().rstrip("/")
        origin = public or f"{self.request.protocol}://{self.request.host}"
        self.set_header("Cache-Control", "no-store")
        self.redirect(sign_in_url(origin + target))


class BIIdentityProvider(IdentityProvider):
    """Users are the dashboards' signed-in users (see the module doc); no token, no own login."""

    @property
    def auth_enabled(self) -> bool:
        return True

    @property
    def login_available(self) -> bool:
        return True

    @property
    def logout_available(self) -> bool:
        return False

    async def get_user(self, handler: tornado.web.RequestHandler) -> BIUser | None:  # type: ignore[override]
        known = getattr(handler, "_jupyter_current_user", None)
        if isinstance(known, BIUser):
            return known
        cookie = handler.get_cookie(SESSION_COOKIE)
        return await check_cookie(cookie) if cookie else None

    def get_handlers(self) -> list[tuple[str, object]]:
        base = getattr(self.parent, "base_url", None) or "/"
        return [(url_path_join(base, "/login"), SignInRedirectHandler)]


def identity_cell(user: BIUser) -> str:
    """The source of the cell that fixes a kernel's identity (literals only)."""
    return (
        "import lib.analysis.params as _bi_params\n"
        f"_bi_params.set_identity({user.username!r}, {user.role!r}, {user.tenant!r})\n"
        "del _bi_params"
    )


def prelaunch_hook(req_handler: tornado.web.RequestHandler, notebook: Any, cwd: str) -> Any:
    """Voila's prelaunch hook: only a signed-in user's notebook runs, its identity set first."""
    import nbformat

    user = req_handler.current_user
    if not isinstance(user, BIUser):
        raise tornado.web.HTTPError(403)
    cell = nbformat.v4.new_code_cell(identity_cell(user))
    cell.metadata["tags"] = ["bi-identity"]
    notebook.cells.insert(0, cell)
    return notebook
