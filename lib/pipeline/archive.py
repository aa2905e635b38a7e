"""The run archive: `$RUNS_DIR/<YYYY-MM-DD>/<run_id>/<NN>_<step>.ipynb.gz` + `manifest.json` (+ dbt's
artifacts, gzipped, and `run.log` for launched runs). HTML is rendered on demand (lib.pipeline.render);
runs archived before kept `<NN>_<step>.ipynb` + `.html`, which are still read.

Every file is written once (`open(..., "x")`); a resumed step writes `<NN>_<step>.attempt2.ipynb.gz`, a
resumed run `manifest.attempt2.json`. Quarantined files go to `<RUNS_DIR>/../quarantine/<date>/<run_id>/`
(or under RUNS_QUARANTINE_DIR), never under RUNS_DIR.
"""

from __future__ import annotations

import json
import os
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

from lib.config import PROJECT_ROOT


def run_dir(runs_root: Path, started: datetime, run_id: str) -> Path:
    """Where a run's files go (dated by the run's start, UTC)."""
    return runs_root / started.strftime("%Y-%m-%d") / run_id


def quarantine_root(runs_root: Path) -> Path:
    """RUNS_QUARANTINE_DIR, else `quarantine/` beside the runs folder (never inside it)."""
    configured = os.environ.get("RUNS_QUARANTINE_DIR")
    return Path(configured) if configured else runs_root.parent / "quarantine"


def quarantine_dir(archive: Path) -> Path:
    """The quarantine folder matching a run folder: `<quarantine root>/<date>/<run_id>`."""
    return quarantine_root(archive.parent.parent) / archive.parent.name / archive.name


def attempt_stem(stem: str, attempt: int) -> str:
    """`NN_step` for attempt 1, `NN_step.attemptN` after."""
    return stem if attempt <= 1 else f"{stem}.attempt{attempt}"


NOTEBOOK_SUFFIX = ".ipynb.gz"


def free_attempt(folder: Path, stem: str, attempt: int) -> int:
    """The first attempt number >= `attempt` whose files do not exist yet (archive or quarantine)."""
    q = quarantine_dir(folder)
    while any(
        (d / f"{attempt_stem(stem, attempt)}{suffix}").exists()
        for d in (folder, q)
        for suffix in (".ipynb", NOTEBOOK_SUFFIX)
    ):
        attempt += 1
    return attempt


def gzipped(data: bytes) -> bytes:
    """`data` gzipped reproducibly (no name, no time in the header)."""
    import gzip

    return gzip.compress(data, compresslevel=9, mtime=0)


def write_once(path: Path, data: str | bytes) -> Path:
    """Create `path` with `data`; FileExistsError if it exists (archives are never overwritten)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    with open(path, "xb") as fh:
        fh.write(raw)
    return path


def write_manifest(folder: Path, manifest: dict[str, Any]) -> Path:
    """`manifest.json`, or `manifest.attemptN.json` when a resume already found one."""
    text = json.dumps(manifest, indent=2, default=str, sort_keys=False) + "\n"
    n = 1
    while True:
        name = "manifest.json" if n == 1 else f"manifest.attempt{n}.json"
        try:
            return write_once(folder / name, text)
        except FileExistsError:
            n += 1


def latest_manifest(folder: Path) -> dict[str, Any] | None:
    """The newest manifest of a run folder (highest attempt), or None."""
    files = sorted(
        folder.glob("manifest*.json"),
        key=lambda p: int(p.stem.split("attempt")[1]) if "attempt" in p.stem else 1,
    )
    return json.loads(files[-1].read_text(encoding="utf-8")) if files else None


def lib_version() -> str | None:
    """The `lib` package version (package metadata when `lib` was loaded as a namespace)."""
    import lib

    version = getattr(lib, "__version__", None)
    if version:
        return str(version)
    try:
        from importlib.metadata import version as dist_version

        return dist_version("indigitall-bi")
    except Exception:  # noqa: BLE001 - not installed: unknown
        return None


def git_commit() -> str | None:
    """HEAD of the project checkout (None outside git or before the first commit)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=5,
            check=False, env={k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")},
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    sha = out.stdout.strip()
    return sha if out.returncode == 0 and len(sha) == 40 else None
