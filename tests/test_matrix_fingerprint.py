"""Complete fingerprints: what decides whether a stored result still counts.

An audit replaced a matrix's agent script with `sys.exit(3)`, and `--resume` still said "120
already done"; a report then pooled runs of two policies. The fingerprint covers the fixture,
the knowledge, the agent entry and the contents of the files it names, the agent CLI's version,
the model, and the time limit: `--resume` re-runs a result whose fingerprint changed (saying
which part), `merge` refuses one, and a report excludes it with the reason.
"""

from __future__ import annotations

import shutil

import pytest

from experimentos.errors import UsageError
from experimentos.matrix.fingerprint import fingerprint_changes
from experimentos.matrix.merge import merge_runs
from experimentos.matrix.plan import plan_matrix
from experimentos.matrix.runner import run_matrix
from experimentos.models.lab import MatrixFingerprint, RunRecord
from experimentos.reports.build import results_for
from experimentos.store import Workspace
from experimentos.store.records import load_record, render_record

from .matrix_helpers import EXP, GOOD, make_root, read_spec, records, runs_dir, write_spec

EXIT_3 = "#!/bin/sh\nexit 3\n"


def test_a_changed_agent_script_is_re_run_by_resume_naming_the_part(tmp_path):
    ws = make_root(tmp_path / "root", {"good": GOOD}, repeats=2)
    assert run_matrix(ws, EXP).errored == 0
    first = records(ws.root)["run.m.tiny.none.good.r1"].matrix.fingerprint
    assert first.agent_files == {"agents/good.sh": first.agent_files["agents/good.sh"]}
    assert first.agent_files["agents/good.sh"].startswith("sha256:")
    (ws.root / "agents" / "good.sh").write_text(EXIT_3, encoding="utf-8")

    dry = run_matrix(ws, EXP, dry_run=True)
    assert {c.state for c in dry.cells} == {"stale"} and dry.to_run == 2
    assert all("agents/good.sh" in c.reason for c in dry.cells), dry.cells
    with pytest.raises(UsageError, match="--resume"):
        run_matrix(ws, EXP)
    summary = run_matrix(ws, EXP, resume=True)
    assert summary.already_done == 0 and len(summary.runs) == 2
    assert {r.status for r in summary.runs} == {"failed"}  # the new script exits 3
    run = records(ws.root)["run.m.tiny.none.good.r1"]
    assert run.matrix.attempt == 2
    assert "the agent's file agents/good.sh changed" in run.matrix.previous_attempts[0].reason
    assert run.matrix.fingerprint.agent_files != first.agent_files


def test_every_part_of_the_fingerprint_is_named_when_it_changes(tmp_path):
    ws = make_root(tmp_path / "root", {"good": GOOD})
    plan = plan_matrix(ws, EXP)
    fp = next(iter(plan.fingerprints.values()))
    assert isinstance(fp, MatrixFingerprint) and fp.time_limit_s == 30
    cases = {
        "fixture": {"fixture": "sha256:other"},
        "knowledge": {"knowledge": "sha256:other"},
        "agent entry": {"agent": "sha256:other"},
        "agents/good.sh": {"agent_files": {"agents/good.sh": "sha256:other"}},
        "CLI's version": {"agent_version": "codex-cli 9.9.9"},
        "model": {"model": {"provider": "openai-chat", "baseUrl": "http://x", "name": "m"}},
        "time limit": {"time_limit_s": 60.0},
        "prompt": {"prompt": 99},
    }
    for words, change in cases.items():
        said = fingerprint_changes(fp, fp.model_copy(update=change))
        assert len(said) == 1 and words in said[0], (words, said)
    assert fingerprint_changes(fp, fp) == []
    assert "before" in fingerprint_changes(None, fp)[0]


def test_the_fingerprint_holds_the_cli_version_the_model_and_the_normalised_entry(tmp_path):
    ws = make_root(tmp_path / "root", {"good": GOOD})
    fake = tmp_path / "codex"
    fake.write_text("#!/bin/sh\necho 'codex-cli 0.171.0'\n", encoding="utf-8")
    fake.chmod(0o755)
    (ws.root / "p.yaml").write_text("scripts: [{name: a}]\n", encoding="utf-8")
    spec = read_spec(ws.root)
    spec["agents"].append(
        {"name": "cx", "adapter": "codex", "model": "gpt-5.5",
         "options": {"binary": str(fake), "policy": "p.yaml"}}
    )  # fmt: skip
    write_spec(ws.root, spec)
    fp = {
        c.agent.name: plan_matrix(ws, EXP).fingerprints[c.run_id]
        for c in plan_matrix(ws, EXP).cells
    }
    codex = fp["cx"]
    assert codex.agent_version == "codex-cli 0.171.0"
    assert codex.agent_files == {"p.yaml": codex.agent_files["p.yaml"]}
    assert codex.model == {"name": "gpt-5.5"}
    assert fp["good"].agent_version is None and fp["good"].model is None
    fake.write_text("#!/bin/sh\necho 'codex-cli 0.172.0'\n", encoding="utf-8")
    later = {c.agent.name: f for c in plan_matrix(ws, EXP).cells
             for f in [plan_matrix(ws, EXP).fingerprints[c.run_id]]}  # fmt: skip
    assert fingerprint_changes(codex, later["cx"]) == [
        "the agent CLI's version changed (codex-cli 0.171.0 -> codex-cli 0.172.0)"
    ]
    # Any field of the entry counts (h21-model's model block too): a new option is a change
    spec["agents"][1]["options"]["extra_args"] = ["--x"]
    write_spec(ws.root, spec)
    again = plan_matrix(ws, EXP)
    cell = next(c for c in again.cells if c.agent.name == "cx")
    assert fingerprint_changes(later["cx"], again.fingerprints[cell.run_id]) == [
        "the agent entry in matrix.yaml changed"
    ]


def _tamper(path, **fingerprint) -> None:  # noqa: ANN001
    rel = path.relative_to(path.parents[3]).as_posix()
    record = load_record(path.parents[3], rel, RunRecord)
    block = record.model.matrix
    fp = block.fingerprint.model_copy(update=fingerprint)
    changed = record.model.model_copy(
        update={"matrix": block.model_copy(update={"fingerprint": fp})}
    )
    path.write_bytes(render_record(changed, like=record))


def test_merge_refuses_runs_whose_fingerprints_differ_naming_the_part(tmp_path):
    ws = make_root(tmp_path / "root", {"good": GOOD}, repeats=2)
    assert run_matrix(ws, EXP).errored == 0
    shard = tmp_path / "shard" / "runs"
    shutil.copytree(runs_dir(ws.root), shard)
    _tamper(shard / "run.m.tiny.none.good.r2.md", agent_version="codex-cli 0.172.0")
    target = make_root(tmp_path / "target", {"good": GOOD}, repeats=2)
    report = merge_runs(target, [shard])
    assert report.copied == 0 and not list(runs_dir(target.root).glob("run.*"))
    assert any(
        "run.m.tiny.none.good.r2" in c and "agent CLI's version" in c for c in report.conflicts
    ), report.conflicts


def test_a_report_excludes_a_run_of_another_fingerprint_with_the_reason(tmp_path):
    ws = make_root(tmp_path / "root", {"good": GOOD}, repeats=3)
    assert run_matrix(ws, EXP).errored == 0
    _tamper(
        runs_dir(ws.root) / "run.m.tiny.none.good.r3.md", agent_files={"agents/good.sh": "sha256:0"}
    )
    results = results_for(Workspace(ws.root).root, EXP)
    assert results.runs.counted == 2
    [excluded] = results.runs.excluded
    assert excluded.run_id == "run.m.tiny.none.good.r3" and excluded.status == "excluded"
    assert "agents/good.sh" in excluded.reason and "other runs of agent good" in excluded.reason


def test_the_model_the_provider_reported_is_recorded_and_a_report_never_pools_two(tmp_path):
    reports = GOOD.replace('"cost_usd":0.5}', '"cost_usd":0.5,"model":"m-2026-01"}')
    ws = make_root(tmp_path / "root", {"good": reports}, repeats=3)
    assert run_matrix(ws, EXP).errored == 0
    found = records(ws.root)
    assert {r.matrix.model_reported for r in found.values()} == {"m-2026-01"}
    path = runs_dir(ws.root) / "run.m.tiny.none.good.r2.md"
    record = load_record(ws.root, path.relative_to(ws.root).as_posix(), RunRecord)
    block = record.model.matrix.model_copy(update={"model_reported": "m-2026-06"})
    path.write_bytes(render_record(record.model.model_copy(update={"matrix": block}), like=record))
    results = results_for(ws.root, EXP)
    [excluded] = results.runs.excluded
    assert excluded.run_id == "run.m.tiny.none.good.r2"
    assert "the provider reported model m-2026-06 (the others: m-2026-01)" in excluded.reason


def test_the_fingerprint_names_a_model_endpoint_as_the_cli_will_use_it():
    from experimentos.agents.base import AgentSpec
    from experimentos.matrix.fingerprint import model_of

    block = {"provider": "openai-chat", "baseUrl": "http://h:1/v1/", "name": "m", "keyEnv": "K"}
    agent = AgentSpec.model_validate({"name": "a", "adapter": "opencode", "model": block})
    assert model_of(agent) == {"provider": "openai-chat", "baseUrl": "http://h:1/v1", "name": "m"}
    hosted = AgentSpec.model_validate(
        {"name": "a", "adapter": "codex", "model": {"provider": "openai-responses", "name": "m"}}
    )
    assert model_of(hosted)["baseUrl"] == "https://api.openai.com/v1"  # the key is never in it
    assert model_of(AgentSpec(name="a", adapter="shell")) is None


def test_a_cli_the_planner_cannot_ask_is_no_change_but_a_new_version_is():
    # A CI job that only plans (a matrix label) has no agent CLIs installed: the committed
    # results still count there; the run, which has the CLI, sees a real change.
    old = MatrixFingerprint.model_validate(
        {"fixture": "f", "knowledge": None, "agent": "a", "agentVersion": "codex-cli 0.171.0",
         "timeLimitSeconds": 60.0, "prompt": 1}
    )  # fmt: skip
    unknown = old.model_copy(update={"agent_version": None})
    assert fingerprint_changes(old, unknown) == []
    newer = old.model_copy(update={"agent_version": "codex-cli 0.172.0"})
    assert fingerprint_changes(old, newer) == [
        "the agent CLI's version changed (codex-cli 0.171.0 -> codex-cli 0.172.0)"
    ]
