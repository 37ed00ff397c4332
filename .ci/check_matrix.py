"""Check a finished real-CLI matrix (`.ci/run`): every cell ran to a result, and every run
record holds the oracle's verdict, the diff, the raw transcript and, for the brief condition,
the MCP server's own log of calls; it was blind (the agent knew it by a token), it has a
complete fingerprint, it says a script decided (the scripted model: a harness check) and
whether the agent's shell had network. Usage: python .ci/check_matrix.py ROOT EXPERIMENT SUMMARY"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from experimentos.lab.runs.events import parse_events
from experimentos.models.lab import RunRecord
from experimentos.store.records import load_record


def main(root: Path, experiment: str, summary_path: Path) -> list[str]:
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    problems = []
    if summary["errored"] or summary["interrupted"]:
        problems.append(f"runs errored or were interrupted: {summary['counts']}")
    runs = root / "experiments" / experiment / "runs"
    for path in sorted(runs.glob("run.*.md")):
        run = load_record(root, path.relative_to(root).as_posix(), RunRecord).model
        where = run.id
        if run.status.value != "finished" or run.outcome is None:
            problems.append(f"{where}: {run.status.value} ({run.matrix.reason})")
            continue
        block = run.matrix
        if block.oracle is None or block.oracle.exit_code is None:
            problems.append(f"{where}: no oracle verdict")
        for suffix in (".diff", ".transcript.jsonl", ".events.jsonl"):
            if not path.with_name(run.id + suffix).is_file():
                problems.append(f"{where}: no {suffix} file")
        log = path.with_name(run.id + ".events.jsonl")
        events = parse_events(log.read_bytes(), str(log))[0] if log.is_file() else []
        server = [e for e in events if e.source == "server" and e.type == "mcp_tool_called"]
        if run.condition == "brief" and not server:
            problems.append(f"{where}: no server-side MCP log")
        if run.condition == "none" and server:
            problems.append(f"{where}: MCP calls without a server")
        if not block.run_token or block.run_token == run.id:
            problems.append(f"{where}: no run token (the agent may have seen the run id)")
        if block.fingerprint is None or not block.fingerprint.agent_files:
            problems.append(f"{where}: no fingerprint of the agent's policy file")
        if block.decisions != "script" or not (block.usage and block.usage.simulated):
            problems.append(f"{where}: a scripted-model run not labelled a script's decisions")
        if block.agent_network is None or block.agent_network.access is None:
            problems.append(f"{where}: no word on the agent shell's network")
        transcript = path.with_name(run.id + ".transcript.jsonl")
        if transcript.is_file() and run.id in transcript.read_text(encoding="utf-8"):
            problems.append(f"{where}: the agent's own output names its run id")
    expected = summary["cells_total"]
    if len(list(runs.glob("run.*.md"))) != expected:
        problems.append(f"expected {expected} run records")
    return problems


if __name__ == "__main__":
    found = main(Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]))
    for problem in found:
        print(f"matrix: {problem}", file=sys.stderr)
    if not found:
        print(f"matrix: {sys.argv[2]}: every run recorded with oracle, diff, transcript and log")
    sys.exit(1 if found else 0)
