"""papermill's nbclient engine on the kernel client a worker already holds (`engine_name="bi"`).

papermill opens a new client for every notebook and waits for it (`wait_for_ready`: a kernel_info
round trip, then 0.2 s for IOPub to settle), and two clients of one kernel manager share the zmq
identity, so they cannot be open together. A worker keeps one client per kernel
(`lib.pipeline.kernel.client`), already waited for, and hands it over with `kc=`: the notebook runs
on it and it stays open for the kernel's reset and next step.
"""

from __future__ import annotations

from typing import Any

from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines
from papermill.log import logger
from papermill.utils import merge_kwargs, remove_args

ENGINE_NAME = "bi"


class KernelClientEngine(NBClientEngine):
    """NBClientEngine that runs the notebook on `kc` (an open, ready client of `km`) when given."""

    @classmethod
    def execute_managed_notebook(  # noqa: PLR0913 - papermill's signature
        cls,
        nb_man: Any,
        kernel_name: str,
        log_output: bool = False,
        stdout_file: Any = None,
        stderr_file: Any = None,
        start_timeout: int = 60,
        execution_timeout: int | None = None,
        kc: Any = None,
        **kwargs: Any,
    ) -> Any:
        """Run the notebook (papermill's arguments); on `kc` when given, else on a new client."""
        kwargs = remove_args(["input_path", "timeout", "startup_timeout"], **kwargs)
        final = merge_kwargs(
            kwargs, timeout=execution_timeout or kwargs.get("timeout"), startup_timeout=start_timeout,
            kernel_name=kernel_name, log=logger, log_output=log_output, stdout_file=stdout_file,
            stderr_file=stderr_file,
        )  # fmt: skip
        client = PapermillNotebookClient(nb_man, **final)
        client.kc = kc  # None: nbclient opens (and waits for) a client of its own, as papermill does
        return client.execute()


papermill_engines.register(ENGINE_NAME, KernelClientEngine)
