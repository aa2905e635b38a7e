"""Imported by a fresh step kernel while it waits for its step (see lib.pipeline.kernel).

Only imports, no connections and no settings: the step's notebook still runs every line itself.
"""

import importlib

for _name in (
    "pandas",
    "sqlalchemy",
    "psycopg2",
    "lib.steps",
    "lib.config",
    "lib.db",
    "lib.pipeline.nbstep",
    "lib.api",
    "lib.extract",
    "lib.transform",
    "lib.dbt_runner",
):
    try:
        importlib.import_module(_name)
    except Exception:  # noqa: BLE001, S112 - a module not installed yet is imported by the step (and fails there)
        continue
