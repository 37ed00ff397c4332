"""`matrix run --repeats N` / `--top-up`: up to N finished runs per cell, only what is missing."""

from __future__ import annotations

import shutil

import pytest

from experimentos.errors import UsageError
from experimentos.matrix.runner import run_matrix
from experimentos.matrix.topup import raised_spec_text
from experimentos.store import Workspace

from .conftest import git
from .matrix_helpers import EXP, GOOD, LAZY, cli_run, json_out, make_root, read_spec, runs_dir

SPEC = f"experiments/{EXP}/matrix.yaml"


def _ids(summary) -> list[str]:  # noqa: ANN001
    return [r.run_id for r in summary.runs]


def test_repeats_runs_only_the_missing_cells_and_raises_the_spec(tmp_path):
    ws = make_root(tmp_path / "root", {"good": GOOD, "lazy": LAZY}, repeats=1)
    run_matrix(ws, EXP)
    before = {p.name: p.read_bytes() for p in runs_dir(ws.root).iterdir()}
    # Without --repeats a second run is refused; with it, the cells with a result are kept.
    with pytest.raises(UsageError, match="--resume"):
        run_matrix(ws, EXP)
    summary = run_matrix(ws, EXP, repeats=3)
    assert summary.already_done == 2 and summary.to_run == 4
    assert summary.spec_raised == [1, 3] and read_spec(ws.root)["repeats"] == 3
    assert _ids(summary) == [
        "run.m.tiny.none.good.r2",
        "run.m.tiny.none.good.r3",
        "run.m.tiny.none.lazy.r2",
        "run.m.tiny.none.lazy.r3",
    ]
    for name, data in before.items():  # the runs that were there are untouched
        assert (runs_dir(ws.root) / name).read_bytes() == data
    # Every new record carries the hash of the spec as it now reads on disk.
    from experimentos.matrix.spec import load_spec

    spec_hash = load_spec(ws.root, EXP).spec_hash()
    assert summary.spec_hash == spec_hash
    # Again: nothing to run, nothing changed, exit 0, and it says so.
    done = cli_run(ws.root, "matrix", "run", EXP, "--repeats", "3")
    assert done.returncode == 0, done.stderr
    assert "nothing to run: every cell already has 3 finished repeat(s)" in done.stdout
    assert git(ws.root, "status", "--porcelain", "--", SPEC).strip() == f"M {SPEC}"
    # Fewer repeats than the spec: nothing to do, the spec is not lowered.
    again = json_out(cli_run(ws.root, "--json", "matrix", "run", EXP, "--repeats", "2"))
    assert again["to_run"] == 0 and again["spec_raised"] is None and again["top_up"] == 2
    assert read_spec(ws.root)["repeats"] == 3


def test_failed_runs_are_missing_runs(tmp_path):
    ws = make_root(tmp_path / "root", {"good": GOOD}, repeats=2)
    run_matrix(ws, EXP)
    record = runs_dir(ws.root) / "run.m.tiny.none.good.r2.md"
    record.write_text(record.read_text().replace("status: finished", "status: failed"))
    summary = run_matrix(ws, EXP, top_up=True)
    assert _ids(summary) == ["run.m.tiny.none.good.r2"] and summary.spec_raised is None
    assert "previousAttempts" in record.read_text()


def test_shards_share_the_missing_runs(tmp_path):
    """Round-robin over the pending cells: the 4 missing runs (repeats 3 and 4 of two cells)
    go one to each of 4 shards; the plain rule (cell k to shard k mod 4 + 1) would give two
    shards two runs each and the other two nothing."""
    ws = make_root(tmp_path / "root", {"good": GOOD}, conditions=["none", "brief"], repeats=2)
    run_matrix(ws, EXP)
    shards = (1, 2, 3, 4)
    plans = [run_matrix(ws, EXP, repeats=4, shard=f"{i}/4", dry_run=True) for i in shards]
    mine = [[c.run_id for c in p.cells if c.state != "done"] for p in plans]
    assert [len(m) for m in mine] == [1, 1, 1, 1]
    assert len({m[0] for m in mine}) == 4
    assert read_spec(ws.root)["repeats"] == 2  # a dry run writes nothing
    ran = []
    for i in shards:  # each shard in its own checkout, as on separate CI machines
        copy = tmp_path / f"shard-{i}"
        shutil.copytree(ws.root, copy, symlinks=True)
        ran.append(_ids(run_matrix(Workspace(copy), EXP, repeats=4, shard=f"{i}/4")))
    assert ran == mine


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("repeats: 2  # two for now\njobs: 1\n", "repeats: 5  # two for now\njobs: 1\n"),
        ("jobs: 1\n", "jobs: 1\nrepeats: 5\n"),
        ("jobs: 1", "jobs: 1\nrepeats: 5\n"),
    ],
)
def test_the_spec_edit_keeps_the_authors_text(text, expected):
    head = "fixtures: [tiny]\nconditions: [none]\nagents: [{name: a, adapter: shell}]\n"
    assert raised_spec_text((head + text).encode(), SPEC, 5) == (head + expected).encode()
    assert raised_spec_text((head + "repeats: 9\n").encode(), SPEC, 5) is None


def test_a_spec_that_cannot_be_edited_by_line_is_refused(tmp_path):
    flow = b"{fixtures: [tiny], conditions: [none], agents: [{name: a, adapter: shell}]}\n"
    with pytest.raises(UsageError, match="by hand") as err:
        raised_spec_text(flow, SPEC, 3)
    assert err.value.field == "repeats"
    ws = make_root(tmp_path / "root", {"good": GOOD})
    bad = cli_run(ws.root, "matrix", "run", EXP, "--repeats", "0")
    assert bad.returncode == 2 and "repeats must be 1 to 1000" in bad.stderr


def test_a_changed_fingerprint_reruns_the_cells_it_invalidates(tmp_path):
    ws = make_root(tmp_path / "root", {"good": GOOD}, conditions=["none", "brief"], repeats=1)
    run_matrix(ws, EXP)
    # The knowledge changed: the `brief` cells' results were recorded from other inputs; the
    # `none` cells (no knowledge served) still hold.
    policy = ws.root / "policies" / "fix-the-file.md"
    policy.write_text(policy.read_text().replace("never touch test.txt", "leave test.txt"))
    summary = run_matrix(ws, EXP, top_up=True)
    assert _ids(summary) == ["run.m.tiny.brief.good.r1"]
    assert [c.state for c in summary.cells] == ["done", "stale"]
    record = (runs_dir(ws.root) / "run.m.tiny.brief.good.r1.md").read_text()
    assert "previousAttempts" in record and "attempt: 2" in record
    assert run_matrix(ws, EXP, top_up=True).to_run == 0
