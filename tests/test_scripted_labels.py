"""Scripted decisions are labelled: a record says whether a model or a script decided; a report
calls a scripted comparison a harness check with no significance verdict and marks its tokens
and cost simulated; the promotion gate refuses scripted evidence; the demo says harness check.

An audit found every scripted cell with identical outcomes in every repeat, reported as
"clean pass | scripted | 20 pairs | p<0.001 | significant" and quoted in the README.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from experimentos.agents.base import AgentSpec, open_adapter
from experimentos.matrix.runner import run_matrix
from experimentos.reports.build import results_for
from experimentos.reports.render import render_report
from experimentos.store.scaffold import init_workspace

from .conftest import write_files
from .matrix_helpers import EXP, GOOD, make_root, records
from .report_helpers import AGENTS, FIXTURES, REPEATS, events, record, record_files

HAND = "hand"


def _hand(root: Path, decisions: dict[str, str]) -> Path:
    """The hand matrix (report_helpers) with each agent's records saying who decided."""
    files = {
        f"experiments/{HAND}/README.md": (
            f"---\nid: experiment.{HAND}\nname: Hand\nkind: agent\n"
            "created: 2026-01-01T00:00:00Z\n---\n"
        )
    }
    for fixture in FIXTURES:
        for condition in ("none", "brief"):
            for agent in AGENTS:
                for repeat in range(1, REPEATS + 1):
                    rec = record(fixture, condition, agent, repeat)
                    usage = rec.matrix.usage.model_copy(
                        update={"simulated": decisions[agent] == "script"}
                    )
                    block = rec.matrix.model_copy(
                        update={"decisions": decisions[agent], "usage": usage}
                    )
                    rec = rec.model_copy(update={"matrix": block})
                    files.update(record_files(rec, events(fixture, condition, agent, repeat)))
    return write_files(root, files)


@pytest.fixture
def scripted(tmp_path: Path) -> Path:
    root = tmp_path / "kb"
    init_workspace(root)
    return _hand(root, {"a1": "script", "a2": "script"})


def test_a_scripted_matrix_is_a_harness_check_with_no_significance_verdict(scripted: Path):
    results = results_for(scripted, HAND)
    assert results.label == "harness check"
    clean = next(d for d in results.deltas if d.metric == "clean_pass" and d.agent is None)
    # The same numbers as before (+0.40 over 20 pairs, exact p = 0.021)...
    assert clean.delta == pytest.approx(0.40) and clean.pairs == 20
    # ...but no verdict about agents: a script decided both sides.
    assert clean.harness_check and not clean.significant and not clean.regression
    assert clean.verdict.startswith("harness check")
    text = render_report(results)
    head = text[text.index("## Headline") : text.index("## Outcomes")]
    assert "**Harness check**" in head and "not evidence about agents" in head
    assert "significant" not in text.replace("no significance verdict", "")
    assert "label: harness check" in text.split("---")[1]
    assert "| `none` | a1 (scripted) | 10 |" in text
    assert "(simulated)" in text.split("## Cost and churn")[1].split("## Protocol")[0]


def test_a_model_driven_agent_beside_a_scripted_one_keeps_its_verdicts(tmp_path: Path):
    root = tmp_path / "kb"
    init_workspace(root)
    _hand(root, {"a1": "model", "a2": "script"})
    results = results_for(root, HAND)
    assert results.label == "mixed"
    by_scope = {
        d.agent: d for d in results.deltas if d.metric == "clean_pass" and d.treatment == "brief"
    }
    assert not by_scope["a1"].harness_check and by_scope["a2"].harness_check
    assert by_scope[None].harness_check  # pooling a script's runs in: a harness check too
    assert not by_scope["a1"].verdict.startswith("harness check")


def test_records_say_who_decided(tmp_path: Path):
    policy = (
        "version: 1\nscripts:\n  - name: fix\n    match: {prompt_contains: app.txt}\n"
        "    steps:\n      - shell: echo fixed > app.txt\n      - final: fixed\n"
    )
    ws = make_root(tmp_path / "root", {"good": GOOD})
    write_files(ws.root, {"agents/policy.yaml": policy})
    from .matrix_helpers import read_spec, write_spec

    spec = read_spec(ws.root)
    spec["agents"] += [
        {"name": "scripted", "adapter": "scripted", "options": {"policy": "agents/policy.yaml"}},
        {"name": "wrapper", "adapter": "shell",
         "options": {"script": "agents/good.sh", "decisions": "model"}},
    ]  # fmt: skip
    write_spec(ws.root, spec)
    assert run_matrix(ws, EXP).errored == 0
    found = {r.agent: r.matrix for r in records(ws.root).values()}
    assert found["good"].decisions == "script" and "agents/good.sh" in found["good"].decided_by
    assert found["good"].usage.simulated  # a script's tokens and cost are made up
    assert found["scripted"].decisions == "script"
    assert "scripted adapter" in found["scripted"].decided_by
    assert found["wrapper"].decisions == "model" and not found["wrapper"].usage.simulated
    for adapter in ("codex", "claude-code", "opencode"):
        spec = AgentSpec(name="x", adapter=adapter, options={"policy": "agents/policy.yaml"})
        with open_adapter(spec, ws.root) as agent:
            assert agent.decisions()[0] == "script" and "scripted model" in agent.decisions()[1]
        with open_adapter(AgentSpec(name="x", adapter=adapter, model="m"), ws.root) as agent:
            assert agent.decisions() == ("model", f"{adapter} with model m")
