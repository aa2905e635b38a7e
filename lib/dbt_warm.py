"""A dbt process started ahead of its build.

Importing dbt costs ≈ 2 s of CPU in every dbt process (with `lib.pipeline._fastimport.trim`). A batch
knows its one build is coming once its last tenant runs are in flight and cores fall idle: it starts
this process then, which imports dbt and waits for its command line on stdin (one JSON list), runs it
as `dbt <args>` would, and exits with dbt's status. An empty line or EOF ends it without running
anything. The parent keeps the usual path as fallback (`run` returns None when the process is gone).
The child's environment is dbt's (`lib.dbt_runner`), as for a dbt started at the build.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence


class WarmDbt:
    """The parent's handle on a prestarted dbt process."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc

    @classmethod
    def start(cls) -> WarmDbt | None:
        """Start it (None when it cannot start: the build then starts dbt as usual)."""
        from lib.config import PROJECT_ROOT
        from lib.dbt_runner import dbt_process_env, dbt_work_dir
        from lib.pipeline.procs import die_with_parent

        try:
            proc = subprocess.Popen(  # this interpreter, our own module
                [sys.executable, "-m", "lib.dbt_warm"],
                cwd=PROJECT_ROOT,
                env=dbt_process_env(dbt_work_dir()),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                preexec_fn=die_with_parent,  # the batch killed: its dbt goes too
            )
        except Exception:  # optional: the build then starts dbt itself
            return None
        return cls(proc)

    def run(self, args: Sequence[str], timeout_s: float | None) -> subprocess.CompletedProcess[str] | None:
        """Run `dbt <args>` in it and wait; None when it is no longer waiting (it exited).
        Raises subprocess.TimeoutExpired (after killing it) like subprocess.run."""
        if self.proc.poll() is not None:
            return None
        try:
            out, err = self.proc.communicate(json.dumps(list(args)) + "\n", timeout=timeout_s)
        except BrokenPipeError:
            return None
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
            raise
        return subprocess.CompletedProcess(self.proc.args, self.proc.returncode, out, err)

    def close(self) -> None:
        """End it when it was not used (nothing to build): it exits at once on EOF."""
        if self.proc.poll() is None:
            try:
                self.proc.communicate("", timeout=5)
            except (subprocess.TimeoutExpired, OSError):
                self.proc.kill()
                self.proc.communicate()


def _main() -> int:
    from lib.pipeline._fastimport import trim

    trim()
    from dbt.cli.main import cli

    line = sys.stdin.readline()
    if not line.strip():
        return 0
    sys.argv = ["dbt", *json.loads(line)]
    return cli()  # click exits with dbt's status


if __name__ == "__main__":
    sys.exit(_main())
