"""Terminal progress: one line per step event, a live status line on a TTY, a one-line summary."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO


def _rows(o: dict[str, Any]) -> str:
    if o.get("rows_in") is None and o.get("rows_out") is None:
        return ""
    return f"rows {o.get('rows_in') or 0}->{o.get('rows_out') or 0}"


class Progress:
    """Prints step starts/ends; with `live`, redraws a status line of the running steps."""

    def __init__(self, total: int, *, enabled: bool = True, stream: TextIO | None = None) -> None:
        self.total = total
        self.enabled = enabled
        self.stream = stream or sys.stdout
        self.live = enabled and self.stream.isatty()
        self.t0 = time.perf_counter()
        self.running: dict[str, float] = {}
        self.done = 0
        self._live_shown = False

    def _elapsed(self) -> str:
        return f"{time.perf_counter() - self.t0:6.1f}s"

    def _print(self, line: str) -> None:
        if not self.enabled:
            return
        if self._live_shown:
            self.stream.write("\r\033[K")
            self._live_shown = False
        self.stream.write(line + "\n")
        self.stream.flush()

    def header(self, text: str) -> None:
        """A line before the steps (run id, tenant, archive)."""
        self._print(text)

    def started(self, step_id: str) -> None:
        """A step was handed to a worker."""
        self.running[step_id] = time.perf_counter()
        self._print(f"[{self._elapsed()}] start  {step_id}")

    def finished(self, outcome: dict[str, Any]) -> None:
        """A step came back (success or failed)."""
        self.running.pop(outcome["step"], None)
        self.done += 1
        mark = "ok    " if outcome["status"] == "success" else "FAILED"
        took = (outcome.get("duration_ms") or 0) / 1000
        extra = _rows(outcome)
        if outcome["status"] != "success":
            cell = f" (cell {outcome['error_cell']})" if outcome.get("error_cell") is not None else ""
            extra = f"{outcome.get('error_name')}{cell}: {(outcome.get('error_message') or '')[:160]}"
        self._print(f"[{self._elapsed()}] {mark} {outcome['step']:<32} {took:6.1f}s  {extra}".rstrip())

    def skipped(self, step_id: str, because: str, *, uptodate: bool = False) -> None:
        """A step will not run: up to date (its inputs did not change) or a step it needs failed."""
        self.done += 1
        mark = "up to date" if uptodate else "skip"
        self._print(f"[{self._elapsed()}] {mark:<6} {step_id:<32} ({because})")

    def tick(self) -> None:
        """Redraw the live line (TTY only)."""
        if not self.live or not self.running:
            return
        now = time.perf_counter()
        parts = ", ".join(f"{s} {now - t:.0f}s" for s, t in self.running.items())
        self.stream.write(f"\r\033[K[{self._elapsed()}] {self.done}/{self.total} done; running: {parts}")
        self.stream.flush()
        self._live_shown = True

    def summary(self, text: str) -> None:
        """The final one-line summary (always printed)."""
        if self._live_shown:
            self.stream.write("\r\033[K")
        self.stream.write(text + "\n")
        self.stream.flush()
