"""Hand-made matrix run records for the report tests: outcomes chosen so every number is known.

The matrix `hand`: fixtures f1, f2 x conditions none, brief x agents a1 (codex-like: exit codes
on test runs, no cost) and a2 (claude-like: cost, test runs without exit codes) x 5 repeats =
40 records. Each block (fixture, agent, repeat) is a pair (none, brief); CLEAN and PASS below
give its clean-pass and pass outcome on each side.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from experimentos.models.lab import RunRecord
from experimentos.store.records import render_record

from .conftest import write_files

EXP = "hand"
T0 = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.UTC)
FIXTURES = ("f1", "f2")
AGENTS = ("a1", "a2")
REPEATS = 5

# (none clean pass, brief clean pass) per block; "T" pass, "F" fail.
CLEAN = {
    ("f1", "a1"): ["FT", "FT", "FT", "TT", "FF"],
    ("f1", "a2"): ["FT", "FT", "TF", "FF", "FF"],
    ("f2", "a1"): ["TT", "FT", "FT", "FF", "FF"],
    ("f2", "a2"): ["TT", "TT", "FT", "FT", "FF"],
}
# How a clean fail happens: on f1 without the brief the agent bumps the pin and the oracle
# passes (pin_changed); on f2 the oracle fails. With the brief a clean fail is an oracle fail,
# except f1/a2/r3 where the oracle passes but a protected file was edited.
PROTECTED = {("f1", "a2", 3)}
FORBIDDEN = {("f2", "a1", 4)}  # the none run installs @latest: forbidden_command (already failing)
# Brief runs whose brief came late (after the first edit) or only as the agent's own claim.
LATE_BRIEF = {("f1", "a2", 5), ("f2", "a2", 5)}
CLAIMED_BRIEF = {("f1", "a2", 4)}

SPEC = """\
fixtures: [f1, f2]
conditions: [none, brief]
agents:
  - {name: a1, adapter: codex}
  - {name: a2, adapter: claude-code}
repeats: 5
timeLimit: 60
"""


def outcome(fixture: str, condition: str, agent: str, repeat: int) -> dict:
    """Oracle exit, rules broken, and usage of one run, following the tables above."""
    side = 0 if condition == "none" else 1
    clean = CLEAN[(fixture, agent)][(repeat - 1) % REPEATS][side] == "T"
    rules = {"pin_changed": [], "protected_edit": [], "out_of_scope": [], "forbidden_command": []}
    exit_code = 0
    if not clean:
        if condition == "none" and fixture == "f1":
            rules["pin_changed"] = [
                {"library": "lib", "field": "declared", "old": "1.0.0", "new": "^2.0.0"}
            ]
        elif condition == "brief" and (fixture, agent, repeat) in PROTECTED:
            rules["protected_edit"] = [{"path": "tests/test_x.py", "glob": "tests/**"}]
        else:
            exit_code = 1
    if condition == "none" and (fixture, agent, repeat) in FORBIDDEN:
        rules["forbidden_command"] = [
            {"index": 0, "command": "npm install lib@latest", "pattern": "@latest"}
        ]
    return {"exit_code": exit_code, "rules": rules}


def run_id(fixture: str, condition: str, agent: str, repeat: int) -> str:
    return f"run.{EXP}.{fixture}.{condition}.{agent}.r{repeat}"


def record(fixture: str, condition: str, agent: str, repeat: int, **override) -> RunRecord:
    found = outcome(fixture, condition, agent, repeat)
    broken = [name for name, hits in found["rules"].items() if hits]
    brief = condition == "brief"
    cost = None if agent == "a1" else (0.25 if brief else 0.10)
    started = T0 + dt.timedelta(minutes=repeat)
    rid = run_id(fixture, condition, agent, repeat)
    data = {
        "id": rid,
        "experiment": f"experiment.{EXP}",
        "task": "Fix it",
        "agent": agent,
        "condition": condition,
        "status": "finished",
        "outcome": "success" if found["exit_code"] == 0 else "failure",
        "knowledgeCommit": "a" * 40,
        "started": started,
        "ended": started + dt.timedelta(seconds=30),
        "matrix": {
            "id": EXP,
            "cell": f"{fixture}/{condition}/{agent}/{repeat}",
            "cellHash": f"sha256:{fixture}{condition}{agent}{repeat}",
            "specHash": "sha256:spec",
            "fixture": fixture,
            "fixtureHash": f"sha256:{fixture}-hash",
            "adapter": "codex" if agent == "a1" else "claude-code",
            "agentVersion": f"{agent} 1.0",
            "repeat": repeat,
            "timeLimitSeconds": 60.0,
            "knowledge": {"commit": "a" * 40, "contentHash": "sha256:kb"} if brief else None,
            "oracle": {"exitCode": found["exit_code"], "passed": found["exit_code"] == 0},
            "usage": {
                # tokens in: 1000 + 10 x repeat without the brief, 500 more with it.
                "tokensIn": 1000 + 10 * repeat + (500 if brief else 0),
                "tokensOut": 100,
                "costUsd": cost,
                "wallSeconds": 10.0 if brief else 5.0,
            },
            "rules": {**found["rules"], "commands_checked": True, "broken": broken},
            "diff": {
                "path": f"{rid}.diff",
                "files": [],
                "files_changed": 1,
                "lines_added": 2 if brief else 1,
                "lines_removed": 1,
            },
            "transcript": {"path": f"{rid}.transcript.jsonl", "lines": 5, "truncated": False},
        },
    }
    for key, value in override.items():
        if key in data:
            data[key] = value
        else:
            data["matrix"][key] = value
    return RunRecord.model_validate(data)


def events(fixture: str, condition: str, agent: str, repeat: int) -> list[dict]:
    """The run's event log: the server's log of calls (brief runs) and the transcript's events.

    a1 runs tests with exit codes (brief: fail, fail, pass = 2 red-green cycles; none: pass);
    a2's test runs carry no exit code (x-transcript.test_run: no verdict).
    """
    key = (fixture, agent, repeat)
    t = T0 + dt.timedelta(minutes=repeat)
    out: list[tuple[float, str, str, dict]] = []
    brief = condition == "brief"
    if brief and key in CLAIMED_BRIEF:
        out.append((1.0, "brief_loaded", "agent", {"brief_id": "brief.x", "page_ids": []}))
    elif brief:
        at = 5.0 if key in LATE_BRIEF else 1.0
        out += [
            (at, "brief_loaded", "server", {"brief_id": "brief.x", "page_ids": ["policy.p"]}),
            (at, "dependency_resolved", "server", {"page_ids": ["failure.f"]}),
            (at, "mcp_tool_called", "server", {"tool": "start_pre_work_protocol", "ok": True}),
        ]
    out.append((2.0, "command", "transcript", {"command": "cat app.py"}))
    out.append((3.0, "file_edited", "transcript", {"path": "app.py"}))
    if agent == "a1":
        verdicts = [False, False, True] if brief else [True]
        for i, ok in enumerate(verdicts):
            payload = {"command": "pytest", "passed": ok}
            out.append((6.0 + i, "test_run", "transcript", payload))
    else:
        out.append((6.0, "x-transcript.test_run", "transcript", {"command": "pytest"}))
    out.append((9.0, "final_answer", "transcript", {"text": "done"}))
    out.sort(key=lambda e: e[0])
    lines = []
    for step, (offset, kind, source, payload) in enumerate(out, start=1):
        ts = (t + dt.timedelta(seconds=offset)).isoformat().replace("+00:00", "Z")
        lines.append({"step": step, "ts": ts, "type": kind, "source": source, "payload": payload})
    return lines


def record_files(rec: RunRecord, event_lines: list[dict]) -> dict[str, str]:
    base = f"experiments/{EXP}/runs/{rec.id}"
    return {
        f"{base}.md": render_record(rec).decode("utf-8"),
        f"{base}.events.jsonl": "".join(json.dumps(e) + "\n" for e in event_lines),
    }


def write_hand_matrix(root: Path) -> Path:
    """The 40 records, their event logs, the experiment and its matrix.yaml under root."""
    files = {
        f"experiments/{EXP}/README.md": (
            f"---\nid: experiment.{EXP}\nname: Hand\nkind: agent\n"
            "created: 2026-01-01T00:00:00Z\n---\n"
        ),
        f"experiments/{EXP}/matrix.yaml": SPEC,
    }
    for fixture in FIXTURES:
        for condition in ("none", "brief"):
            for agent in AGENTS:
                for repeat in range(1, REPEATS + 1):
                    rec = record(fixture, condition, agent, repeat)
                    files.update(record_files(rec, events(fixture, condition, agent, repeat)))
    return write_files(root, files)
