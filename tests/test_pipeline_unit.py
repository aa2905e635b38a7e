"""Pipeline pieces without kernels: graph, archive, secret scan, lock, ledger."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lib.pipeline import archive, graph
from lib.pipeline.scan import contains_secret, quarantine

E = ("applications", "chat", "contacts")
T = ("contacts", "daily_stats", "messages")
P = ("contacts_totals", "agents")


def steps() -> list[graph.Step]:
    return graph.all_steps(E, T, P)


def test_graph_orders_and_depends() -> None:
    s = {x.id: x for x in steps()}
    assert [x.seq for x in steps()] == [1, 2, 3, 11, 12, 13, 21, 22, 90]
    assert s["extract_chat"].deps == ()
    assert set(s["transform_contacts"].deps) == {"extract_contacts"}
    assert "transform_daily_stats" in s["transform_messages"].deps  # FK chain
    assert set(s["post_agents"].deps) >= {"transform_contacts", "transform_messages", "extract_chat"}
    assert set(s["dbt_build"].deps) == set(s) - {"dbt_build"}
    assert s["transform_messages"].notebook == Path("notebooks/transform/13_messages.ipynb")
    assert s["dbt_build"].notebook == Path("notebooks/transform/90_dbt_build.ipynb")
    assert s["extract_chat"].stem == "02_extract_chat"


# The dependency map graph.py kept by hand before it was derived (extract -> the transforms it feeds).
HAND_KEPT_SOURCES = {
    "contacts": ("contacts",), "daily_stats": ("push", "chat"), "toques_daily": ("push",),
    "toques_heatmap": ("push",), "campaigns": ("campaigns",), "messages": ("chat",),
    "chat_conversations": ("chat",), "chat_channels": ("chat",),
}  # fmt: skip


def _topological(steps: list[graph.Step]) -> list[str]:
    """Kahn's order of the steps by their deps (ties by seq)."""
    left = {s.id: set(s.deps) for s in steps}
    order: list[str] = []
    while left:
        ready = sorted((s for s in steps if s.id in left and not left[s.id]), key=lambda s: s.seq)
        assert ready, f"cycle among {sorted(left)}"
        order.append(ready[0].id)
        del left[ready[0].id]
        for deps in left.values():
            deps.discard(order[-1])
    return order


def test_derived_graph_equals_the_hand_kept_one() -> None:
    """What each extractor writes and each transform reads gives today's graph: the same order in every
    mode, the same dependencies, but for one stale hand-kept edge (daily_stats.sql reads only
    raw_push_stats; its chat part is the daily_stats_totals post-transform's)."""
    derived = graph.transform_sources()
    assert {t: derived[t] for t in HAND_KEPT_SOURCES} == {**HAND_KEPT_SOURCES, "daily_stats": ("push",)}
    assert derived["agents"] == derived["contacts_totals"] == ()  # post-transforms declare no raw reads
    full = graph.all_steps()
    assert _topological(full) == [s.id for s in sorted(full, key=lambda s: s.seq)]
    for mode in ("full", "transform-only"):
        planned = graph.plan(mode)
        assert _topological(planned) == [s.id for s in planned]
    by_id = {s.id: s for s in full}
    assert "extract_chat" not in by_id["transform_daily_stats"].deps
    assert set(by_id["transform_messages"].deps) == {"transform_campaigns", "extract_chat"}
    assert set(by_id["transform_contacts"].deps) == {"extract_contacts"}  # not the legacy chat rows
    assert set(by_id["post_agents"].deps) == {s.id for s in full if s.kind in ("extract", "transform")}


def test_a_missing_writer_is_an_error() -> None:
    writes = graph.extract_writes()
    assert ("raw_chat_stats", "/v1/chat/history/csv") in writes["chat"]
    reads = graph.transform_reads()
    assert graph.Reads("raw_contacts_api", frozenset({"/v1/chat/contacts"})) in reads["contacts"]
    with pytest.raises(graph.GraphError, match="raw.raw_contacts_api, which no extractor writes"):
        graph.feeds(reads, {e: w for e, w in writes.items() if e != "contacts"})
    with pytest.raises(graph.GraphError, match="no extractor writes the endpoints"):
        graph.feeds({"x": (graph.Reads("raw_chat_stats", frozenset({"/v1/nope"})),)}, writes)
    with pytest.raises(graph.GraphError, match="raw.raw_nothing"):
        graph.feeds({"x": (graph.Reads("raw_nothing"),)}, writes)
    assert graph.feeds(reads, writes) == graph.transform_sources()


def test_plan_modes_from_only() -> None:
    full = graph.plan("full", steps=steps())
    assert len(full) == 9
    tonly = graph.plan("transform-only", steps=steps())
    assert [x.kind for x in tonly][0] == "transform"
    assert all(not d.startswith("extract_") for x in tonly for d in x.deps)
    frm = graph.plan("transform-only", from_step="messages", steps=steps())
    assert [x.id for x in frm] == ["transform_messages", "post_contacts_totals", "post_agents", "dbt_build"]
    assert frm[0].deps == ()
    only = graph.plan("full", only="extract_chat", steps=steps())
    assert [x.id for x in only] == ["extract_chat"]
    with pytest.raises(ValueError, match="ambiguous"):
        graph.plan("full", only="contacts", steps=steps())
    assert graph.plan("transform-only", only="contacts", steps=steps())[0].id == "transform_contacts"
    with pytest.raises(ValueError, match="unknown step"):
        graph.plan("full", only="nope", steps=steps())
    with pytest.raises(ValueError):
        graph.plan("sideways", steps=steps())


def test_dependents_are_transitive() -> None:
    dep = graph.dependents("transform_daily_stats", steps())
    assert dep == {"transform_messages", "post_contacts_totals", "post_agents", "dbt_build"}


def test_graph_matches_lib_lists() -> None:
    from lib.extract import EXTRACTORS
    from lib.transform import POST_TRANSFORMS, TRANSFORMS

    ids = [s.id for s in graph.all_steps()]
    assert ids == [f"extract_{n}" for n in EXTRACTORS] + [f"transform_{n}" for n in TRANSFORMS] + [
        f"post_{n}" for n in POST_TRANSFORMS
    ] + ["dbt_build"]


def test_write_once_and_attempts(tmp_path: Path) -> None:
    f = archive.write_once(tmp_path / "a" / "x.ipynb", "one")
    with pytest.raises(FileExistsError):
        archive.write_once(f, "two")
    assert f.read_text() == "one"
    assert archive.attempt_stem("03_x", 1) == "03_x" and archive.attempt_stem("03_x", 2) == "03_x.attempt2"
    run = tmp_path / "runs" / "2025-01-02" / "r1"
    run.mkdir(parents=True)
    (run / "03_x.ipynb").write_text("{}")
    assert archive.free_attempt(run, "03_x", 1) == 2
    m1 = archive.write_manifest(run, {"a": 1})
    m2 = archive.write_manifest(run, {"a": 2})
    assert (m1.name, m2.name) == ("manifest.json", "manifest.attempt2.json")
    assert archive.latest_manifest(run) == {"a": 2}
    assert archive.quarantine_dir(run) == tmp_path / "quarantine" / "2025-01-02" / "r1"


def test_secret_scan_and_quarantine(tmp_path: Path) -> None:
    secret = 's3cr3t-value/with"quote'
    nb = json.dumps({"cells": [{"outputs": [{"text": f"key={secret}"}]}]})
    assert contains_secret(nb, [secret])
    assert contains_secret(f"plain {secret}".encode(), [secret])
    assert not contains_secret(nb, ["another-secret"])
    q = quarantine(b"data", tmp_path / "q", "x.ipynb")
    q2 = quarantine(b"data2", tmp_path / "q", "x.ipynb")
    assert q.read_bytes() == b"data" and q2 != q and oct(q.parent.stat().st_mode)[-3:] == "700"


def test_source_cell_index() -> None:
    import nbformat

    from lib.pipeline.worker import source_cell_index

    nb = nbformat.v4.new_notebook()
    err = nbformat.v4.new_markdown_cell("error")
    err.metadata["tags"] = ["papermill-error-cell-tag"]
    inj = nbformat.v4.new_code_cell("tenant = 'x'")
    inj.metadata["tags"] = ["injected-parameters"]
    nb.cells = [err, nbformat.v4.new_markdown_cell("t"), nbformat.v4.new_code_cell("p"), inj,
                nbformat.v4.new_code_cell("call")]  # fmt: skip
    assert source_cell_index(nb, 4) == 2


def test_lock_is_exclusive(db_url: str) -> None:
    from lib.pipeline.lock import RunLocked, TenantLock, is_locked, lock_key

    assert lock_key("a") != lock_key("b") and lock_key("a") == lock_key("a")
    assert not is_locked("lock-test")
    with TenantLock("lock-test"):
        assert is_locked("lock-test")
        assert not is_locked("other-tenant")
        with pytest.raises(RunLocked, match="lock-test"):
            TenantLock("lock-test").acquire()
    assert not is_locked("lock-test")


def test_ledger_roundtrip(db_url: str) -> None:
    from lib.pipeline import ledger

    ledger.create_run("unit-run-1", "ledger-t", "full", params={"a": 1}, status="running")
    ledger.put_steps("unit-run-1", "ledger-t", [(1, "extract_chat", "extract"), (90, "dbt_build", "dbt")])
    ledger.update_step(
        "unit-run-1", "ledger-t", "extract_chat", status="success", rows_in=3, metrics={"x": 1}
    )
    ledger.update_run("unit-run-1", "ledger-t", status="success", duration_ms=5)
    run = ledger.get_run("unit-run-1", "ledger-t")
    assert run is not None and run.status == "success" and run.params == {"a": 1}
    assert [(s.step, s.status) for s in run.steps] == [
        ("extract_chat", "success"),
        ("dbt_build", "pending"),
    ]
    assert run.steps[0].metrics == {"x": 1} and run.steps[0].rows_in == 3
    assert run.as_dict()["steps"][0]["metrics"] == {"x": 1} and run.as_dict()["params"] == {"a": 1}
    assert ledger.get_run("unit-run-1", "other-tenant") is None  # RLS
    listed = ledger.list_runs("ledger-t")[0]
    assert (listed.steps_ok, listed.steps_total, listed.steps_failed, listed.steps) == (1, 2, 0, ())
    assert ledger.list_runs("other-tenant") == []  # RLS
    assert ledger.last_success_by_tenant(["ledger-t"])["ledger-t"].run_id == "unit-run-1"
    with pytest.raises(ValueError):
        ledger.update_step("unit-run-1", "ledger-t", "extract_chat", bogus=1)
