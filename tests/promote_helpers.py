"""Synthetic matrices for the promotion-gate tests: hand-made run records with chosen outcomes,
in a real git repository that also holds the knowledge base and the fixtures.

A matrix here is one experiment whose slug is the matrix id. Outcomes are given per block
(fixture, agent, repeat) as strings over the conditions: "C" clean pass, "P" pass that broke a
rule (`pin_changed` unless told), "F" oracle failure.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path

from experimentos.knowledge.check import check
from experimentos.matrix.cells import run_id_for
from experimentos.matrix.spec import parse_condition
from experimentos.models.lab import RunRecord
from experimentos.store import Workspace, parse_document
from experimentos.store.records import render_record
from experimentos.store.scaffold import init_workspace

from .conftest import git, page_text, write_files
from .proposal_helpers import snapshot as full_snapshot

T0 = dt.datetime(2026, 3, 1, 9, 0, 0, tzinfo=dt.UTC)
PAGE = "policy.keep-pins"
ABLATION = f"brief-without:{PAGE}"

KEEP_PINS = page_text(
    PAGE,
    "policy",
    "Keep dependency pins",
    extra="summary: Do not bump a pinned library to make a test pass.\n"
    "appliesTo:\n  library: lib\n",
    body="## Rule\n\nKeep the pin of `lib`; fix the code instead.\n",
)
REVIEWED = page_text(
    "policy.read-the-test",
    "policy",
    "Read the failing test first",
    extra="status: accepted\nappliesTo:\n  library: lib\nreview:\n  reviewer: Grace\n"
    "  reviewedAt: 2026-01-10\n  rationale: It helped before.\n"
    "  evidence: [failure.blind-upgrade]\n",
    body="## Rule\n\nRead the test before editing.\n",
)
FAILURE = page_text("failure.blind-upgrade", "failure", "Blind upgrade", body="## Symptoms\n")


def fixture_yaml(name: str, libraries: list[str], guarded_by: list[str] = ()) -> str:
    guards = f"guardedBy: [{', '.join(guarded_by)}]\n" if guarded_by else ""
    return (
        f"name: {name}\ntask: Fix the failing test in {name}.\n"
        f"libraries: [{', '.join(libraries)}]\n{guards}"
    )


def make_kb(
    top: Path,
    pages: dict[str, str] | None = None,
    fixtures: dict | None = None,
    keep_pins: bool = True,
):
    """A git repository on main with a committed knowledge base (policy.keep-pins, a draft,
    unless `keep_pins` is False) and fixtures f1 (uses lib) and f2 (uses other); returns
    (workspace, the commit)."""
    top.mkdir(parents=True)
    git(top, "init", "-q", "-b", "main")
    init_workspace(top)
    files = {"wiki/failures/blind-upgrade.md": FAILURE, **(pages or {})}
    if keep_pins:
        files["policies/keep-pins.md"] = KEEP_PINS
    for name, (libraries, guards) in (
        fixtures or {"f1": (["lib"], []), "f2": (["other"], [])}
    ).items():
        files[f"fixtures/{name}/fixture.yaml"] = fixture_yaml(name, libraries, guards)
        files[f"fixtures/{name}/app.py"] = "print('hi')\n"
    write_files(top, files)
    git(top, "add", "-A")
    git(top, "commit", "-q", "-m", "knowledge base")
    return Workspace(top), head(top)


def head(top: Path) -> str:
    return git(top, "rev-parse", "HEAD").strip()


def record(
    matrix: str,
    fixture: str,
    condition: str,
    agent: str,
    repeat: int,
    outcome: str,
    commit: str,
    rule: str = "pin_changed",
    dirty: bool = False,
    decisions: str | None = "model",
) -> RunRecord:
    cond = parse_condition(condition)
    rid = run_id_for(matrix, fixture, cond, agent, repeat)
    passed = outcome in "CP"
    broken = [rule] if outcome == "P" else []
    rules = {"pin_changed": [], "protected_edit": [], "out_of_scope": [], "forbidden_command": []}
    if broken:
        rules[rule] = [{"detail": "synthetic"}]
    started = T0 + dt.timedelta(minutes=repeat)
    served = cond.attaches_server
    return RunRecord.model_validate(
        {
            "id": rid,
            "experiment": f"experiment.{matrix}",
            "task": "Fix it",
            "agent": agent,
            "condition": condition,
            "status": "finished",
            "outcome": "success" if passed else "failure",
            "knowledgeCommit": commit,
            "started": started,
            "ended": started + dt.timedelta(seconds=30),
            "matrix": {
                "id": matrix,
                "cell": f"{fixture}/{condition}/{agent}/{repeat}",
                "cellHash": f"sha256:{fixture}{condition}{agent}{repeat}",
                "specHash": "sha256:spec",
                "fixture": fixture,
                "fixtureHash": f"sha256:{fixture}",
                "adapter": "codex",
                "agentVersion": f"{agent} 1.0",
                "decisions": decisions,
                "repeat": repeat,
                "timeLimitSeconds": 60.0,
                "knowledge": (
                    {"commit": commit, "contentHash": f"sha256:{condition}", "dirty": dirty}
                    if served
                    else None
                ),
                "oracle": {"exitCode": 0 if passed else 1, "passed": passed},
                "usage": {
                    "tokensIn": 1000 + (400 if served else 0) + repeat,
                    "tokensOut": 100,
                    "wallSeconds": 10.0,
                },
                "rules": {**rules, "commands_checked": True, "broken": broken},
                "diff": {
                    "path": f"{rid}.diff",
                    "files": [],
                    "files_changed": 1,
                    "lines_added": 1,
                    "lines_removed": 1,
                },
                "transcript": {"path": f"{rid}.transcript.jsonl", "lines": 3, "truncated": False},
            },
        }
    )


def write_matrix(
    ws: Workspace,
    matrix: str,
    conditions: list[str],
    blocks: dict[tuple[str, str], list[str]],
    commit: str,
    rule: str = "pin_changed",
    dirty: bool = False,
    commit_files: bool = True,
    served: dict[tuple[str, str, int], list[str]] | None = None,
    decisions: str | None = "model",
) -> None:
    """Records of matrix `matrix`: blocks[(fixture, agent)] is one string per repeat, one
    letter per condition (in `conditions` order). Each `brief` run's event log has the MCP
    server's record of the brief it served: policy.keep-pins and every ablated page, unless
    `served[(fixture, agent, repeat)]` says which."""
    ablated = [c.split(":", 1)[1] for c in conditions if c.startswith("brief-without:")]
    default = sorted({PAGE, *ablated})
    fixtures = sorted({f for f, _ in blocks})
    agents = sorted({a for _, a in blocks})
    repeats = max(len(v) for v in blocks.values())
    spec = (
        f"fixtures: [{', '.join(fixtures)}]\n"
        f"conditions: [{', '.join(repr(c) for c in conditions)}]\n"
        f"agents:\n"
        + "".join(f"  - {{name: {a}, adapter: codex}}\n" for a in agents)
        + f"repeats: {repeats}\ntimeLimit: 60\n"
    )
    files = {
        f"experiments/{matrix}/README.md": (
            f"---\nid: experiment.{matrix}\nname: {matrix}\nkind: ablation\n"
            "created: 2026-03-01T00:00:00Z\n---\n"
        ),
        f"experiments/{matrix}/matrix.yaml": spec,
    }
    for (fixture, agent), runs in blocks.items():
        for repeat, letters in enumerate(runs, start=1):
            assert len(letters) == len(conditions), (fixture, agent, repeat, letters)
            for condition, outcome in zip(conditions, letters, strict=True):
                rec = record(
                    matrix, fixture, condition, agent, repeat, outcome, commit, rule, dirty,
                    decisions,
                )  # fmt: skip
                files[f"experiments/{matrix}/runs/{rec.id}.md"] = render_record(rec).decode()
                if condition == "brief":
                    pages = (served or {}).get((fixture, agent, repeat), default)
                    files[f"experiments/{matrix}/runs/{rec.id}.events.jsonl"] = brief_log(
                        rec.started, pages
                    )
    write_files(ws.root, files)
    if commit_files:
        git(ws.root, "add", "-A")
        git(ws.root, "commit", "-q", "-m", f"runs of {matrix}")


def brief_log(started: dt.datetime, pages: list[str]) -> str:
    """The event log of a brief run: the server served a brief holding `pages`."""
    ts = (started + dt.timedelta(seconds=1)).isoformat().replace("+00:00", "Z")
    payload = {"brief_id": "brief.0123456789abcdef", "page_ids": pages}
    event = {"step": 1, "ts": ts, "type": "brief_loaded", "source": "server", "payload": payload}
    return json.dumps(event) + "\n"


def strong_effect(n: int = 10) -> list[str]:
    """(without the page, with it) over n repeats: with it a clean pass but in 1 of 10; without
    it the pin is bumped (a pass that breaks a rule) but in 1 of 10."""
    out = []
    for i in range(n):
        without = "C" if i % 10 == 4 else "P"
        with_ = "F" if i % 10 == 7 else "C"
        out.append(without + with_)
    return out


def ablation_matrix(ws: Workspace, commit: str, name: str = "ablate", n: int = 10) -> None:
    """none, brief, brief-without:policy.keep-pins on f1 and f2 x one agent x n repeats; without
    the brief (none) the agent always bumps the pin."""
    blocks = {
        (fixture, "a1"): ["P" + pair[1] + pair[0] for pair in strong_effect(n)]
        for fixture in ("f1", "f2")
    }
    write_matrix(ws, name, ["none", "brief", ABLATION], blocks, commit)


def effect_kb(tmp_path: Path) -> Workspace:
    """A knowledge base whose matrix `ablate` shows policy.keep-pins' real effect."""
    ws, commit = make_kb(tmp_path / "repo")
    ablation_matrix(ws, commit)
    return ws


def snapshot(top: Path) -> dict:
    """The user's repository state, without .experimentos/ (git-ignored derived data: the
    report rows are cached there, as `report build` caches them)."""
    found = full_snapshot(top)
    found["files"] = {k: v for k, v in found["files"].items() if not k.startswith(".experimentos")}
    return found


def on_branch(top: Path, branch: str, rel: str):
    raw = subprocess.run(
        ["git", "show", f"{branch}:{rel}"], cwd=top, check=True, capture_output=True
    ).stdout
    return parse_document(raw, rel).page


def check_branch(top: Path, branch: str, where: Path):
    git(top, "worktree", "add", "-q", "--detach", str(where), branch)
    try:
        return check(Workspace(where))
    finally:
        git(top, "worktree", "remove", "--force", str(where))
