"""A hostile repository against the matrix and its reports (issue 19: 1, 4, 7, 8, 14).

Ids that become path parts are refused when a record is parsed; merge reads shard files without
blocking on a FIFO; every descendant of an agent or an oracle dies with its run, even one that
left the process group; `--resume` kills only what a runner started; a dry run refuses what a
run refuses.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from experimentos.cli import app
from experimentos.errors import InvalidPage, UsageError
from experimentos.matrix.process import process_start_time
from experimentos.matrix.runner import run_matrix
from experimentos.models.lab import RunRecord, RunStatus
from experimentos.store.records import load_record, parse_record, render_record, save_record
from experimentos.store.scaffold import init_workspace

from .matrix_helpers import EXP, GOOD, make_root, read_spec, records, runs_dir, write_spec
from .report_helpers import EXP as HAND
from .report_helpers import events, record, record_files, write_hand_matrix


def cli(root: Path, *args: str):
    return CliRunner().invoke(app, ["--root", str(root), *args])


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            return handle.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return False


def _gone(pid: int, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _alive(pid)


def _tree(path: Path) -> set[str]:
    return {p.relative_to(path).as_posix() for p in path.rglob("*")} if path.exists() else set()


# --- 1: ids that become path parts ------------------------------------------------------------


def _hostile_record(**fields: str) -> bytes:
    """A valid matrix run record of the hand matrix with some fields replaced (as text, so the
    model never sees the hostile values before the parser under test)."""
    data = yaml.safe_load(render_record(record("f1", "none", "a1", 1)).decode().split("---")[1])
    for key, value in fields.items():
        if key.startswith("matrix."):
            data["matrix"][key.split(".", 1)[1]] = value
        else:
            data[key] = value
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    return f"---\n{text}---\n\nhostile\n".encode()


@pytest.mark.parametrize(
    "field, value",
    [
        ("matrix.id", "../../../../x/PWNED"),
        ("matrix.id", "/tmp/x"),
        ("matrix.id", "a/b"),
        ("matrix.id", ".."),
        ("matrix.id", "Hand"),
        ("matrix.fixture", "../f1"),
        ("matrix.fixture", "f1/../../x"),
        ("agent", "../a1"),
        ("agent", "a1/x"),
        ("condition", "../../none"),
        ("condition", "brief-without:../x"),
        ("condition", "knowledge@-rf"),
    ],
)
def test_a_matrix_record_with_a_path_in_an_id_does_not_parse(field, value):
    with pytest.raises(InvalidPage) as err:
        parse_record(_hostile_record(**{field: value}), "r.md", RunRecord)
    assert err.value.problems[0].field == field


def test_report_build_never_writes_outside_the_root_for_a_matrix_id_with_dotdot(tmp_path):
    root = tmp_path / "kb"
    init_workspace(root)
    write_hand_matrix(root)
    hostile = "run.hand.f1.none.a1.r1"
    (root / f"experiments/{HAND}/runs/{hostile}.md").write_bytes(
        _hostile_record(**{"matrix.id": "../../../../x/PWNED"})
    )
    assert not (root / f"experiments/{HAND}/results").exists()
    result = cli(root, "report", "build")
    assert not (tmp_path / "x").exists()
    assert not (tmp_path / "x" / "PWNED.md").exists()
    assert result.exit_code == 0, result.output  # the rest of the matrix still builds
    report = (root / f"experiments/{HAND}/results/{HAND}.md").read_text(encoding="utf-8")
    assert hostile in report and "unreadable" in report
    assert _tree(root / f"experiments/{HAND}/results") == {f"{HAND}.md"}


def test_matrix_merge_refuses_a_record_whose_matrix_id_holds_a_path(tmp_path):
    root = tmp_path / "kb"
    init_workspace(root)
    write_hand_matrix(root)
    shard = tmp_path / "shard"
    shard.mkdir()
    rec = record("f1", "none", "a1", 1, id="run.hand.f9.none.a1.r1", cell="f9/none/a1/1")
    files = record_files(rec, events("f1", "none", "a1", 1))
    for rel, text in files.items():
        (shard / Path(rel).name).write_text(text, encoding="utf-8")
    name = "run.hand.f9.none.a1.r1.md"
    raw = (shard / name).read_text(encoding="utf-8").replace("id: hand\n", "id: ../../../x\n", 1)
    assert "../../../x" in raw
    (shard / name).write_text(raw, encoding="utf-8")
    before = _tree(root)
    result = cli(root, "matrix", "merge", str(shard), "--json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["copied"] == 0 and any("matrix.id" in c for c in report["conflicts"])
    assert _tree(root) == before and not (tmp_path / "x").exists()


# --- 4: merge never blocks on a FIFO -------------------------------------------------------------


@pytest.mark.parametrize("which", ["record", "diff", "events"])
def test_matrix_merge_does_not_hang_on_a_fifo_named_like_a_run_file(tmp_path, which):
    root = tmp_path / "kb"
    init_workspace(root)
    write_hand_matrix(root)
    shard = tmp_path / "shard"
    shard.mkdir()
    rid = "run.hand.f9.none.a1.r1"
    rec = record("f1", "none", "a1", 1, id=rid, cell="f9/none/a1/1")
    for rel, text in record_files(rec, events("f1", "none", "a1", 1)).items():
        (shard / Path(rel).name).write_text(text, encoding="utf-8")
    names = {"record": f"{rid}.md", "diff": f"{rid}.diff", "events": f"{rid}.events.jsonl"}
    target = shard / names[which]
    target.unlink(missing_ok=True)
    os.mkfifo(target)
    result = subprocess.run(
        [sys.executable, "-m", "experimentos", "--root", str(root), "matrix", "merge", str(shard),
         "--json"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    conflicts = json.loads(result.stdout)["conflicts"]
    assert any("not a regular file" in c for c in conflicts), conflicts
    assert not (root / f"experiments/{HAND}/runs/{rid}.md").exists()


# --- 7: descendants that left the process group -------------------------------------------------

# Starts a sleeper in a session of its own (out of the agent's process group), then fixes the
# file and exits: the sleeper would outlive the run.
SETSID_AGENT = """\
#!/bin/sh
setsid sh -c 'echo $$ > "$PIDS/agent-sleeper.pid"; exec sleep 300' < /dev/null > /dev/null 2>&1 &
while [ ! -s "$PIDS/agent-sleeper.pid" ]; do sleep 0.05; done
echo fixed > app.txt
echo '{"type":"file_edited","path":"app.txt"}'
echo '{"type":"final_answer","text":"done"}'
"""


def _setsid_root(tmp_path: Path, pids: Path):
    ws = make_root(tmp_path / "root", {"detach": SETSID_AGENT}, time_limit=30)
    spec = read_spec(ws.root)
    spec["agents"][0]["options"]["env"] = {"PIDS": str(pids)}
    write_spec(ws.root, spec)
    fixture = ws.root / "fixtures/tiny/fixture.yaml"
    oracle = (
        f"setsid sh -c 'echo $$ > {pids}/oracle-sleeper.pid; exec sleep 300' "
        f"< /dev/null > /dev/null 2>&1 & while [ ! -s {pids}/oracle-sleeper.pid ]; "
        "do sleep 0.05; done; grep -q fixed app.txt"
    )
    data = yaml.safe_load(fixture.read_text(encoding="utf-8"))
    data["oracle"] = {"command": oracle, "timeoutSeconds": 20}
    fixture.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return ws


@pytest.mark.parametrize("mode", ["cgroup", "subreaper"])
def test_setsid_children_of_an_agent_and_an_oracle_die_with_the_run(tmp_path, monkeypatch, mode):
    from experimentos.matrix import containment

    if mode == "cgroup" and containment.cgroup_base() is None:
        pytest.skip("this machine gives no writable cgroup v2 directory")
    if mode == "subreaper":
        monkeypatch.setattr(containment, "cgroup_base", lambda: None)
    pids = tmp_path / "pids"
    pids.mkdir()
    ws = _setsid_root(tmp_path, pids)
    began = time.monotonic()
    summary = run_matrix(ws, EXP)
    run = records(ws.root)["run.m.tiny.none.detach.r1"]
    assert summary.errored == 0 and run.outcome.value == "success", run.body
    assert time.monotonic() - began < 25  # no pipe held open by a sleeper kept the runner
    for name in ("agent-sleeper.pid", "oracle-sleeper.pid"):
        pid = int((pids / name).read_text())
        assert _gone(pid), f"{name}: {pid} outlived its run"


def test_a_setsid_child_of_a_command_dies_with_it(tmp_path, monkeypatch):
    """The oracle path alone (procgroup.run_command), without a matrix around it."""
    from experimentos.matrix import containment
    from experimentos.matrix.procgroup import run_command

    monkeypatch.setattr(containment, "cgroup_base", lambda: None)
    pidfile = tmp_path / "sleeper.pid"
    command = (
        f"setsid sh -c 'echo $$ > {pidfile}; exec sleep 300' < /dev/null > /dev/null 2>&1 & "
        f"while [ ! -s {pidfile} ]; do sleep 0.05; done; echo ok"
    )
    result = run_command(command, tmp_path, 20)
    assert result.passed and "ok" in result.output_tail
    assert _gone(int(pidfile.read_text()))


# --- 8: --resume kills only what a runner started -------------------------------------------


def test_resume_never_kills_a_process_a_planted_lock_names(tmp_path):
    ws = make_root(tmp_path / "root", {"good": GOOD})
    run_matrix(ws, EXP)
    rid = "run.m.tiny.none.good.r1"
    rel = f"experiments/{EXP}/runs/{rid}.md"
    rec = load_record(ws.root, rel, RunRecord)
    left = rec.model.model_copy(
        update={"status": RunStatus.running, "ended": None, "outcome": None}
    )
    save_record(ws.root, rel, left, like=rec)
    victim = subprocess.Popen(["sleep", "60"], start_new_session=True)
    workdir = Path(tempfile.mkdtemp(prefix="xos-run-"))  # another runner's, by its name
    try:
        lock = ws.root / ".experimentos/matrix/locks" / f"{rid}.lock"
        lock.parent.mkdir(parents=True, exist_ok=True)
        start = process_start_time(victim.pid)
        assert start
        lock.write_text(json.dumps({"pid": victim.pid, "start": start, "workdir": str(workdir)}))
        summary = run_matrix(ws, EXP, resume=True)
        assert [r.run_id for r in summary.runs] == [rid]
        time.sleep(0.2)
        assert victim.poll() is None, "the planted lock's process was killed"
        assert workdir.is_dir(), "the planted lock's workdir was removed"
        assert records(ws.root)[rid].status.value == "finished"
    finally:
        victim.kill()
        victim.wait()
        workdir.rmdir()


# --- 14: a dry run checks what a run checks ------------------------------------------------------


@pytest.mark.parametrize(
    "agent, field",
    [
        ({"name": "sh", "adapter": "shell", "options": {"script": "agents/missing.sh"}},
         "agents.0.options.script"),
        ({"name": "sh", "adapter": "shell", "options": {"script": "../outside.sh"}},
         "agents.0.options.script"),
        ({"name": "sc", "adapter": "scripted", "options": {"policy": "agents/missing.yaml"}},
         "agents.0.options.policy"),
        ({"name": "sc", "adapter": "scripted", "options": {"policy": "agents/bad.yaml"}},
         "agents.0.options.policy"),
        ({"name": "cx", "adapter": "codex", "options": {"policy": "agents/missing.yaml"}},
         "agents.0.options.policy"),
        ({"name": "cx", "adapter": "codex", "options": {"policy": "agents/bad.yaml"}},
         "agents.0.options.policy"),
    ],
)  # fmt: skip
def test_dry_run_refuses_what_a_run_refuses_before_its_first_cell(tmp_path, agent, field):
    ws = make_root(tmp_path / "root", {"good": GOOD})
    (ws.root / "agents/bad.yaml").write_text("steps: {not: [a list\n", encoding="utf-8")
    spec = read_spec(ws.root)
    spec["agents"] = [agent]
    write_spec(ws.root, spec)
    for dry in (True, False):
        with pytest.raises(UsageError) as err:
            run_matrix(ws, EXP, dry_run=dry)
        assert err.value.field == field, (dry, err.value)
    assert not runs_dir(ws.root).exists()  # nothing was recorded by either
    result = cli(ws.root, "matrix", "run", EXP, "--dry-run")
    assert result.exit_code == 2 and field in result.output


def test_dry_run_refuses_a_state_directory_that_a_run_refuses(tmp_path):
    ws = make_root(tmp_path / "root", {"good": GOOD}, conditions=["brief"])
    outside = tmp_path / "outside"
    outside.mkdir()
    (ws.root / ".experimentos").mkdir(exist_ok=True)
    (ws.root / ".experimentos/matrix").symlink_to(outside)
    result = cli(ws.root, "matrix", "run", EXP, "--dry-run")
    assert result.exit_code == 2 and ".experimentos/matrix" in result.output
    assert _tree(outside) == set()
