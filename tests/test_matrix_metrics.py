"""Ground-truth metrics of a matrix run: sources, nulls with reasons, what never counts."""

from __future__ import annotations

import datetime as dt

from experimentos.lab.runs import read_events
from experimentos.matrix.metrics import METRICS, ground_truth, values
from experimentos.matrix.runner import run_matrix
from experimentos.models.events import RunEvent
from experimentos.reports.build import build_reports

from .matrix_helpers import EXP, MCP_AGENT, make_root, records
from .report_helpers import T0, events, record


def _events(lines: list[dict]) -> list[RunEvent]:
    return [RunEvent.model_validate(line) for line in lines]


def test_every_metric_names_its_source_and_a_null_says_why():
    rec = record("f1", "none", "a1", 1)
    truth = ground_truth(rec, _events(events("f1", "none", "a1", 1)))
    assert list(truth) == list(METRICS)
    for name, metric in truth.items():
        assert metric.source, name
        assert (metric.value is None) == (metric.reason is not None), name


def test_a_missing_source_is_null_never_zero():
    rec = record("f1", "brief", "a1", 1, usage=None, diff=None, rules=None, oracle=None)
    truth = ground_truth(rec, _events(events("f1", "brief", "a1", 1)))
    for name in ("pass", "clean_pass", "pin_changed", "files_changed", "churn", "tokens_in",
                 "cost_usd"):  # fmt: skip
        assert truth[name].value is None and truth[name].reason, name
    assert "oracle did not run" in truth["pass"].reason
    assert "no rule report" in truth["pin_changed"].reason


def test_clean_pass_is_known_false_even_when_a_rule_is_unknown():
    rules = {"pin_changed": [], "protected_edit": [], "out_of_scope": [], "forbidden_command": [],
             "commands_checked": False}  # fmt: skip
    failed = record("f1", "brief", "a1", 5, rules=rules)  # the oracle failed (exit 1)
    truth = ground_truth(failed, [])
    assert truth["forbidden_command"].value is None
    assert truth["forbidden_command"].reason == "no transcript commands were checked"
    assert truth["clean_pass"].value is False
    passed = record("f1", "brief", "a1", 1, rules=rules)
    truth = ground_truth(passed, [])
    assert truth["clean_pass"].value is None
    assert "forbidden_command" in truth["clean_pass"].reason


def test_the_agents_own_claims_and_transcript_copies_never_count_as_protocol():
    rec = record("f1", "brief", "a1", 1)
    t = T0 + dt.timedelta(minutes=1)

    def line(step: int, seconds: int, kind: str, source: str, payload: dict) -> dict:
        ts = (t + dt.timedelta(seconds=seconds)).isoformat()
        return {"step": step, "ts": ts, "type": kind, "source": source, "payload": payload}

    claimed = [
        line(1, 1, "brief_loaded", "agent", {"brief_id": "b"}),
        line(2, 1, "mcp_tool_called", "transcript", {"tool": "start_pre_work_protocol"}),
        line(3, 2, "file_edited", "transcript", {"path": "app.py"}),
    ]
    truth = ground_truth(rec, _events(claimed))
    assert truth["brief_loaded_before_first_edit"].value is False
    served = [line(4, 1, "mcp_tool_called", "server", {"tool": "get_work_brief"}), *claimed[2:]]
    truth = ground_truth(rec, _events(served))
    assert truth["brief_loaded_before_first_edit"].value is True
    assert truth["deps_resolved_before_first_edit"].value is False  # no dependency call


def test_an_edit_only_the_diff_shows_is_timed_by_the_first_command():
    rec = record("f1", "brief", "a1", 1)  # the diff changed one file
    t = T0 + dt.timedelta(minutes=1)

    def line(step: int, seconds: int, kind: str, source: str, payload: dict) -> dict:
        ts = (t + dt.timedelta(seconds=seconds)).isoformat()
        return {"step": step, "ts": ts, "type": kind, "source": source, "payload": payload}

    brief = {"brief_id": "b"}
    early = [line(1, 1, "brief_loaded", "server", brief),
             line(2, 2, "command", "transcript", {"command": "sed -i s/a/b/ app.py"})]  # fmt: skip
    assert ground_truth(rec, _events(early))["brief_loaded_before_first_edit"].value is True
    late = [line(1, 1, "command", "transcript", {"command": "sed -i s/a/b/ app.py"}),
            line(2, 2, "brief_loaded", "server", brief)]  # fmt: skip
    metric = ground_truth(rec, _events(late))["brief_loaded_before_first_edit"]
    assert metric.value is None and "only in the diff" in metric.reason


def test_a_truncated_transcript_leaves_transcript_metrics_unknown():
    rec = record(
        "f1", "brief", "a1", 1, transcript={"truncated": True, "omittedLines": 7, "lines": 9}
    )
    truth = ground_truth(rec, _events(events("f1", "brief", "a1", 1)))
    assert truth["red_green_cycles"].value is None
    assert truth["red_green_cycles"].reason == "the transcript was truncated (7 lines left out)"
    assert truth["brief_loaded_before_first_edit"].value is None


def test_the_runner_stores_ground_truth_and_reports_exclude_failed_runs(tmp_path):
    ws = make_root(tmp_path / "root", {"briefed": MCP_AGENT}, conditions=["brief", "none"])
    run_matrix(ws, EXP)
    found = records(ws.root)
    run = found["run.m.tiny.brief.briefed.r1"]
    stored = run.matrix.ground_truth
    assert stored is not None and list(stored) == list(METRICS)
    # The record describes itself, and a report computing it again gets the same values.
    again = ground_truth(run, read_events(ws, run.id).events)
    assert values(stored) == values(again)
    assert stored["pass"].value is True and stored["clean_pass"].value is True
    assert stored["brief_loaded_before_first_edit"].value is True
    assert stored["deps_resolved_before_first_edit"].value is True
    assert stored["tokens_in"].value is None  # the script reports no usage
    # The none run crashed (no server to call): excluded from the report, with its reason.
    assert found["run.m.tiny.none.briefed.r1"].status.value == "failed"
    built = build_reports(ws)
    assert [r.status for r in built.reports] == ["written"]
    assert (built.reports[0].counted, built.reports[0].excluded) == (1, 1)
    text = (ws.root / built.reports[0].path).read_text(encoding="utf-8")
    assert "| `run.m.tiny.none.briefed.r1` | failed | failed: agent exited with 1" in text
    assert "- {run: run.m.tiny.none.briefed.r1, status: failed, reason:" in text


def test_a_cli_price_estimate_against_another_endpoint_is_no_cost():
    """claude-code and opencode price a run from their own list for the model name; against an
    endpoint of the researcher's (llama.cpp, vLLM, a gateway) that figure is not what was paid."""
    local = {"provider": "anthropic", "endpoint": "http://127.0.0.1:8080", "name": "claude-x"}
    rec = record("f1", "brief", "a2", 1, modelEndpoint=local)
    assert rec.matrix.usage.cost_usd == 0.25  # the record keeps what the CLI said
    truth = ground_truth(rec, _events(events("f1", "brief", "a2", 1)))
    assert truth["cost_usd"].value is None
    assert "http://127.0.0.1:8080" in truth["cost_usd"].reason
    assert "estimate" in truth["cost_usd"].reason
    assert truth["tokens_in"].value is not None  # tokens are counted, not priced: they stand
    # the CLI's own provider: its figure is the cost the metric reports
    named = record("f1", "brief", "a2", 1, modelEndpoint={"name": "claude-x"})
    assert ground_truth(named, _events(events("f1", "brief", "a2", 1)))["cost_usd"].value == 0.25
