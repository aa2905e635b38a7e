"""Retention of the run archive: old run folders leave RUNS_DIR, the ledger keeps every run.

Policy (environment or `.env`):
- `RUNS_RETENTION_DAYS` (default 90): run folders dated before today minus N days leave RUNS_DIR;
- `RUNS_MAX_SIZE` (default `2GB`; `500MB`, `1.5GB`, bytes): beyond it, the oldest folders leave too;
- `RUNS_ARCHIVE_URL` (optional, an fsspec URL: `gs://bucket/runs`, `s3://…`, `file:///mnt/archive`,
  `memory://…`): folders that leave are copied there first (`<url>/<date>/<run_id>/<file>`), and the
  ledger's step paths point at the copies, so the Runs page and `bi runs show --html` still open them.
  Without it they are deleted and the run is marked `pruned`.

The ledger row of every run stays (status, steps, errors, summary); `archive_state` says `local`,
`moved` or `pruned`. Active runs and the run being finished are never touched. `prune(...)` is what
`bi runs prune` and the runner (after each run) call.
"""

from __future__ import annotations

import logging
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from lib import clock
from lib.config import ConfigError, load_tenants, merged_environ

log = logging.getLogger(__name__)
DEFAULT_DAYS = 90
DEFAULT_MAX_SIZE = "2GB"
_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([kmgt]?i?b?)?\s*$", re.IGNORECASE)


def parse_size(value: str | int) -> int:
    """Bytes from `2GB`, `500MB`, `1.5G`, `1GiB` or a number; ValueError otherwise."""
    if isinstance(value, int):
        return value
    match = _SIZE.match(value)
    if not match:
        raise ValueError(f"RUNS_MAX_SIZE must be a size such as 500MB or 2GB, got {value!r}")
    unit = (match.group(2) or "").lower()
    power = 0 if unit[:1] in ("", "b") else "kmgt".index(unit[0]) + 1
    return int(float(match.group(1)) * (1024 if "i" in unit else 1000) ** power)


@dataclass
class Policy:
    """How long and how much the local archive keeps, and where old runs go."""

    days: int | None = DEFAULT_DAYS
    max_bytes: int | None = None
    target: str | None = None

    @classmethod
    def from_env(cls) -> Policy:
        env = merged_environ()
        raw_days = (env.get("RUNS_RETENTION_DAYS") or str(DEFAULT_DAYS)).strip()
        try:
            days = int(raw_days)
        except ValueError:
            raise ConfigError(
                f"RUNS_RETENTION_DAYS must be a whole number of days, got {raw_days!r}"
            ) from None
        try:
            max_bytes = parse_size(env.get("RUNS_MAX_SIZE") or DEFAULT_MAX_SIZE)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        target = (env.get("RUNS_ARCHIVE_URL") or "").strip().rstrip("/") or None
        return cls(days if days > 0 else None, max_bytes if max_bytes > 0 else None, target)


@dataclass
class RunFolder:
    day: date
    run_id: str
    path: Path
    bytes: int


@dataclass
class PruneReport:
    """What a prune did (or would do, with dry_run)."""

    moved: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    freed_bytes: int = 0
    kept_bytes: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"retention: {len(self.moved)} run(s) moved, {len(self.pruned)} pruned, "
            f"{self.freed_bytes / 1e6:.1f} MB freed, {self.kept_bytes / 1e6:.1f} MB kept"
            + (f"; {len(self.errors)} error(s): {self.errors[0]}" if self.errors else "")
        )


def run_folders(runs_root: Path) -> list[RunFolder]:
    """Every `<date>/<run_id>` folder under RUNS_DIR, oldest first, with its size."""
    out = []
    if not runs_root.is_dir():
        return out
    for day_dir in runs_root.iterdir():
        try:
            day = date.fromisoformat(day_dir.name)
        except ValueError:
            continue
        if not day_dir.is_dir():
            continue
        for run in day_dir.iterdir():
            if run.is_dir():
                size = sum(f.stat().st_size for f in run.rglob("*") if f.is_file())
                out.append(RunFolder(day, run.name, run, size))
    out.sort(key=lambda r: (r.day, r.run_id))
    return out


def _active_run_ids() -> set[str]:
    from lib.pipeline import ledger

    ids: set[str] = set()
    try:
        tenants = [t.id for t in load_tenants()]
    except ConfigError:
        tenants = []
    for tid in tenants:
        ids |= {r.run_id for r in ledger.active_runs(tid, "pipeline")}  # a run's own login
    return ids


def _choose(folders: list[RunFolder], policy: Policy, keep: set[str]) -> list[RunFolder]:
    today = clock.now().date()
    chosen: list[RunFolder] = []
    if policy.days is not None:
        limit = today - timedelta(days=policy.days)
        chosen = [f for f in folders if f.day < limit and f.run_id not in keep]
    if policy.max_bytes is not None:
        total = sum(f.bytes for f in folders) - sum(f.bytes for f in chosen)
        for f in folders:  # oldest first
            if total <= policy.max_bytes:
                break
            if f in chosen or f.run_id in keep:
                continue
            chosen.append(f)
            total -= f.bytes
    return chosen


def _copy_out(folder: RunFolder, target: str) -> str:
    """Copy a run folder to object storage; return its URL (every file verified by size)."""
    import fsspec

    base = f"{target}/{folder.day.isoformat()}/{folder.run_id}"
    fs, root = fsspec.core.url_to_fs(base)
    for f in sorted(p for p in folder.path.rglob("*") if p.is_file()):
        rel = f.relative_to(folder.path).as_posix()
        dest = f"{root}/{rel}"
        fs.makedirs(dest.rsplit("/", 1)[0], exist_ok=True)
        fs.put_file(str(f), dest)
        if fs.size(dest) != f.stat().st_size:
            raise OSError(f"copy of {rel} to {base} is incomplete")
    return base


def _ledger_tenant(run_id: str) -> str | None:
    from lib.pipeline import ledger

    run = ledger.get_run(run_id, role="pipeline", reap=False)
    return run.tenant_id if run else None


def prune(
    runs_root: Path,
    policy: Policy | None = None,
    *,
    keep: Iterable[str] = (),
    dry_run: bool = False,
) -> PruneReport:
    """Apply the policy to RUNS_DIR (see the module doc); never raises for one run's failure."""
    from lib.pipeline import ledger

    policy = policy or Policy.from_env()
    folders = run_folders(runs_root)
    # Runs in progress are kept too; asking the ledger for them (a query per tenant) is only worth it
    # when the policy would remove something: keeping more never makes it remove more.
    chosen = _choose(folders, policy, set(keep))
    if chosen:
        chosen = _choose(folders, policy, set(keep) | _active_run_ids())
    report = PruneReport()
    for f in chosen:
        if dry_run:
            (report.moved if policy.target else report.pruned).append(f.run_id)
            report.freed_bytes += f.bytes
            continue
        try:
            tenant = _ledger_tenant(f.run_id)
            now = clock.now()
            if policy.target:
                url = _copy_out(f, policy.target)
                if tenant:
                    ledger.relocate_archive(f.run_id, tenant, str(f.path), url)
                    ledger.update_run(f.run_id, tenant, archive_state="moved", archive_location=url,
                                      archive_bytes=f.bytes, archived_at=now)  # fmt: skip
                report.moved.append(f.run_id)
            else:
                if tenant:
                    ledger.update_run(f.run_id, tenant, archive_state="pruned", archive_bytes=f.bytes,
                                      archived_at=now)  # fmt: skip
                report.pruned.append(f.run_id)
            shutil.rmtree(f.path)
            report.freed_bytes += f.bytes
            if f.path.parent.is_dir() and not any(f.path.parent.iterdir()):
                f.path.parent.rmdir()
        except Exception as exc:  # noqa: BLE001 - one run's trouble must not stop the others
            report.errors.append(f"{f.run_id}: {type(exc).__name__}: {exc}"[:300])
            log.warning("retention: %s", report.errors[-1])
    report.kept_bytes = sum(f.bytes for f in folders) - report.freed_bytes
    return report
