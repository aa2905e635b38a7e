"""The marts contract: the columns of every dbt mart, as dbt's manifest declares them.

`dbt/models/marts/_marts__models.yml` declares every column of every mart (what the dashboards, the
API's exports and `dash_app/synthetic/ddl.sql` code against); dbt writes them to `target/manifest.json`
at every parse or build. tests/test_dbt.py checks the built tables, the synthetic DDL and the dashboards'
queries against it.
"""

from __future__ import annotations

import json
from pathlib import Path

MARTS_PATH = "marts/"  # the models' folder under dbt/models


def manifest_path(work_dir: Path | None = None) -> Path:
    """Where dbt wrote its manifest for the configured database (lib.dbt_runner's work dir)."""
    from lib.dbt_runner import dbt_work_dir

    return (work_dir or dbt_work_dir()) / "target" / "manifest.json"


def mart_columns(manifest: Path | None = None) -> dict[str, tuple[str, ...]]:
    """mart name -> its declared columns, in declaration order (from a parsed or built project)."""
    data = json.loads((manifest or manifest_path()).read_text(encoding="utf-8"))
    return {
        node["name"]: tuple(node["columns"])
        for node in data["nodes"].values()
        if node["resource_type"] == "model" and node["path"].startswith(MARTS_PATH)
    }
