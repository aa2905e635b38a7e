"""Citus mode: the same schema distributed by tenant (issue 18; README "Scale-out").

Citus mode is on when the `citus` extension is installed in the database `bi db migrate` runs on
(the operator creates it and adds the workers; a managed Citus has both). Nothing to set: without
the extension every function here is a no-op and the server is a plain PostgreSQL.

After the migration files, `lib.db.migrate` calls `apply_placement`: `ops.apply_tenant_keys()`
(migration 100, on every server: surrogate keys become `(tenant_id, id)`) and `ops.apply_citus()`
(migration 101, Citus only: every tenant table distributed by `tenant_id` in one co-location group,
tables without a tenant in public/analytics as reference tables, the rest local on the coordinator).
dbt's tables are distributed as they are built (macro `bi_citus_create_table_as`, dbt/macros/citus.sql).
Citus opens its connections to the workers as the current role, and a group role cannot log in, so
on Citus dbt does not `SET ROLE bi_dbt` (`dbt_role`): it works as its login, a member of bi_dbt, and
the macro hands every table it builds to bi_dbt, as SET ROLE would have.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

_PLACEMENTS = text(
    "SELECT format('%I.%I', n.nspname, c.relname), ops.citus_plan(c.oid::regclass) "
    "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname IN ('raw', 'public', 'ops', 'analytics') AND c.relkind IN ('r', 'p') "
    "AND NOT c.relispartition ORDER BY 1"
)


def _has(conn: Connection, function: str) -> bool:
    return bool(conn.execute(text("SELECT to_regprocedure(:f) IS NOT NULL"), {"f": function}).scalar())


def citus_enabled(conn: Connection) -> bool:
    """True when the `citus` extension is installed in this database."""
    return bool(
        conn.execute(text("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')")).scalar()
    )


def apply_placement(conn: Connection) -> dict[str, str]:
    """Tenant keys on every server; with Citus, each table's placement (table -> what it is now)."""
    if _has(conn, "ops.apply_tenant_keys()"):
        conn.execute(text("SELECT ops.apply_tenant_keys()")).all()
    if not _has(conn, "ops.apply_citus()") or not citus_enabled(conn):
        return {}
    return {r[0]: r[1] for r in conn.execute(text("SELECT relation, placement FROM ops.apply_citus()"))}


def restrict_metadata(conn: Connection) -> None:
    """After the login grants: Citus' metadata views in public are the owner's only (migration 101)."""
    if _has(conn, "ops.citus_restrict_metadata()"):
        conn.execute(text("SELECT ops.citus_restrict_metadata()"))


def placements(conn: Connection) -> dict[str, str]:
    """Every table of raw/public/ops/analytics -> distributed | reference | local[: reason]."""
    if not citus_enabled(conn):
        return {}
    return {r[0]: r[1] for r in conn.execute(_PLACEMENTS)}


def describe(conn: Connection) -> str | None:
    """One line for `bi db migrate` in Citus mode (None on a single node)."""
    placed = placements(conn)
    if not placed:
        return None
    nodes = conn.execute(
        text("SELECT count(*) FROM pg_dist_node WHERE noderole = 'primary' AND shouldhaveshards")
    )
    kinds = {k: sum(1 for v in placed.values() if v.split(":")[0] == k) for k in ("distributed", "reference")}
    local = sorted(t for t, v in placed.items() if v.startswith("local"))
    return (
        f"citus: {kinds['distributed']} tables distributed by tenant_id over {nodes.scalar()} worker(s), "
        f"{kinds['reference']} reference, {len(local)} on the coordinator ({', '.join(local)})"
    )


def dbt_role(group: str) -> str:
    """The role dbt sets on its connections (`BI_DB_ROLE`): `group`, or none on Citus."""
    from lib.db import get_engine

    try:
        with get_engine("dbt").connect() as conn:
            return "" if citus_enabled(conn) else group
    except Exception:
        return group
