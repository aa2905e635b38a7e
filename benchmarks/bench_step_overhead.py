"""What a pipeline step costs outside its lib call, on a warm step kernel: papermill running a thin
notebook shaped like the steps' (parameters, a StepResult, its summary frame, raise_for_failure),
then the kernel reset that empties it for the next step. Two ways compared in one run: papermill's
own kernel client per notebook (a new client, a kernel_info round trip and IOPub's 0.2 s settling
wait each time: the worker until 2026-12-03) and the kernel's one client handed to papermill
(`lib.pipeline.kernel.client` with `lib.pipeline.papermill_engine`: the worker now).

    python benchmarks/bench_step_overhead.py [--steps 12]

Prints, per way: wall seconds per step, the worker's and the kernel's CPU seconds per step, and the
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


def _reset_on_a_new_client(km) -> bool:  # the reset as it was: a client of its own
    from jupyter_core.utils import run_sync

    from lib.pipeline import kernel

    kc = km.client()
    kc.start_channels()
    try:
        reply = run_sync(kc.execute_interactive)(
            kernel.RESET_CODE, silent=True, store_history=False, allow_stdin=False, timeout=10,
            output_hook=lambda _msg: None,
        )  # fmt: skip
    finally:
        kc.stop_channels()
    return reply["content"]["status"] == "ok"


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
        from lib.pipeline.papermill_engine import ENGINE_NAME

        for label, shared in (
            ("a client per notebook (before)", False),
            ("the kernel's one client (now)", True),
        ):
            km = kernel.start_kernel(kind="transform", tenant="bench")
            kernel.wait_ready(km)
            pid = km.provisioner.pid

            if not shared:  # papermill's clients only: the kernel's own must not be open beside them
                km.bi_kc.stop_channels()
                km.bi_kc = None

            def step(i: int, km=km, shared=shared) -> None:
                pm.execute_notebook(
                    str(src), str(folder / f"out{i}.ipynb"), parameters={"tenant": "bench", "run_id": "r"},
                    cwd=str(ROOT), progress_bar=False, km=km, kernel_name=kernel.KERNEL_NAME,
                    request_save_on_cell_execute=False,
                    **({"engine_name": ENGINE_NAME, "kc": kernel.client(km)} if shared else {}),
                )  # fmt: skip
                assert kernel.reset(km) if shared else _reset_on_a_new_client(km)

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
                kernel.reset(km) if shared else _reset_on_a_new_client(km)
            reset_wall, reset_cpu = (time.perf_counter() - t0) / n, (_kernel_cpu(pid) - k0) / n
            print(f"{label:<32} step {wall:.3f} s wall, worker {worker:.3f} + kernel {kern:.3f} CPU-s; "
                  f"reset alone {reset_wall:.3f} s wall, {reset_cpu:.3f} kernel CPU-s", flush=True)  # fmt: skip
            kernel.stop_kernel(km)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
