"""The demo sign-in (`bi demo`): see `lib.auth.reset_demo_user` (kept here for the app's callers)."""

from lib.auth import DEMO_USERNAME
from lib.auth import reset_demo_user as ensure_demo_user

__all__ = ["DEMO_USERNAME", "ensure_demo_user"]
