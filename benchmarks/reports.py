"""`report build` over many synthetic run records; prints JSON.

    python benchmarks/reports.py [--runs 10000] [--dir DIR]

The records have the shape and size of real matrix runs (a full `matrix` block: oracle, rule
report, diff stats, usage, transcript summary; an event log with server and transcript events),
with outcomes drawn from a fixed seed: 10 fixtures x 4 conditions (none, brief, two page
ablations) x 5 agents x N repeats. Timed: a cold build (no row cache: every record's YAML is
parsed), a warm build (rows from the content-hash cache), and `--check`. Each phase of the warm
build is timed too (rows, statistics, rendering).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from experimentos.models.lab import RunRecord  # noqa: E402
from experimentos.reports.build import build_reports  # noqa: E402
from experimentos.reports.load import matrices, report_rel  # noqa: E402
from experimentos.reports.render import render_report  # noqa: E402
from experimentos.reports.results import analyze  # noqa: E402
from experimentos.reports.sources import Source  # noqa: E402
from experimentos.store import Workspace  # noqa: E402
from experimentos.store.records import render_record  # noqa: E402
from experimentos.store.scaffold import init_workspace  # noqa: E402

EXP = "bench"
CONDITIONS = ("none", "brief", "brief-without:policy.a", "brief-without:policy.b")
SLUGS = {"none": "none", "brief": "brief", "brief-without:policy.a": "without-policy.a",
         "brief-without:policy.b": "without-policy.b"}  # fmt: skip
CLEAN = {"none": 0.3, "brief": 0.7, "brief-without:policy.a": 0.4, "brief-without:policy.b": 0.68}
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def write_records(root: Path, runs: int, seed: int = 0) -> int:
    rng = random.Random(seed)
    fixtures = [f"fixture-{i}" for i in range(10)]
    agents = [f"agent-{i}" for i in range(5)]
    repeats = max(1, runs // (len(fixtures) * len(CONDITIONS) * len(agents)))
    base = root / "experiments" / EXP
    (base / "runs").mkdir(parents=True)
    (base / "README.md").write_text(
        f"---\nid: experiment.{EXP}\nname: Bench\nkind: agent\ncreated: 2026-01-01T00:00:00Z\n"
        "---\n",
        encoding="utf-8",
    )
    written = 0
    for fixture in fixtures:
        for condition in CONDITIONS:
            for agent in agents:
                for repeat in range(1, repeats + 1):
                    _write_one(base, rng, fixture, condition, agent, repeat)
                    written += 1
    return written


def _write_one(base: Path, rng: random.Random, fixture: str, condition: str, agent: str,
               repeat: int) -> None:  # fmt: skip
    rid = f"run.{EXP}.{fixture}.{SLUGS[condition]}.{agent}.r{repeat}"
    clean = rng.random() < CLEAN[condition]
    passed = clean or rng.random() < 0.5
    pin = not clean and passed
    brief = condition != "none"
    started = T0 + dt.timedelta(seconds=repeat)
    tokens = int(rng.lognormvariate(11 if brief else 10.5, 0.4))
    data = {
        "id": rid,
        "experiment": f"experiment.{EXP}",
        "task": "Bump the library to fix the migration default; keep the tests green.",
        "agent": agent,
        "condition": condition,
        "status": "finished",
        "outcome": "success" if passed else "failure",
        "knowledgeCommit": "b" * 40,
        "started": started,
        "ended": started + dt.timedelta(seconds=20),
        "metrics": {"events": 9, "tokens_in": tokens, "files_changed": 1},
        "matrix": {
            "id": EXP,
            "cell": f"{fixture}/{condition}/{agent}/{repeat}",
            "cellHash": "sha256:" + "c" * 64,
            "specHash": "sha256:" + "d" * 64,
            "fixture": fixture,
            "fixtureHash": "sha256:" + "e" * 64,
            "adapter": "codex",
            "agentVersion": "codex-cli 0.171.0",
            "decisions": "model",
            "repeat": repeat,
            "timeLimitSeconds": 120.0,
            "prompt": "Bump the library to fix the migration default. " * 6,
            "knowledge": {"commit": "b" * 40, "contentHash": "sha256:" + "f" * 64, "pages": 35}
            if brief
            else None,
            "agentProcess": {"command": "codex", "exitCode": 0, "seconds": 11.3,
                             "outputTail": "Reading additional input from stdin...\n"},
            "oracle": {"command": "node check.mjs", "exitCode": 0 if passed else 1,
                       "passed": passed, "seconds": 0.2, "outputTail": "ok\n"},
            "usage": {"tokensIn": tokens, "tokensOut": int(rng.uniform(100, 700)),
                      "costUsd": round(tokens * 3e-6, 6), "turns": 3,
                      "wallSeconds": round(rng.uniform(2, 15), 3)},
            "rules": {
                "fixture": fixture,
                "pin_changed": [{"library": "drizzle-kit", "field": "declared",
                                 "old": "0.30.4", "new": "^0.31.0"}] if pin else [],
                "protected_edit": [], "out_of_scope": ["package.json"] if pin else [],
                "forbidden_command": [], "commands_checked": True,
                "broken": ["pin_changed", "out_of_scope"] if pin else [], "ok": not pin,
            },
            "diff": {"path": f"{rid}.diff", "bytes": 584, "truncated": False, "base": "1" * 40,
                     "files": [{"path": "src/db/schema.ts", "status": "modified",
                                "lines_added": 1, "lines_removed": 1}],
                     "files_changed": 1, "lines_added": 1 + (repeat % 3), "lines_removed": 1},
            "transcript": {"path": f"{rid}.transcript.jsonl", "lines": 14, "bytes": 41396,
                           "truncated": False, "events": {"command": 3, "file_edited": 1},
                           "unknownTypes": {}, "badLines": 0, "eventsNotInContract": 0,
                           "errors": [], "finalAnswer": "Kept the pin; fixed the schema."},
            "reason": None,
            "timings": {"record": 0.008, "materialize": 0.12, "agent": 11.3, "total": 12.1},
        },
    }  # fmt: skip
    record = RunRecord.model_validate({**data, "body": f"{agent} on {fixture}: done.\n"})
    (base / "runs" / f"{rid}.md").write_bytes(render_record(record))
    ts = started.isoformat().replace("+00:00", "Z")
    events = []
    if brief:
        events.append({"type": "brief_loaded", "source": "server",
                       "payload": {"brief_id": "brief.x",
                                   "page_ids": ["policy.a", "policy.b"]}})  # fmt: skip
        events.append({"type": "dependency_resolved", "source": "server",
                       "payload": {"page_ids": ["failure.b"]}})  # fmt: skip
    events += [
        {"type": "command", "source": "transcript", "payload": {"command": "cat package.json"}},
        {"type": "file_edited", "source": "transcript", "payload": {"path": "src/db/schema.ts"}},
        {"type": "test_run", "source": "transcript",
         "payload": {"command": "npm test", "passed": passed}},
        {"type": "final_answer", "source": "transcript", "payload": {"text": "done"}},
    ]  # fmt: skip
    lines = [json.dumps({"step": i, "ts": ts, **e}) for i, e in enumerate(events, start=1)]
    (base / "runs" / f"{rid}.events.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


def timed(fn):  # noqa: ANN001, ANN201
    started = time.perf_counter()
    value = fn()
    return round(time.perf_counter() - started, 3), value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--dir", type=Path, default=None, help="keep the records here")
    args = parser.parse_args()
    holder = Path(args.dir or tempfile.mkdtemp(prefix="xos-bench-reports-"))
    root = holder / "kb"
    try:
        init_workspace(root)
        setup_s, written = timed(lambda: write_records(root, args.runs))
        ws = Workspace(root)
        cold_s, _ = timed(lambda: build_reports(ws))
        warm_s, _ = timed(lambda: build_reports(ws))
        check_s, checked = timed(lambda: build_reports(ws, check=True))
        rows_s, found = timed(lambda: matrices(Source(root)))
        data = found[0]
        stats_s, results = timed(lambda: analyze(data, report_rel(EXP, data.matrix_id)))
        render_s, text = timed(lambda: render_report(results))
        print(
            json.dumps(
                {
                    "runs": written,
                    "setup_s": setup_s,
                    "cold_build_s": cold_s,
                    "warm_build_s": warm_s,
                    "check_s": check_s,
                    "check_stale": len(checked.stale),
                    "warm_phases_s": {"rows": rows_s, "statistics": stats_s, "render": render_s},
                    "report_bytes": len(text.encode("utf-8")),
                    "cpus": os.cpu_count(),
                    "load_average": [round(x, 2) for x in os.getloadavg()],
                },
                indent=2,
            )
        )
    finally:
        if args.dir is None:
            shutil.rmtree(holder, ignore_errors=True)


if __name__ == "__main__":
    main()
