"""n8n workflows as files: importable 1.x exports that real n8n accepts in one batch (stable ids of at most
16 characters, tags with ids), that read no environment variable, and whose settings the import fills
(deploy/n8n/configure.mjs, run here with Node).

What the workflows do is tested with n8n itself in tests/test_stack.py: imported by the README's
command, a schedule firing through Caddy, success, failure with the pipeline's message, 409 quietly.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from stack_harness import tools

N8N_DIR = Path(__file__).resolve().parent.parent / "n8n"
CONFIGURE = N8N_DIR.parent / "deploy" / "n8n" / "configure.mjs"
WORKFLOWS = {
    "indigitall-data-sync": ("biDataSync", "full", 6),
    "indigitall-transform-only": ("biTransformOnly", "transform-only", 1),
}
KNOWN_TYPES = {
    "n8n-nodes-base.scheduleTrigger", "n8n-nodes-base.set", "n8n-nodes-base.httpRequest", "n8n-nodes-base.switch",
    "n8n-nodes-base.if", "n8n-nodes-base.wait", "n8n-nodes-base.noOp", "n8n-nodes-base.stopAndError",
    "n8n-nodes-base.stickyNote",
}  # fmt: skip
CONFIG = "={{ $('Configuración').first().json."


def load(name: str) -> dict:
    return json.loads((N8N_DIR / f"{name}.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(WORKFLOWS))
def test_workflow_is_a_valid_n8n_export(name: str) -> None:
    wf = load(name)
    wid, mode, hours = WORKFLOWS[name]
    assert wf["name"] == name and isinstance(wf["nodes"], list) and isinstance(wf["connections"], dict)
    assert wf["id"] == wid and re.fullmatch(r"[A-Za-z0-9]{1,16}", wid)  # n8n keeps ids of <= 16 characters
    names = [n["name"] for n in wf["nodes"]]
    assert len(names) == len(set(names))
    for n in wf["nodes"]:
        assert n["type"] in KNOWN_TYPES and isinstance(n["typeVersion"], int | float)
        assert isinstance(n["position"], list) and len(n["position"]) == 2 and n["id"]
    for src, outs in wf["connections"].items():
        assert src in names
        for branch in outs["main"]:
            for link in branch:
                assert link["node"] in names and link["type"] == "main"
    trig = [n for n in wf["nodes"] if n["type"] == "n8n-nodes-base.scheduleTrigger"]
    assert len(trig) == 1
    assert trig[0]["parameters"]["rule"]["interval"] == [{"field": "hours", "hoursInterval": hours}]
    assert wf["connections"][trig[0]["name"]]["main"] == [
        [{"node": "Configuración", "type": "main", "index": 0}]
    ]
    seen, todo = set(), [trig[0]["name"]]  # every working node is reachable from the trigger
    while todo:
        cur = todo.pop()
        if cur in seen:
            continue
        seen.add(cur)
        todo += [link["node"] for b in wf["connections"].get(cur, {}).get("main", []) for link in b]
    assert seen == {n["name"] for n in wf["nodes"] if n["type"] != "n8n-nodes-base.stickyNote"}
    http = [n for n in wf["nodes"] if n["type"] == "n8n-nodes-base.httpRequest"]
    assert {n["parameters"]["method"] for n in http} == {"POST", "GET"}
    for n in http:
        p = n["parameters"]
        assert p["authentication"] == "genericCredentialType" and p["genericAuthType"] == "httpHeaderAuth"
        assert n["credentials"] == {
            "httpHeaderAuth": {"id": "biPipelineToken", "name": "BI pipeline API token"}
        }
        assert p["url"].startswith(CONFIG + "base_url }}/api/")
        assert p["options"]["response"]["response"]["neverError"] is True
        assert "Authorization" not in json.dumps(p)  # the token lives in n8n's credential store only
    post = next(n for n in http if n["parameters"]["method"] == "POST")["parameters"]["jsonBody"]
    assert post == f'={{"mode": "{mode}", "tenant": "{{{{ $(\'Configuración\').first().json.tenant }}}}"}}'
    wait = next(n for n in wf["nodes"] if n["type"] == "n8n-nodes-base.wait")
    assert wait["parameters"]["amount"] == CONFIG + "poll_seconds }}"
    text = json.dumps(wf)
    assert "$env" not in text  # n8n runs with N8N_BLOCK_ENV_ACCESS_IN_NODE=true
    assert "Bearer " not in text.replace("Bearer <PIPELINE_API_TOKEN>", "")


def test_configuration_node_holds_the_three_settings_with_compose_defaults() -> None:
    for name in WORKFLOWS:
        config = next(n for n in load(name)["nodes"] if n["name"] == "Configuración")
        assert config["type"] == "n8n-nodes-base.set"
        values = {
            a["name"]: (a["value"], a["type"]) for a in config["parameters"]["assignments"]["assignments"]
        }
        assert values == {
            "base_url": ("http://dash:8050", "string"), "tenant": ("*", "string"), "poll_seconds": (30, "number"),
        }  # fmt: skip


def test_tags_have_ids_and_one_id_per_name_across_files() -> None:
    """n8n imports a folder in one batch: two files with the same tag name and no id fail with
    `UNIQUE constraint failed: tag_entity.name` and nothing is imported."""
    by_name: dict[str, set[str]] = {}
    for name in WORKFLOWS:
        for tag in load(name)["tags"]:
            assert tag.get("id") and tag.get("name"), tag
            by_name.setdefault(tag["name"], set()).add(tag["id"])
    assert all(len(ids) == 1 for ids in by_name.values()), by_name
    assert by_name["indigitall-bi"] == {"biTagIndigitall"}
    ids = [load(n)["id"] for n in WORKFLOWS]
    assert len(set(ids)) == len(ids)


def test_token_never_in_workflow_files() -> None:
    token = os.environ.get("PIPELINE_API_TOKEN")
    for path in N8N_DIR.glob("*.json"):
        body = path.read_text()
        assert not token or token not in body
        assert not re.search(r"Bearer [A-Za-z0-9_\-]{16,}", body)


# -- deploy/n8n/configure.mjs (the import's preparation), with Node ----------------------------------------
def _node() -> str:
    cached = tools().node
    exe = str(cached) if cached.exists() else shutil.which("node")
    if exe is None:
        pytest.skip("no Node.js (make stack-deps)")
    return exe


def _configure(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env}
    return subprocess.run(
        [_node(), str(CONFIGURE), str(N8N_DIR), str(tmp_path / "out")],
        env=full, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_configure_fills_the_settings_and_writes_the_credential(tmp_path: Path) -> None:
    proc = _configure(
        tmp_path, BI_BASE_URL="https://bi.example.com/", BI_TENANT_ID="coop_a", BI_POLL_SECONDS="5",
        PIPELINE_API_TOKEN="tok-0123456789abcdef",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "tok-0123456789abcdef" not in proc.stdout + proc.stderr
    out = tmp_path / "out"
    assert (out / "ids").read_text().split() == ["biDataSync", "biTransformOnly"]
    for name in WORKFLOWS:
        rendered = json.loads((out / "workflows" / f"{name}.json").read_text())
        original = load(name)
        config = next(n for n in rendered["nodes"] if n["name"] == "Configuración")
        values = {a["name"]: a["value"] for a in config["parameters"]["assignments"]["assignments"]}
        assert values == {"base_url": "https://bi.example.com", "tenant": "coop_a", "poll_seconds": 5}
        others = [n for n in rendered["nodes"] if n["name"] != "Configuración"]
        assert others == [
            n for n in original["nodes"] if n["name"] != "Configuración"
        ]  # nothing else changes
        assert "tok-0123456789abcdef" not in json.dumps(rendered)
    cred = out / "credentials.json"
    assert stat.S_IMODE(cred.stat().st_mode) == 0o600
    assert json.loads(cred.read_text()) == [
        {"id": "biPipelineToken", "name": "BI pipeline API token", "type": "httpHeaderAuth",
         "data": {"name": "Authorization", "value": "Bearer tok-0123456789abcdef"}},
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"BI_TENANT_ID": "demo", "PIPELINE_API_TOKEN": "t"}, "BI_BASE_URL is not set"),
        ({"BI_BASE_URL": "http://dash:8050", "BI_TENANT_ID": "demo"}, "PIPELINE_API_TOKEN is not set"),
        (
            {"BI_BASE_URL": "http://dash:8050/api", "BI_TENANT_ID": "demo", "PIPELINE_API_TOKEN": "t"},
            "without a path",
        ),
        (
            {
                "BI_BASE_URL": "http://dash:8050",
                "BI_TENANT_ID": "demo",
                "PIPELINE_API_TOKEN": "t",
                "BI_POLL_SECONDS": "0",
            },
            "BI_POLL_SECONDS must be a whole number",
        ),
    ],
)
def test_configure_refuses_missing_or_bad_settings(tmp_path: Path, env: dict[str, str], message: str) -> None:
    proc = _configure(tmp_path, **env)
    assert proc.returncode == 2 and message in proc.stderr
    assert not (tmp_path / "out" / "credentials.json").exists()


def test_import_script_keeps_the_token_off_command_lines() -> None:
    script = (N8N_DIR.parent / "deploy" / "n8n" / "import.sh").read_text()
    body = [ln for ln in script.splitlines() if not ln.lstrip().startswith("#")]
    assert "unset PIPELINE_API_TOKEN" in script
    first_n8n = next(i for i, ln in enumerate(body) if ln.lstrip().startswith("n8n "))
    assert any("unset PIPELINE_API_TOKEN" in ln for ln in body[:first_n8n])  # before any n8n process starts
    assert not any("PIPELINE_API_TOKEN" in ln for ln in body if ln.lstrip().startswith(("n8n ", "node ")))
    assert 'rm -f "$work/credentials.json"' in script and "trap 'rm -rf" in script
