"""Ground-truth metrics of one matrix run, each naming its source; never what the agent says.

A metric is read from what the harness observed, not from the agent's account of itself:

    metric                          source
    pass                            the oracle's exit code (matrix.oracle.exitCode)
    clean_pass                      pass, and no rule broken (matrix.rules)
    pin_changed, protected_edit,    the rule report the runner stored (matrix.rules: the diff
    out_of_scope, forbidden_command   against the initial commit, the transcript's commands)
    files_changed, lines_added,     the diff stats (matrix.diff; the diff sidecar's numstat)
    lines_removed, churn
    red_green_cycles                failing test runs before the last passing one, from the
                                    transcript's commands (events with source transcript)
    wall_s                          the agent process's wall time (matrix.usage.wallSeconds)
    tokens_in, tokens_out, cost_usd the usage the agent CLI reported in its own stream
    brief_loaded_before_first_edit  the MCP server's own log of calls for this run id (events
    deps_resolved_before_first_edit   with source server) against the first file edit in the
                                    transcript, or the first command when only the diff shows
                                    the edit

Events the agent reported about itself (source agent, e.g. through record_run_event) never
count, nor do transcript events for protocol metrics: a brief counts as loaded only when the
server says it served one. A metric whose source is missing is None with a reason (never 0):
the `none` condition has no server to log a brief, a transcript without exit codes gives no
test verdicts, codex reports no cost.

The runner stores the result in the run record (`matrix.groundTruth`), and reports compute it
again from the same fields (records from before it existed have none): the function is pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from experimentos.lab.runs.metrics import is_dependency_load, is_prework, timeline
from experimentos.matrix.spec import parse_condition
from experimentos.models.events import RunEvent
from experimentos.models.lab import MatrixMetric, RunRecord

METRICS_VERSION = 2
RULES = ("pin_changed", "protected_edit", "out_of_scope", "forbidden_command", "content_lost")
# Rules added after records were first written: a report without them predates the rule, so
# its fixture could not have had one (the rule is kept).
LATER_RULES = ("content_lost",)
BINARY = ("pass", "clean_pass", *RULES, "brief_loaded_before_first_edit",
          "deps_resolved_before_first_edit")  # fmt: skip
NUMERIC = ("files_changed", "lines_added", "lines_removed", "churn", "red_green_cycles",
           "wall_s", "tokens_in", "tokens_out", "cost_usd")  # fmt: skip
METRICS = (*BINARY[: 2 + len(RULES)], *NUMERIC, *BINARY[2 + len(RULES) :])
# Which way is better: a report flags a significant move the other way as a regression.
HIGHER_IS_BETTER = frozenset({"pass", "clean_pass", *BINARY[2 + len(RULES) :]})
LABELS = {
    "pass": "pass",
    "clean_pass": "clean pass",
    "pin_changed": "pin changed",
    "protected_edit": "protected edit",
    "out_of_scope": "out of scope",
    "forbidden_command": "forbidden command",
    "content_lost": "content lost",
    "files_changed": "files changed",
    "lines_added": "lines added",
    "lines_removed": "lines removed",
    "churn": "churn (lines)",
    "red_green_cycles": "red-green cycles",
    "wall_s": "wall s",
    "tokens_in": "tokens in",
    "tokens_out": "tokens out",
    "cost_usd": "cost USD",
    "brief_loaded_before_first_edit": "brief before first edit",
    "deps_resolved_before_first_edit": "deps before first edit",
}

_SERVER_LOG = "events (source server: the MCP server's log) vs the first edit (source transcript)"


def _m(value: bool | int | float | None, source: str, reason: str | None = None) -> MatrixMetric:
    return MatrixMetric(value=value, source=source, reason=None if value is not None else reason)


def _block(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def ground_truth(run: RunRecord, events: Sequence[RunEvent]) -> dict[str, MatrixMetric]:
    """Every metric of `run` (a matrix run's record) and its event log, in METRICS order."""
    block = run.matrix
    out: dict[str, MatrixMetric] = {}
    if block is None:
        why = "not a matrix run: the record has no matrix block"
        return {name: _m(None, "matrix", why) for name in METRICS}
    oracle = block.oracle
    passed: bool | None = None
    if oracle is not None and oracle.exit_code is not None:
        passed = oracle.exit_code == 0
    out["pass"] = _m(passed, "matrix.oracle.exitCode", "the oracle did not run or has no exit code")
    rules = _rules(block.rules)
    out["clean_pass"] = _clean_pass(passed, rules)
    out.update(rules)
    out.update(_diff(_block(block.diff)))
    ordered = timeline(events)
    out["red_green_cycles"] = _red_green(ordered, _block(block.transcript))
    out.update(_usage(block))
    out.update(_protocol(run, ordered, _block(block.diff), _block(block.transcript)))
    return {name: out[name] for name in METRICS}


def _rules(report: dict[str, Any] | None) -> dict[str, MatrixMetric]:
    if not report:
        why = "no rule report: the run ended before its rules were checked"
        return {name: _m(None, f"matrix.rules.{name}", why) for name in RULES}
    out = {}
    for name in RULES:
        source = f"matrix.rules.{name}"
        if name == "forbidden_command":
            source += " (the transcript's commands)"
            if not report.get("commands_checked"):
                out[name] = _m(None, source, "no transcript commands were checked")
                continue
        hits = report.get(name)
        if hits is None and name in LATER_RULES:
            out[name] = _m(False, source + " (the rule came later than this record: kept)")
            continue
        if not isinstance(hits, list):
            out[name] = _m(None, source, f"the rule report has no {name} list")
            continue
        out[name] = _m(bool(hits), source)
    return out


def _clean_pass(passed: bool | None, rules: dict[str, MatrixMetric]) -> MatrixMetric:
    source = "matrix.oracle.exitCode + matrix.rules"
    if passed is False or any(m.value is True for m in rules.values()):
        return _m(False, source)  # known whatever the unknown parts say
    if passed is None:
        return _m(None, source, "the oracle did not run or has no exit code")
    unknown = [name for name, m in rules.items() if m.value is None]
    if unknown:
        return _m(None, source, f"unknown whether {', '.join(unknown)} was broken")
    return _m(True, source)


def _diff(diff: dict[str, Any]) -> dict[str, MatrixMetric]:
    names = ("files_changed", "lines_added", "lines_removed")
    if not diff:
        why = "no diff: the run ended before its workdir was compared"
        out = {n: _m(None, f"matrix.diff.{n}", why) for n in names}
        out["churn"] = _m(None, "matrix.diff.lines_added + lines_removed", why)
        return out
    out = {}
    for name in names:
        value = diff.get(name)
        ok = isinstance(value, int) and not isinstance(value, bool)
        out[name] = _m(value if ok else None, f"matrix.diff.{name}", f"the diff has no {name}")
    added, removed = out["lines_added"].value, out["lines_removed"].value
    churn = added + removed if added is not None and removed is not None else None
    out["churn"] = _m(churn, "matrix.diff.lines_added + lines_removed", "the diff has no counts")
    return out


def _truncated(transcript: dict[str, Any]) -> str | None:
    if transcript.get("truncated"):
        omitted = transcript.get("omittedLines")
        return f"the transcript was truncated ({omitted} lines left out)"
    return None


def _red_green(events: Sequence[RunEvent], transcript: dict[str, Any]) -> MatrixMetric:
    source = "events (source transcript): test_run"
    if not transcript:
        return _m(None, source, "no transcript was recorded")
    cut = _truncated(transcript)
    if cut:
        return _m(None, source, cut)
    verdicts: list[bool] = []
    unknown = 0
    for event in events:
        if event.source != "transcript":
            continue
        if event.type == "test_run":
            verdicts.append(bool(event.payload.get("passed")))
        elif event.type == "x-transcript.test_run":  # a test command without an exit code
            unknown += 1
    if unknown:
        return _m(None, source, f"{unknown} test run(s) in the transcript have no exit code")
    last_pass = max((i for i, ok in enumerate(verdicts) if ok), default=None)
    if last_pass is None:
        return _m(0, source)
    return _m(sum(1 for ok in verdicts[:last_pass] if not ok), source)


def _usage(block: Any) -> dict[str, MatrixMetric]:
    usage = block.usage
    agent = block.adapter
    out = {}
    wall = usage.wall_seconds if usage is not None else None
    source = "matrix.usage.wallSeconds"
    if wall is None and block.agent_process is not None:
        wall, source = block.agent_process.seconds, "matrix.agentProcess.seconds"
    out["wall_s"] = _m(wall, source, "the agent process did not run")
    for name, attr, key in (
        ("tokens_in", "tokens_in", "tokensIn"),
        ("tokens_out", "tokens_out", "tokensOut"),
        ("cost_usd", "cost_usd", "costUsd"),
    ):
        value = getattr(usage, attr) if usage is not None else None
        what = "cost" if name == "cost_usd" else "token usage"
        why = f"the {agent} agent reported no {what} in its transcript"
        source = f"matrix.usage.{key}"
        if usage is not None and usage.simulated:
            source += " (simulated: made up by a script, not billed by a provider)"
        endpoint = block.model_endpoint.endpoint if block.model_endpoint is not None else None
        if name == "cost_usd" and value is not None and endpoint:
            # The CLIs price a run from their own list for the model name; an endpoint the
            # researcher named (llama.cpp, vLLM, a gateway) charges what it charges, if anything.
            value = None
            why = (
                f"the {agent} agent's figure is its own list-price estimate for the model name, "
                f"not what the endpoint {endpoint} charged"
            )
        out[name] = _m(value, source, why)
    return out


def _protocol(
    run: RunRecord,
    events: Sequence[RunEvent],
    diff: dict[str, Any],
    transcript: dict[str, Any],
) -> dict[str, MatrixMetric]:
    names = {
        "brief_loaded_before_first_edit": lambda e: is_prework(e, "server"),
        "deps_resolved_before_first_edit": lambda e: is_dependency_load(e, "server"),
    }
    if not _attaches_server(run.condition):
        why = "the condition attaches no MCP server: there is no server log of a brief"
        return {name: _m(None, _SERVER_LOG, why) for name in names}
    if not transcript:
        why = "no transcript was recorded: the time of the first edit is unknown"
        return {name: _m(None, _SERVER_LOG, why) for name in names}
    cut = _truncated(transcript)
    edits = [
        i for i, e in enumerate(events) if e.source == "transcript" and e.type == "file_edited"
    ]
    changed = bool(diff.get("files_changed"))
    first_edit: int | None = edits[0] if edits else None
    guessed = False
    if first_edit is None and changed:
        # The diff shows an edit the transcript does not name (a shell command wrote it): it
        # happened no earlier than the agent's first command.
        first_edit = next(
            (i for i, e in enumerate(events) if e.source == "transcript" and e.type == "command"),
            None,
        )
        guessed = True
    out = {}
    for name, match in names.items():
        at = next((i for i, e in enumerate(events) if match(e)), None)
        if at is None:
            out[name] = _m(False, _SERVER_LOG)
        elif first_edit is None and changed:
            why = "the diff changed files but the transcript shows neither an edit nor a command"
            out[name] = _m(None, _SERVER_LOG, why)
        elif cut:  # an edit may hide in the lines left out
            out[name] = _m(None, _SERVER_LOG, cut)
        elif first_edit is None or at < first_edit:
            out[name] = _m(True, _SERVER_LOG)
        elif guessed:
            why = "the edit is only in the diff, and the brief came after the first command"
            out[name] = _m(None, _SERVER_LOG, why)
        else:
            out[name] = _m(False, _SERVER_LOG)
    return out


def _attaches_server(condition: str | None) -> bool:
    try:
        return parse_condition(condition or "").attaches_server
    except ValueError:
        return condition not in (None, "", "none")


def values(metrics: dict[str, MatrixMetric]) -> dict[str, bool | int | float | None]:
    """name -> value (None where the source is missing)."""
    return {name: m.value for name, m in metrics.items()}
