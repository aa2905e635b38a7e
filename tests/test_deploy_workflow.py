"""The GitHub Actions deploy workflow: parses, tests before deploying, takes host/user/key from secrets."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github/workflows/deploy.yml"
ALLOWED_CONTEXTS = re.compile(r"^(secrets\.[A-Z_]+|github\.(sha|ref)|hashFiles\('[^']+'(, '[^']+')*\))$")


def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def test_workflow_parses_with_test_then_deploy() -> None:
    wf = workflow()
    triggers = wf.get("on") or wf.get(True)  # YAML 1.1 reads a bare `on` as True
    assert "push" in triggers
    jobs = wf["jobs"]
    assert set(jobs) == {"test", "deploy"}
    assert any(step.get("run", "").strip() == "make test" for step in jobs["test"]["steps"])
    assert jobs["test"]["container"].startswith("debian:")  # the Debian packages `make test` installs
    cache = next(s for s in jobs["test"]["steps"] if s.get("uses", "").startswith("actions/cache"))
    assert cache["with"]["path"] == "~/.cache/indigitall-bi"
    assert jobs["deploy"]["needs"] == "test"


def test_expressions_reference_secrets_only() -> None:
    text = WORKFLOW.read_text()
    exprs = [e.strip() for e in re.findall(r"\$\{\{(.*?)\}\}", text)]
    assert exprs
    for e in exprs:
        assert ALLOWED_CONTEXTS.match(e), f"unexpected expression: {e}"
    used = {e.split(".", 1)[1] for e in exprs if e.startswith("secrets.")}
    assert {"DEPLOY_HOST", "DEPLOY_USER", "DEPLOY_SSH_KEY"} <= used


def test_no_literal_host_user_or_key() -> None:
    text = WORKFLOW.read_text()
    assert not re.search(r"\b\d{1,3}(\.\d{1,3}){3}\b", text)
    assert "BEGIN OPENSSH" not in text and "abstractstudio" not in text
    deploy = workflow()["jobs"]["deploy"]
    ssh_steps = [s for s in deploy["steps"] if "ssh " in s.get("run", "")]
    assert ssh_steps and all("$DEPLOY_HOST" in s["run"] and "$DEPLOY_USER" in s["run"] for s in ssh_steps)
    for step in deploy["steps"]:
        for value in (step.get("env") or {}).values():
            assert str(value).startswith("${{"), value
