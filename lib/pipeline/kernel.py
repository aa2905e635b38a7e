"""Step kernels: always the running interpreter's Python (`sys.executable`), started ahead of use.

The kernel spec is built in memory (no kernel.json to find or shadow), so a step never runs in another
environment's `python3`. A worker keeps a spare kernel booting (modules preloaded by
`lib.pipeline.kernel_preload`, chosen by the kind of step it will likely serve) while the current step
runs. A kernel serves the steps of one run, one tenant and one kind of environment: after a step
that succeeded, `reset` empties its namespace (the next notebook starts as on a fresh kernel, with
execution counts from 1) and it waits for the worker's next step of the same kind, so a run starts a
few kernels instead of one per step. A failed step's kernel is stopped.
"""

from __future__ import annotations

import subprocess
import sys
import uuid

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync

from lib.childenv import child_env, kernel_kind
from lib.config import PROJECT_ROOT
from lib.pipeline.kernel_forkserver import ForkedProcess, ForkProvisioner, server_path
from lib.pipeline.procs import die_with_parent

KERNEL_NAME = "indigitall-bi"
PRELOAD_LINE = "import lib.pipeline.kernel_preload as _bi_preload; del _bi_preload"
PRELOAD_ENV = "BI_KERNEL_PRELOAD"  # the kind of step a kernel preloads for (read by kernel_preload)


class VenvKernelSpecs(KernelSpecManager):
    """A spec manager that knows one kernel: ipykernel on `sys.executable`."""

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:  # noqa: ARG002 - one kernel only
        """The interpreter's ipykernel, whatever name is asked for."""
        return KernelSpec(
            argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            display_name=f"Python ({sys.executable})",
            language="python",
            resource_dir=str(PROJECT_ROOT),
            metadata={"debugger": False},
        )


def env_key(kind: str | None, tenant: str | None) -> tuple[str, str | None]:
    """Which steps a kernel may serve: its kind of environment (lib.childenv) and its tenant."""
    return (kernel_kind(kind), tenant)


def kernel_env(kind: str | None = None, tenant: str | None = None) -> dict[str, str]:
    """The kernel's environment: the allow-list of its kind of step (`lib.childenv`: an extract
    kernel gets its tenant's key only, a transform kernel none), plus the kind to preload for."""
    env = child_env(kernel_kind(kind), tenant=tenant)
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    if kind:
        env[PRELOAD_ENV] = kind
    return env


def start_kernel(
    preload: bool = True, kind: str | None = None, tenant: str | None = None
) -> AsyncKernelManager:
    """Start a kernel (returns at once; it boots in the background) with cwd = project root.

    `kind` (extract, transform, post, dbt) narrows the preloaded modules to what that step uses and
    picks its environment; `tenant` is whose key an extract kernel holds. `km.bi_env` records both.
    """
    km = AsyncKernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=VenvKernelSpecs(), transport="tcp")
    if server_path() is not None:  # a batch's run: the kernel is forked from its preloaded server
        km.kernel_id = str(uuid.uuid4())
        km.provisioner = ForkProvisioner(kernel_id=km.kernel_id, kernel_spec=km.kernel_spec, parent=km)
    extra = ["--HistoryManager.enabled=False", "--IPKernelApp.quiet=True"]
    if preload:
        extra.append(f"--IPKernelApp.exec_lines={PRELOAD_LINE}")
    run_sync(km.start_kernel)(
        cwd=str(PROJECT_ROOT), env=kernel_env(kind, tenant), extra_arguments=extra,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=die_with_parent,
    )  # fmt: skip
    km.bi_env = env_key(kind, tenant)  # type: ignore[attr-defined] - which steps it may serve
    return km


def wait_ready(km: AsyncKernelManager, timeout_s: float | None = None) -> None:
    """Block until the kernel answers (its preload done); raises RuntimeError/TimeoutError if not.
    The client that waited stays the kernel's (`client`)."""
    client(km, timeout_s)


def client(km: AsyncKernelManager, timeout_s: float | None = None) -> AsyncKernelClient:
    """The kernel's one client, channels open and ready: made and waited for once, then every step
    (`lib.pipeline.papermill_engine`) and reset of the kernel uses it until `stop_kernel`. Clients of
    one manager share a zmq identity, so there is never a second one open."""
    kc = getattr(km, "bi_kc", None)
    if kc is not None:
        return kc
    kc = km.client()
    kc.start_channels()
    try:
        run_sync(kc.wait_for_ready)(timeout=timeout_s or 120)
    except BaseException:
        kc.stop_channels()
        raise
    kc.allow_stdin = False
    km.bi_kc = kc  # type: ignore[attr-defined]
    return kc


RESET_CODE = "__import__('lib.pipeline.kernel_reset', fromlist=['_']).reset_namespace()"


def reset(km: AsyncKernelManager, timeout_s: float = 10) -> bool:
    """Empty the kernel's namespace (variables, history, output cache) and restart its execution count;
    imported modules stay loaded. False when it did not answer `ok` in time (the caller stops it)."""
    if not km.has_kernel:
        return False
    try:
        reply = run_sync(client(km, timeout_s).execute_interactive)(
            RESET_CODE, silent=True, store_history=False, allow_stdin=False, timeout=timeout_s,
            output_hook=lambda _msg: None,
        )  # fmt: skip
    except Exception:  # noqa: BLE001 - dead or hung: not reusable
        return False
    return reply.get("content", {}).get("status") == "ok"


def is_alive(km: AsyncKernelManager) -> bool:
    """True while the kernel's process runs (no message exchanged)."""
    try:
        return bool(km.has_kernel and run_sync(km.is_alive)())
    except Exception:  # noqa: BLE001 - gone
        return False


def is_forked(km: AsyncKernelManager) -> bool:
    """True when the kernel came from a batch's fork server (lib.pipeline.kernel_forkserver)."""
    return isinstance(getattr(km.provisioner, "process", None), ForkedProcess)


def stop_kernel(km: AsyncKernelManager | None) -> None:
    """Kill a kernel and remove its connection file (no-op for None)."""
    if km is None:
        return
    kc, km.bi_kc = getattr(km, "bi_kc", None), None  # type: ignore[attr-defined]
    if kc is not None:
        try:
            kc.stop_channels()
        except Exception:  # noqa: BLE001, S110 - closed already
            pass
    try:
        run_sync(km.shutdown_kernel)(now=True)
    except Exception:  # noqa: BLE001, S110 - already gone
        pass
