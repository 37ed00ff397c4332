"""Run a GitHub workflow file here the way GitHub would, against a bare remote and FakeGitHub.

What GitHub does and this runner does too: jobs in `needs` order, each job's `if:` (with the
implicit `success()`), `strategy.matrix` from an expression, step `if:` and `continue-on-error`,
`${{ }}` expressions evaluated over github / inputs / secrets / needs / steps / matrix / runner
contexts (workflow_helpers.evaluate), $GITHUB_OUTPUT into step and job outputs, `run:` steps
under `bash --noprofile --norc -eo pipefail` with the step's env, and these actions:

- actions/checkout: a fresh clone of the bare remote at the step's `ref` (or the event's:
  refs/pull/N/merge is made as GitHub makes it, a merge of the head into the base), with
  `origin` pointing at https://github.com/<repo> for fetches' names and pushes going to the bare
  repository;
- actions/upload-artifact, actions/download-artifact (`name` or `pattern`, `run-id`): a
  per-run artifact store;
- setup-python, setup-node, cache, configure-pages: nothing (the package is installed).

Run steps that install software (`pip install .`, `experimentos agents install`) are skipped:
this process's environment already has experimentos, and shell agents need no CLI.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .conftest import git
from .workflow_helpers import WORKFLOWS, evaluate, load, render_text, render_value

SKIPPED_SCRIPTS = ("pip install", "experimentos agents install")
STATUS_FUNCTIONS = ("always()", "cancelled()", "success()", "failure()")


@dataclass
class Event:
    name: str  # pull_request | push | workflow_dispatch | workflow_run
    ref: str
    sha: str
    payload: dict = field(default_factory=dict)
    inputs: dict = field(default_factory=dict)
    head_ref: str = ""
    base_ref: str = ""


@dataclass
class JobRun:
    name: str
    result: str  # success | failure | skipped
    outputs: dict[str, str] = field(default_factory=dict)
    logs: list[str] = field(default_factory=list)


@dataclass
class WorkflowRun:
    workflow: str
    run_id: int
    event: Event
    jobs: dict[str, JobRun] = field(default_factory=dict)

    @property
    def log(self) -> str:
        return "\n".join(line for job in self.jobs.values() for line in job.logs)

    def result(self, job: str) -> str:
        return self.jobs[job].result


class Runner:
    """Workflow runs against one bare repository and one FakeGitHub."""

    def __init__(
        self,
        bare: Path,
        api_url: str,
        work: Path,
        *,
        repository: str = "acme/kb",
        secrets: dict[str, str] | None = None,
        env: dict[str, str] | None = None,
    ):
        self.bare = bare
        self.api_url = api_url
        self.work = work
        self.repository = repository
        self.secrets = secrets or {}
        self.env = env or {}
        self.artifacts: dict[int, dict[str, Path]] = {}
        self._run_ids = itertools.count(4242)
        self.runs: list[WorkflowRun] = []

    # --- the event refs GitHub makes ----------------------------------------------------------

    def pull_request_event(self, number: int, head: str, base: str = "main", **payload) -> Event:
        """A pull_request event for branch `head` (refs/pull/N/merge made as GitHub does)."""
        head_sha = git(self.bare, "rev-parse", f"refs/heads/{head}").strip()
        scratch = self.work / f"merge-{number}-{head_sha[:8]}"
        if not scratch.exists():
            subprocess.run(["git", "clone", "-q", str(self.bare), str(scratch)], check=True)
            git(scratch, "checkout", "-q", "--detach", f"origin/{base}")
            git(
                scratch,
                "-c",
                "user.name=GitHub",
                "-c",
                "user.email=noreply@github.com",
                "merge",
                "-q",
                "--no-ff",
                "--no-edit",
                f"origin/{head}",
            )
            git(scratch, "push", "-q", "-f", "origin", f"HEAD:refs/pull/{number}/merge")
        merge_sha = git(self.bare, "rev-parse", f"refs/pull/{number}/merge").strip()
        event = {
            "number": number,
            "pull_request": {
                "number": number,
                "head": {"ref": head, "sha": head_sha, "repo": {"full_name": self.repository}},
                "base": {"ref": base, "repo": {"full_name": self.repository}},
            },
            **payload,
        }
        return Event(
            "pull_request",
            f"refs/pull/{number}/merge",
            merge_sha,
            payload=event,
            head_ref=head,
            base_ref=base,
        )

    def push_event(self, branch: str = "main") -> Event:
        sha = git(self.bare, "rev-parse", f"refs/heads/{branch}").strip()
        return Event("push", f"refs/heads/{branch}", sha, payload={"ref": f"refs/heads/{branch}"})

    def dispatch_event(self, dispatch: dict) -> Event:
        """The workflow_dispatch event a recorded dispatch (FakeGitHub.dispatches) starts."""
        ref = dispatch["ref"]
        branch = ref.removeprefix("refs/heads/")
        sha = git(self.bare, "rev-parse", f"refs/heads/{branch}").strip()
        inputs = dict(dispatch.get("inputs") or {})
        return Event(
            "workflow_dispatch",
            f"refs/heads/{branch}",
            sha,
            payload={"inputs": inputs},
            inputs=inputs,
        )

    def workflow_run_event(self, run: WorkflowRun) -> Event:
        """The workflow_run event of a completed run (pr-comment.yml runs on main)."""
        main = git(self.bare, "rev-parse", "refs/heads/main").strip()
        failed = any(j.result == "failure" for j in run.jobs.values())
        payload = {
            "workflow_run": {
                "id": run.run_id,
                "event": run.event.name,
                "head_sha": run.event.payload.get("pull_request", {}).get("head", {}).get("sha")
                or run.event.sha,
                "conclusion": "failure" if failed else "success",
            }
        }
        return Event("workflow_run", "refs/heads/main", main, payload=payload)

    # --- running ------------------------------------------------------------------------------

    def run(self, workflow: str, event: Event) -> WorkflowRun:
        data = load(WORKFLOWS / workflow)
        run = WorkflowRun(workflow, next(self._run_ids), event)
        self.artifacts[run.run_id] = {}
        self.runs.append(run)
        jobs = data["jobs"]
        for name in _ordered(jobs):
            spec = jobs[name]
            needs = spec.get("needs") or []
            needs = [needs] if isinstance(needs, str) else needs
            ctx = self._context(run, needs)
            condition = str(spec.get("if", "")).strip()
            ok = all(run.jobs[n].result == "success" for n in needs)
            if not _passes(condition, ctx, ok):
                run.jobs[name] = JobRun(name, "skipped")
                continue
            combos = [{}]
            matrix = (spec.get("strategy") or {}).get("matrix")
            if matrix:
                values = {k: render_value(v, ctx) for k, v in matrix.items()}
                keys = list(values)
                combos = [
                    dict(zip(keys, c, strict=True)) for c in itertools.product(*values.values())
                ]
            result = JobRun(name, "success")
            for i, combo in enumerate(combos):
                one = self._job(run, name, spec, {**ctx, "matrix": combo}, i)
                result.logs += one.logs
                result.outputs.update(one.outputs)
                if one.result == "failure":
                    result.result = "failure"
            run.jobs[name] = result
        return run

    def _context(self, run: WorkflowRun, needs: list[str]) -> dict:
        event = run.event
        branch = event.ref.removeprefix("refs/heads/")
        return {
            "github": {
                "event_name": event.name,
                "event": event.payload,
                "ref": event.ref,
                "ref_name": branch if event.ref.startswith("refs/heads/") else event.ref,
                "sha": event.sha,
                "head_ref": event.head_ref,
                "base_ref": event.base_ref,
                "repository": self.repository,
                "run_id": str(run.run_id),
                "token": "ghs_workflow_token",
                "server_url": "https://github.com",
            },
            "inputs": event.inputs,
            "secrets": self.secrets,
            "vars": {},
            "needs": {
                n: {"result": run.jobs[n].result, "outputs": run.jobs[n].outputs} for n in needs
            },
            "steps": {},
            "matrix": {},
            "runner": {"temp": ""},
        }

    def _job(self, run: WorkflowRun, name: str, spec: dict, ctx: dict, index: int) -> JobRun:
        home = self.work / f"run-{run.run_id}" / f"{name}-{index}"
        temp = home / "temp"
        temp.mkdir(parents=True)
        ctx["runner"] = {"temp": str(temp)}
        job = JobRun(name, "success")
        checkout: Path | None = None
        failed = False
        for i, step in enumerate(spec.get("steps", [])):
            label = step.get("name") or step.get("uses") or f"step {i}"
            ok = not failed
            if not _passes(str(step.get("if", "")).strip(), {**ctx, "_failed": failed}, ok):
                continue
            outcome, outputs = "success", {}
            try:
                if "uses" in step:
                    checkout = self._action(run, step, ctx, home, checkout) or checkout
                else:
                    outputs = self._script(run, step, ctx, checkout or home, temp, job)
            except StepFailed as exc:
                outcome = "failure"
                job.logs.append(f"[{name}] {label}: FAILED\n{exc}")
            if step.get("id"):
                ctx["steps"][step["id"]] = {"outputs": outputs, "outcome": outcome}
            if outcome == "failure" and not step.get("continue-on-error"):
                failed = True
        job.result = "failure" if failed else "success"
        job.outputs = {k: render_text(v, ctx) for k, v in (spec.get("outputs") or {}).items()}
        return job

    def _action(
        self, run: WorkflowRun, step: dict, ctx: dict, home: Path, checkout: Path | None
    ) -> Path | None:
        action = step["uses"].split("@", 1)[0]
        inputs = {k: render_text(v, ctx) for k, v in (step.get("with") or {}).items()}
        if action == "actions/checkout":
            return self._checkout(run, inputs, home)
        if action == "actions/upload-artifact":
            source = Path(inputs["path"])
            source = source if source.is_absolute() else (checkout or home) / source
            if not source.exists():
                if inputs.get("if-no-files-found") in ("ignore", "warn"):
                    return None
                raise StepFailed(f"no files at {source}")
            target = self.work / "artifacts" / str(run.run_id) / inputs["name"]
            shutil.copytree(source, target)
            self.artifacts[run.run_id][inputs["name"]] = target
            return None
        if action == "actions/download-artifact":
            run_id = int(inputs.get("run-id") or run.run_id)
            store = self.artifacts.get(run_id, {})
            dest = Path(inputs["path"])
            if "name" in inputs:
                if inputs["name"] not in store:
                    raise StepFailed(f"no artifact {inputs['name']} in run {run_id}")
                shutil.copytree(store[inputs["name"]], dest, dirs_exist_ok=True)
            else:
                prefix = str(inputs.get("pattern", "*")).rstrip("*")
                for name, path in store.items():
                    if name.startswith(prefix):
                        shutil.copytree(path, dest / name)
            return None
        return None  # setup-python, setup-node, cache, configure-pages: installed already

    def _checkout(self, run: WorkflowRun, inputs: dict, home: Path) -> Path:
        where = home / "repo"
        subprocess.run(["git", "clone", "-q", str(self.bare), str(where)], check=True)
        ref = str(inputs.get("ref") or "") or run.event.ref
        if ref.startswith("refs/pull/"):
            git(where, "fetch", "-q", "origin", ref)
            git(where, "checkout", "-q", "--detach", "FETCH_HEAD")
        else:
            branch = ref.removeprefix("refs/heads/")
            git(where, "checkout", "-q", "-B", branch, f"origin/{branch}")
        git(where, "remote", "set-url", "origin", f"https://github.com/{self.repository}")
        git(where, "config", "remote.origin.pushurl", str(self.bare))
        return where

    def _script(
        self, run: WorkflowRun, step: dict, ctx: dict, cwd: Path, temp: Path, job: JobRun
    ) -> dict[str, str]:
        script = step["run"]
        if script.strip().startswith(SKIPPED_SCRIPTS) or "experimentos agents install" in script:
            return {}
        output = temp / f"output-{len(job.logs)}-{os.urandom(4).hex()}"
        output.touch()
        for name in ("GITHUB_PATH", "GITHUB_ENV"):
            (temp / name).touch()
        env = {
            **os.environ,
            "GITHUB_OUTPUT": str(output),
            "GITHUB_PATH": str(temp / "GITHUB_PATH"),
            "GITHUB_ENV": str(temp / "GITHUB_ENV"),
            "GITHUB_REPOSITORY": self.repository,
            "GITHUB_RUN_ID": str(run.run_id),
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_EVENT_NAME": run.event.name,
            "GITHUB_SHA": run.event.sha,
            "GITHUB_REF": run.event.ref,
            "RUNNER_TEMP": str(temp),
            "EXPERIMENTOS_GITHUB_API": self.api_url,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            **self.env,
        }
        env.pop("EXPERIMENTOS_ROOT", None)
        env.pop("GITHUB_TOKEN", None)
        env.pop("XOS_BOT_TOKEN", None)
        for key, value in (step.get("env") or {}).items():
            env[key] = render_text(value, ctx)
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        job.logs.append(f"[{job.name}] {step.get('name', script[:40])}\n{done.stdout}{done.stderr}")
        if done.returncode != 0:
            raise StepFailed(
                f"exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
            )
        outputs = {}
        for line in output.read_text(encoding="utf-8").splitlines():
            key, sep, value = line.partition("=")
            if sep:
                outputs[key] = value
        return outputs


class StepFailed(Exception):
    pass


def _ordered(jobs: dict) -> list[str]:
    done: list[str] = []
    while len(done) < len(jobs):
        for name, spec in jobs.items():
            needs = spec.get("needs") or []
            needs = [needs] if isinstance(needs, str) else needs
            if name not in done and all(n in done for n in needs):
                done.append(name)
    return done


def _passes(condition: str, ctx: dict, ok: bool) -> bool:
    """A job's or step's `if:`; without a status function it also needs `success()`."""
    if not condition:
        return ok
    text = condition
    if text.startswith("${{") and text.endswith("}}"):
        text = text[3:-2].strip()
    status = {"success": ok, "failure": not ok, "always": True, "cancelled": False}
    value = evaluate(text, ctx, status)
    if not any(f in text.replace(" ", "") for f in STATUS_FUNCTIONS):
        return ok and bool(value)
    return bool(value)


def artifact_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))
