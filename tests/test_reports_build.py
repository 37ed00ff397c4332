"""`report build [--check]`: deterministic bytes, the CI gate, exclusions, ablations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from experimentos.cli import app
from experimentos.reports.render import render_report
from experimentos.reports.results import MatrixData, analyze
from experimentos.reports.rows import load_rows
from experimentos.reports.sources import Source
from experimentos.store.scaffold import init_workspace

from .conftest import write_files
from .report_helpers import EXP, events, record, record_files, write_hand_matrix

REPORT = f"experiments/{EXP}/results/{EXP}.md"


@pytest.fixture
def hand(tmp_path: Path) -> Path:
    root = tmp_path / "kb"
    init_workspace(root)
    return write_hand_matrix(root)


def cli(root: Path, *args: str):
    return CliRunner().invoke(app, ["--root", str(root), *args])


def test_build_twice_gives_identical_bytes_and_check_passes(hand: Path):
    first = cli(hand, "report", "build")
    assert first.exit_code == 0, first.output
    assert f"written    {REPORT}" in first.output
    data = (hand / REPORT).read_bytes()
    # A fresh cache must not change a byte either.
    for cache in (hand / ".experimentos" / "cache" / "report-rows").glob("*.json"):
        cache.unlink()
    second = cli(hand, "report", "build")
    assert second.exit_code == 0 and f"unchanged  {REPORT}" in second.output
    assert (hand / REPORT).read_bytes() == data
    assert cli(hand, "report", "build", "--check").exit_code == 0


def test_a_large_cold_build_parses_in_worker_processes_with_the_same_rows(hand: Path, monkeypatch):
    from experimentos.reports import rows as rows_module

    serial = load_rows(Source(hand))
    for cache in (hand / ".experimentos" / "cache" / "report-rows").glob("*.json"):
        cache.unlink()
    used = []
    real = rows_module._parse
    monkeypatch.setattr(rows_module, "PARALLEL_FROM", 2)
    monkeypatch.setattr(rows_module, "_parse", lambda items: used.append(len(items)) or real(items))
    assert load_rows(Source(hand)) == serial
    assert used == [len(serial)]  # every record parsed cold, through the pool


def test_editing_one_run_record_makes_check_fail_naming_the_report(hand: Path):
    assert cli(hand, "report", "build").exit_code == 0
    path = hand / f"experiments/{EXP}/runs/run.{EXP}.f2.brief.a2.r4.md"
    text = path.read_text(encoding="utf-8")
    assert "exitCode: 0" in text
    path.write_text(text.replace("exitCode: 0", "exitCode: 1", 1), encoding="utf-8")
    result = cli(hand, "report", "build", "--check")
    assert result.exit_code == 1
    assert f"{REPORT} is stale" in result.output
    # --check wrote nothing; build brings it back in line.
    assert cli(hand, "report", "build").exit_code == 0
    assert cli(hand, "report", "build", "--check").exit_code == 0


def test_check_fails_on_a_missing_report_and_json_names_it(hand: Path):
    result = cli(hand, "report", "build", "--check", "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["stale"] == [REPORT]
    assert data["reports"][0]["status"] == "missing" and data["reports"][0]["counted"] == 40
    assert not (hand / REPORT).exists()


def test_unknown_experiment_is_bad_input(hand: Path):
    result = cli(hand, "report", "build", "nope")
    assert result.exit_code == 2 and "no experiment 'nope'" in result.output


def test_excluded_runs_are_listed_with_reasons_and_never_counted(hand: Path):
    failed = record("f1", "none", "a1", 6, status="failed", outcome=None, reason="agent crashed")
    running = record("f2", "none", "a1", 6, status="running", outcome=None, ended=None)
    files = {
        **record_files(failed, events("f1", "none", "a1", 1)),
        **record_files(running, events("f2", "none", "a1", 1)),
        f"experiments/{EXP}/runs/run.{EXP}.f1.brief.a1.r6.md": "---\nid: [broken\n---\n",
    }
    write_files(hand, files)
    result = cli(hand, "report", "build", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["reports"][0] == {
        "path": REPORT,
        "experiment": EXP,
        "matrix": EXP,
        "status": "written",
        "counted": 40,
        "excluded": 3,
    }
    text = (hand / REPORT).read_text(encoding="utf-8")
    assert "| `run.hand.f1.none.a1.r6` | failed | failed: agent crashed |" in text
    assert "| `run.hand.f2.none.a1.r6` | running | incomplete: the run has no result" in text
    assert "| `run.hand.f1.brief.a1.r6` | unreadable | unreadable: the record does not" in text
    # The spec expects 5 repeats: the extra runs are not "missing", and the counts hold.
    assert "40 runs counted of 40 expected; 3 excluded, 0 missing." in text
    assert "0.20 [0.06, 0.51] (2/10)" in text  # none/a1 clean pass unchanged by them


def test_a_missing_run_is_listed(hand: Path):
    (hand / f"experiments/{EXP}/runs/run.{EXP}.f1.none.a1.r5.md").unlink()
    assert cli(hand, "report", "build").exit_code == 0
    text = (hand / REPORT).read_text(encoding="utf-8")
    assert "39 runs counted of 40 expected; 0 excluded, 1 missing." in text
    assert "| `run.hand.f1.none.a1.r5` | missing | the spec expects this run" in text


def test_three_conditions_adjust_p_values_and_attribute_pages(hand: Path):
    """The none runs again, relabelled as an ablation of policy.p: three conditions."""
    rows = load_rows(Source(hand))
    ablation = [
        r.model_copy(
            update={
                "condition": "brief-without:policy.p",
                "run_id": r.run_id.replace(".none.", ".without-policy.p."),
            }
        )
        for r in rows
        if r.condition == "none"
    ]
    data = MatrixData(matrix_id=EXP, experiment=EXP, rows=rows + ablation)
    results = analyze(data, REPORT)
    assert results.conditions == ["none", "brief", "brief-without:policy.p"] and results.holm
    clean = [d for d in results.deltas if d.metric == "clean_pass" and d.agent is None]
    # Family of clean pass (all agents): brief - none (p = 0.0215), ablation - none (p = 1:
    # identical runs), ablation - brief (p = 0.0215). Holm: sorted 0.0215, 0.0215, 1 ->
    # 3 x 0.0215 = 0.0645, max(0.0645, 2 x 0.0215) = 0.0645, max(0.0645, 1 x 1) = 1.
    by_treatment = {d.treatment: d for d in clean}
    assert by_treatment["brief"].p_adjusted == pytest.approx(3 * 22 / 1024)
    assert by_treatment["brief"].verdict == "not significant after Holm (p = 0.064)"
    assert not by_treatment["brief"].significant
    attribution = next(a for a in results.attributions if a.delta.metric == "clean_pass")
    assert attribution.delta.p_adjusted == pytest.approx(3 * 22 / 1024)
    # On the 19 blocks whose brief run the server served policy.p (f1/a2/r4 only claimed it)
    assert (attribution.served, attribution.reference_runs, attribution.delta.pairs) == (19, 20, 19)
    assert attribution.sentence == (
        "removing policy.p changes clean pass by \u22120.42 [\u22120.64, \u22120.11], on the "
        "19 of 20 `brief` runs the server served it"
    )
    text = render_report(results)
    assert "- removing policy.p changes clean pass by −0.42 [−0.64, −0.11], on the 19" in text
    assert "Holm's correction is applied" in text


def test_a_symlinked_report_is_refused_not_followed(hand: Path, tmp_path: Path):
    outside = tmp_path / "outside.md"
    outside.write_text("mine\n", encoding="utf-8")
    (hand / REPORT).parent.mkdir(parents=True)
    (hand / REPORT).symlink_to(outside)
    result = cli(hand, "report", "build")
    assert result.exit_code == 2 and "symlink" in result.output
    assert outside.read_text(encoding="utf-8") == "mine\n"
    assert cli(hand, "report", "build", "--check").exit_code == 1


def test_every_report_says_its_holm_family_and_that_the_fixtures_were_chosen(hand: Path):
    """Beside the headline: over which comparisons Holm adjusts (or that nothing is adjusted),
    and that the fixtures were chosen, so the inference holds for these fixtures only."""
    assert cli(hand, "report", "build").exit_code == 0
    text = (hand / REPORT).read_text(encoding="utf-8")
    head = text[text.index("## Headline") : text.index("## Outcomes")]
    assert "The fixtures (`f1`, `f2`) were chosen, not sampled" in head
    assert "inference holds for these fixtures" in head
    assert "No multiplicity adjustment: one comparison (`brief` − `none`)" in head
    assert "p = <" not in text

    rows = load_rows(Source(hand))
    ablation = [
        r.model_copy(update={"condition": "brief-without:policy.p", "run_id": r.run_id + "x"})
        for r in rows
        if r.condition == "none"
    ]
    results = analyze(MatrixData(matrix_id=EXP, experiment=EXP, rows=rows + ablation), REPORT)
    assert results.holm_family == [
        "`brief` − `none`",
        "`brief-without:policy.p` − `none`",
        "`brief-without:policy.p` − `brief` (where `brief` served policy.p)",
    ]
    head = render_report(results).split("## Outcomes")[0]
    assert (
        "Holm's correction is applied, per metric and per agent scope, over the family of 3 "
        "comparisons: `brief` − `none`, `brief-without:policy.p` − `none`, "
        "`brief-without:policy.p` − `brief` (where `brief` served policy.p)"
    ) in head


def test_pass_at_k_for_the_ks_the_spec_lists(hand: Path):
    spec = hand / f"experiments/{EXP}/matrix.yaml"
    spec.write_text(spec.read_text(encoding="utf-8") + "passK: [1, 3, 5]\n", encoding="utf-8")
    from experimentos.reports.build import results_for

    results = results_for(hand, EXP)
    assert {p.k for p in results.pass_k} == {1, 3, 5}
    one = next(p for p in results.pass_k if p.k == 1 and p.agent == "a1" and p.condition == "brief")
    # pass@1 is the clean-pass rate: brief x a1 passes 7 of 10
    assert one.pass_at_k.estimate == pytest.approx(0.7)
    bad = hand / "experiments/other"
    write_files(
        hand,
        {
            "experiments/other/README.md": (hand / f"experiments/{EXP}/README.md")
            .read_text(encoding="utf-8")
            .replace(f"experiment.{EXP}", "experiment.other")
        },
    )
    (bad / "matrix.yaml").write_text(
        "fixtures: [f1]\nconditions: [none]\nagents: [{name: a, adapter: codex}]\npassK: [0]\n",
        encoding="utf-8",
    )
    from experimentos.errors import InvalidPage
    from experimentos.matrix.spec import load_spec

    with pytest.raises(InvalidPage) as caught:
        load_spec(hand, "other")
    assert caught.value.problems[0].field.startswith("passK")
