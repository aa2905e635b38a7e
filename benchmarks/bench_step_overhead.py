"""What a pipeline step costs outside its lib call, on a warm step kernel: papermill running a thin
notebook shaped like the steps' (parameters, a StepResult, its summary frame, raise_for_failure),
then the kernel reset that empties it for the next step. Two resets compared in one run: IPython's
`%reset -f` plus a garbage collection (the reset before 2026-12-03) and `lib.pipeline.kernel_reset`.

    python benchmarks/bench_step_overhead.py [--steps 12]

Prints, per reset: wall seconds per step, the worker's and the kernel's CPU seconds per step, and the
reset alone. Not a timed test.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

OLD_RESET = (
    "get_ipython().run_line_magic('reset', '-f'); get_ipython().execution_count = 1; "
    "import gc as _bi_gc; _bi_gc.collect(); del _bi_gc"
)


def _notebook(folder: Path) -> Path:
    import nbformat

    from lib.pipeline import kernel

    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("tenant = None\nrun_id = None", metadata={"tags": ["parameters"]})
    nb.cells = [
        nbformat.v4.new_markdown_cell("# a step"),
        params,
        nbformat.v4.new_code_cell(
            "from lib.steps import StepResult\n\nresult = StepResult('bench', tenant or 't')"
        ),
        nbformat.v4.new_code_cell("result.summary_frame()"),
        nbformat.v4.new_code_cell("result.raise_for_failure();"),
    ]
    nb.metadata["kernelspec"] = {"name": kernel.KERNEL_NAME, "display_name": "bi", "language": "python"}
    path = folder / "step.ipynb"
    nbformat.write(nb, path)
    return path


def _kernel_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=12)
    args = p.parse_args(argv)
    from lib.pipeline import _fastimport

    _fastimport.trim()
    import papermill as pm

    from lib.pipeline import kernel

    with tempfile.TemporaryDirectory(prefix="bench_step_") as tmp:
        folder = Path(tmp)
        os.environ.setdefault("JUPYTER_DATA_DIR", str(folder / "jd"))
        os.environ.setdefault("IPYTHONDIR", str(folder / "ip"))
        src = _notebook(folder)
        new_reset = kernel.RESET_CODE
        for label, code in (("%reset -f + gc (before)", OLD_RESET), ("kernel_reset (now)", new_reset)):
            km = kernel.start_kernel(kind="transform", tenant="bench")
            kernel.wait_ready(km)
            kernel.RESET_CODE = code
            pid = km.provisioner.pid

            def step(i: int, km=km) -> None:
                pm.execute_notebook(
                    str(src), str(folder / f"out{i}.ipynb"), parameters={"tenant": "bench", "run_id": "r"},
                    cwd=str(ROOT), progress_bar=False, km=km, kernel_name=kernel.KERNEL_NAME,
                    request_save_on_cell_execute=False,
                )  # fmt: skip
                assert kernel.reset(km)

            step(0)  # imports loaded, as on a kernel that served a step already
            k0, c0, t0 = _kernel_cpu(pid), time.process_time(), time.perf_counter()
            for i in range(args.steps):
                step(i + 1)
            n = args.steps
            wall, worker, kern = (
                (time.perf_counter() - t0) / n,
                (time.process_time() - c0) / n,
                (_kernel_cpu(pid) - k0) / n,
            )
            k0, t0 = _kernel_cpu(pid), time.perf_counter()
            for _ in range(n):
                kernel.reset(km)
            reset_wall, reset_cpu = (time.perf_counter() - t0) / n, (_kernel_cpu(pid) - k0) / n
            print(f"{label:<26} step {wall:.3f} s wall, worker {worker:.3f} + kernel {kern:.3f} CPU-s; "
                  f"reset alone {reset_wall:.3f} s wall, {reset_cpu:.3f} kernel CPU-s", flush=True)  # fmt: skip
            kernel.stop_kernel(km)
        kernel.RESET_CODE = new_reset
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
