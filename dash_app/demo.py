"""The demo sign-in (`bi demo`): a viewer of the demo tenant with a fresh random password each time."""

from __future__ import annotations

import secrets

from lib.auth import add_user

DEMO_USERNAME = "demo"


def ensure_demo_user(tenant_id: str, *, url: str | None = None) -> tuple[str, str]:
    """Create or reset the demo user (viewer of `tenant_id`); return (username, password) to print."""
    password = secrets.token_urlsafe(12)
    add_user(DEMO_USERNAME, password, "viewer", tenant_id, url=url)
    return DEMO_USERNAME, password
