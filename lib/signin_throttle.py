"""Sign-in throttling per user name and per client address, shared by every web worker.

Counts live in `ops.dashboard_sign_in_throttle` (migration 091), reached through its SECURITY
DEFINER functions with the web process's login. A key that reaches its limit of failures within the
window is locked for the lock-out time: attempts are then refused before any password is checked
(so they cost no bcrypt), whatever the password. A success clears the user's count, not the
address's. Unknown names are counted like known ones (the answer never tells them apart).

Settings (environment, read on each call):
`DASH_LOGIN_MAX_FAILURES` (per user name, default 5), `DASH_LOGIN_MAX_FAILURES_PER_ADDRESS`
(default 20), `DASH_LOGIN_WINDOW_S` (default 900), `DASH_LOGIN_LOCKOUT_S` (default 300).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text

from lib.auth import app_engine, clock_now
from lib.identity import env_number


@dataclass(frozen=True)
class Limits:
    """How many failures, over which window, lock a key for how long."""

    user_max: int = 5
    address_max: int = 20
    window_s: int = 900
    lockout_s: int = 300

    @classmethod
    def from_env(cls) -> Limits:
        def num(name: str, default: int) -> int:
            return int(env_number(name, default, minimum=1))

        return cls(
            user_max=num("DASH_LOGIN_MAX_FAILURES", cls.user_max),
            address_max=num("DASH_LOGIN_MAX_FAILURES_PER_ADDRESS", cls.address_max),
            window_s=num("DASH_LOGIN_WINDOW_S", cls.window_s),
            lockout_s=num("DASH_LOGIN_LOCKOUT_S", cls.lockout_s),
        )


def user_key(username: str) -> str:
    """The throttle key of a typed user name (case-insensitive: variants share one count)."""
    return (username or "").strip()[:200].casefold()


def wait_seconds(username: str, address: str) -> int:
    """Seconds before this user name or address may try again (0: go ahead)."""
    with app_engine().begin() as conn:
        return int(
            conn.execute(
                text("SELECT ops.signin_wait(:u, :a, :now)"),
                {"u": user_key(username), "a": address, "now": clock_now()},
            ).scalar()
            or 0
        )


def record_failure(username: str, address: str, limits: Limits | None = None) -> int:
    """Count one failed attempt for both keys; the seconds to wait now (0: not locked)."""
    lim = limits or Limits.from_env()
    with app_engine().begin() as conn:
        return int(
            conn.execute(
                text("SELECT ops.signin_failed(:u, :a, :now, :um, :am, :w, :l)"),
                {
                    "u": user_key(username),
                    "a": address,
                    "now": clock_now(),
                    "um": lim.user_max,
                    "am": lim.address_max,
                    "w": lim.window_s,
                    "l": lim.lockout_s,
                },
            ).scalar()
            or 0
        )


def record_success(username: str) -> None:
    """A successful sign-in clears the user name's count."""
    with app_engine().begin() as conn:
        conn.execute(text("SELECT ops.signin_succeeded(:u)"), {"u": user_key(username)})
