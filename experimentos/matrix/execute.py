"""Execute one cell: a fresh workdir, the agent under its limit, the oracle, the record.

    claim the run id -> record (running) -> materialize the fixture -> start the agent (own
    process group, clean env, MCP server bound to the run for brief conditions) -> parse its
    transcript -> rules and diff -> oracle -> sidecars and transcript events -> record (one
    atomic write: status, outcome, results)

Status: `finished` when the agent ran to its end or to its time limit (a result: the oracle
decides the outcome, and a timed-out agent is a failure that counts); `failed` when the harness
or the agent crashed (the agent could not start, exited non-zero, the parser or a harness step
broke); `aborted` when the runner was stopped while the run was in flight. Only finished runs
are results; the others are re-run by `--resume`.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from experimentos import __version__
from experimentos.agents.base import Adapter, AgentSpec, McpAttachment, RunSetup, Transcript
from experimentos.errors import ExperimentosError
from experimentos.lab.runs.events import append_events
from experimentos.lab.runs.tokens import MATRIX_RUN_TOOLS, drop_token, issue_token
from experimentos.matrix import transcripts
from experimentos.matrix.cells import Cell
from experimentos.matrix.fixtures import materialize, run_oracle
from experimentos.matrix.plan import Plan
from experimentos.matrix.process import ProcessResult, run_process
from experimentos.matrix.procgroup import clean_env
from experimentos.matrix.records import (
    WORKDIR_PREFIX,
    Claim,
    clean_orphan,
    diff_rel,
    existing_runs,
    finish_record,
    previous_attempts,
    start_record,
    transcript_rel,
    write_file,
)
from experimentos.matrix.rules import check_rules
from experimentos.matrix.runtimes import runtimes
from experimentos.models.lab import MatrixRun, RunOutcome, RunRecord, RunStatus, measure_or_none
from experimentos.store.redact import redact, secret_values

MCP_SERVER_NAME = "experimentos"
# The server's tools an agent may call (claude-code asks for an allow-list); a matrix run's
# server offers no others.
MCP_TOOLS = list(MATRIX_RUN_TOOLS)
MAX_DIFF_BYTES = 4 * 1024 * 1024
TAIL_CHARS = 4000


@dataclass
class Runtime:
    """What a runner shares between cells: the plan, entered adapters, variant directories."""

    plan: Plan
    adapters: dict[str, Adapter]  # by agent name, entered
    variants: dict[str, Path]  # by condition text; conditions that attach the server
    stop: threading.Event = field(default_factory=threading.Event)
    keep_workdirs: bool = False
    versions: dict[str, str | None] = field(default_factory=dict)  # agent CLI, by agent name
    stale: dict[str, str] = field(default_factory=dict)  # run id -> which fingerprint part changed


@dataclass
class CellResult:
    run_id: str
    cell: str
    status: str | None  # finished / failed / aborted; None when the cell was skipped
    outcome: str | None = None
    reason: str | None = None
    seconds: float = 0.0
    skipped: str | None = None  # why nothing ran (done meanwhile, claimed by another runner)
    harness_seconds: float | None = None  # everything but the agent and the oracle


def compose_prompt(task: str, cell: Cell, workdir: Path, libraries: list[str]) -> str:
    """The fixture's task, plus the pre-work instruction for conditions with the server."""
    if not cell.condition.attaches_server:
        return task
    libs = f", libraries={libraries!r}" if libraries else ""
    return (
        f"{task}\n\nBefore you edit any file, call the `start_pre_work_protocol` tool of the "
        f"`{MCP_SERVER_NAME}` MCP server with task={task!r}, repo={str(workdir)!r}{libs}. "
        "Act on the decision rules it returns, verify evidence locally before relying on it, "
        "run the checks it requires, and report what its completion contract asks for."
    )


def attachment(plan: Plan, variant: Path, token: str) -> McpAttachment:
    """`experimentos mcp serve` over stdio: knowledge from the variant, events in the root,
    the run named by its token only (blind: the run id would name the cell)."""
    args = ["-m", "experimentos", "--root", str(plan.workspace.root), "mcp", "serve"]
    args += ["--knowledge", str(variant), "--run-token", token]
    env = {"LANCEDB_LOG": "error", "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1"}
    return McpAttachment(
        name=MCP_SERVER_NAME, command=sys.executable, args=args, env=env, tools=list(MCP_TOOLS)
    )


def model_block(agent: AgentSpec) -> dict[str, Any] | None:
    """The record's `modelEndpoint`: the agent's endpoint, or its model name; None when the
    entry names no model. (The model id the provider reported is `modelReported`.)"""
    if agent.endpoint is not None:
        return agent.endpoint.record()
    if agent.model_name is None:
        return None
    return {"name": agent.model_name}


def _tail(text: str, secrets: list[str]) -> str:
    return redact(text[-TAIL_CHARS:], secrets)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def execute_cell(rt: Runtime, cell: Cell) -> CellResult:
    """Run one cell unless it is done or another runner holds it; never raises for the run's
    own problems (they end up in its record)."""
    plan = rt.plan
    root = plan.workspace.root
    run_id = cell.run_id
    claim = Claim(root, run_id)
    if not claim.acquire():
        return CellResult(run_id, cell.cell_id, None, skipped="in progress in another runner")
    try:
        existing = existing_runs(root, plan.slug, [run_id]).get(run_id)
        stale = (
            existing is not None
            and existing.cell_hash != plan.cell_hashes[run_id]
            and run_id in rt.stale  # planned stale, and nobody has run it again since
        )
        if existing is not None and existing.counted and not stale:
            return CellResult(run_id, cell.cell_id, None, skipped="already done")
        if existing is not None and existing.status is RunStatus.running:
            clean_orphan(claim)  # its runner died: kill what is left of its agent
        result = _run(rt, cell, claim, existing)
        claim.release(clear=True)
        return result
    finally:
        claim.release()


def _run(rt: Runtime, cell: Cell, claim: Claim, existing) -> CellResult:  # noqa: ANN001
    plan = rt.plan
    ws = plan.workspace
    begin = time.monotonic()
    timings: dict[str, float] = {}
    mark = [begin]

    def lap(name: str) -> None:
        now = time.monotonic()
        timings[name] = round(now - mark[0], 4)
        mark[0] = now

    loaded = plan.fixtures[cell.fixture]
    source = plan.knowledge[cell.condition.text]
    decisions, decided_by = rt.adapters[cell.agent.name].decisions()
    stale = rt.stale.get(cell.run_id)
    attempt, earlier = previous_attempts(
        existing, f"its fingerprint changed: {stale}" if stale else None
    )
    block = MatrixRun(
        id=plan.matrix_id,
        cell=cell.cell_id,
        cell_hash=plan.cell_hashes[cell.run_id],
        fingerprint=plan.fingerprints[cell.run_id],
        decisions=decisions,
        decided_by=decided_by,
        spec_hash=plan.spec_hash,
        fixture=cell.fixture,
        fixture_hash=loaded.content_hash,
        adapter=cell.agent.adapter,
        agent_version=rt.versions.get(cell.agent.name),
        repeat=cell.repeat,
        attempt=attempt,
        previous_attempts=earlier,
        harness=__version__,
        time_limit_s=plan.spec.time_limit_s,
        knowledge=source.record() if source.content_hash else None,
        runtimes=runtimes(),  # the PATH the agent and the oracle get (procgroup.clean_env)
        model_endpoint=model_block(cell.agent),
    )
    run = RunRecord(
        id=cell.run_id,
        experiment=plan.experiment_id,
        task=loaded.fixture.task,
        agent=cell.agent.name,
        model=cell.agent.model_name,
        condition=cell.condition.text,
        knowledge_commit=source.commit,
        started=_now(),
        matrix=block,
    )
    token = issue_token(ws.root, cell.run_id)  # what the agent knows the run by
    run.matrix.run_token = token
    start_record(ws, plan.slug, run, existing.record if existing else None)
    lap("record")
    secrets = [*plan.secrets.values(), *secret_values(os.environ)]
    tmp = Path(tempfile.mkdtemp(prefix=WORKDIR_PREFIX))
    claim.note(workdir=str(tmp))
    outcome = _Outcome()
    try:
        _pipeline(rt, cell, tmp, claim, secrets, outcome, lap, token)
    except ExperimentosError as exc:
        outcome.fail(f"harness error: {redact(str(exc), secrets)}")
    except Exception as exc:  # noqa: BLE001 - any crash of a step is recorded, not raised
        outcome.fail(f"harness error: {type(exc).__name__}: {redact(str(exc), secrets)}")
    finally:
        drop_token(ws.root, token)
        if not rt.keep_workdirs:
            shutil.rmtree(tmp, ignore_errors=True)
    agent_s = outcome.updates.get("agentProcess", {}).get("seconds") or 0.0
    oracle_s = (outcome.updates.get("oracle") or {}).get("seconds") or 0.0
    timings["total"] = round(time.monotonic() - begin, 4)
    outcome.updates["timings"] = timings
    finished = finish_record(
        ws,
        cell.run_id,
        status=outcome.status,
        outcome=outcome.outcome,
        matrix={**outcome.updates, "reason": outcome.reason},
        metrics=outcome.metrics,
        summary=_summary(cell, outcome),
    )
    total = time.monotonic() - begin
    harness = total - agent_s - oracle_s
    return CellResult(
        cell.run_id,
        cell.cell_id,
        finished.model.status.value,
        finished.model.outcome.value if finished.model.outcome else None,
        outcome.reason,
        round(total, 3),
        harness_seconds=round(harness, 4),
    )


@dataclass
class _Outcome:
    status: RunStatus = RunStatus.finished
    outcome: RunOutcome | None = None
    reason: str | None = None
    updates: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def fail(self, reason: str) -> None:
        if self.status is not RunStatus.aborted:
            self.status, self.outcome = RunStatus.failed, None
            self.reason = self.reason or reason


def _pipeline(rt, cell, tmp, claim, secrets, out: _Outcome, lap, token: str) -> None:  # noqa: ANN001
    plan = rt.plan
    ws = plan.workspace
    loaded = plan.fixtures[cell.fixture]
    work, home, scratch = tmp / "work", tmp / "home", tmp / "tmp"
    home.mkdir()
    scratch.mkdir()
    materialize(loaded, work)
    lap("materialize")
    prompt = compose_prompt(loaded.fixture.task, cell, work, loaded.fixture.libraries)
    out.updates["prompt"] = redact(prompt, secrets)
    mcp = None
    if cell.condition.attaches_server:
        mcp = attachment(plan, rt.variants[cell.condition.text], token)
    setup = RunSetup(
        run_id=token,  # blind: the agent never learns the run id, which names the cell
        workdir=work,
        home=home,
        prompt=prompt,
        time_limit_s=plan.spec.time_limit_s,
        base_env=clean_env(home, {"TMPDIR": str(scratch)}),
        mcp=mcp,
        secrets=dict(plan.secrets),
    )
    adapter = rt.adapters[cell.agent.name]
    invocation = adapter.prepare(setup)
    secrets = [*secrets, *secret_values(invocation.env)]
    argv, network = _network(adapter, invocation.argv)
    out.updates["agentNetwork"] = network
    lap("prepare")
    proc = run_process(
        argv,
        cwd=invocation.cwd,
        env=invocation.env,
        time_limit=plan.spec.time_limit_s,
        stdin=invocation.stdin,
        stop=rt.stop,
        on_start=lambda pid: claim.note(pid=pid, workdir=str(tmp)),
        token=claim.token,  # the supervisor carries it: a later --resume recognises it by it
    )
    lap("agent")
    transcript = _parse(adapter, proc, work, out)
    out.updates["agentProcess"] = {
        "command": redact(" ".join(invocation.argv[:1]), secrets),
        "exitCode": proc.exit_code,
        "timedOut": proc.timed_out,
        "seconds": proc.seconds,
        "outputTail": _tail(proc.stderr_tail, secrets),
        "outputBytes": proc.stdout_bytes + proc.stderr_bytes,
        "truncated": proc.dropped_lines > 0 or proc.cut_lines > 0,
    }
    # The agent's own account: a count or cost beyond any measure is left out (None), not fatal.
    usage = transcript.usage.model_copy(
        update={k: measure_or_none(v) for k, v in transcript.usage.model_dump().items()}
    )
    out.updates["modelReported"] = transcript.model_id
    out.updates["usage"] = {
        "tokensIn": usage.tokens_in,
        "tokensOut": usage.tokens_out,
        "costUsd": usage.cost_usd,
        "turns": usage.turns,
        "wallSeconds": proc.seconds,
        # A script's tokens and cost (the scripted model's, a script agent's) are made up.
        "simulated": rt.adapters[cell.agent.name].decisions()[0] == "script",
    }
    out.metrics.update(
        agent_exit_code=proc.exit_code,
        agent_timed_out=proc.timed_out,
        agent_seconds=proc.seconds,
        tokens_in=usage.tokens_in,
        tokens_out=usage.tokens_out,
        cost_usd=usage.cost_usd,
    )
    _write_transcript(ws, plan.slug, cell.run_id, proc, transcript, secrets, out)
    lap("transcript")
    if proc.interrupted:
        out.status, out.reason = RunStatus.aborted, "interrupted: the runner was stopped"
        return
    if proc.error:
        out.fail(f"agent could not start: {proc.error}")
        return
    commands = transcripts.commands(transcript)
    report = check_rules(loaded, work, commands)
    diff_text = report.diff.text
    data = diff_text.encode("utf-8")
    truncated = len(data) > MAX_DIFF_BYTES
    if truncated:
        data = data[:MAX_DIFF_BYTES] + b"\n# [experimentos: diff truncated]\n"
    clean = redact(data.decode("utf-8", "replace"), secrets).encode("utf-8")
    write_file(ws.root, diff_rel(plan.slug, cell.run_id), clean)
    rules = report.model_dump(mode="json", exclude={"diff"})
    out.updates["rules"] = rules
    out.updates["diff"] = {
        "path": Path(diff_rel(plan.slug, cell.run_id)).name,
        "bytes": len(diff_text.encode("utf-8")),
        "truncated": truncated,
        **report.diff.model_dump(mode="json", exclude={"text"}),
    }
    out.metrics.update(
        files_changed=report.diff.files_changed,
        lines_added=report.diff.lines_added,
        lines_removed=report.diff.lines_removed,
        rules_broken=len(report.broken),
    )
    lap("rules")
    oracle = run_oracle(loaded, work)
    out.updates["oracle"] = {
        "command": oracle.command,
        "exitCode": oracle.exit_code,
        "passed": oracle.passed,
        "timedOut": oracle.timed_out,
        "seconds": oracle.seconds,
        "outputTail": _tail(oracle.output_tail, secrets),
        "outputBytes": oracle.output_bytes,
        "truncated": oracle.truncated,
    }
    out.metrics.update(oracle_passed=oracle.passed, oracle_exit_code=oracle.exit_code)
    lap("oracle")
    if proc.exit_code not in (0, None):
        detail = "; ".join(transcript.errors[:3]) or _last_line(proc.stderr_tail)
        out.fail(f"agent exited with {proc.exit_code}: {redact(detail, secrets)[:500]}")
        return
    out.outcome = RunOutcome.success if oracle.passed else RunOutcome.failure
    if proc.timed_out:
        out.notes.append(f"the agent hit the {plan.spec.time_limit_s:g} s limit")


def _network(adapter: Adapter, argv: list[str]) -> tuple[list[str], dict]:
    """The argv to start (without network where we can) and what the record says of it."""
    from experimentos.agents import network

    if adapter.wants_isolation():
        prefix = network.offline_prefix()
        if prefix is not None:
            return [*prefix, *argv], {"access": False, "how": network.ISOLATED}
        return argv, {"access": True, "how": network.not_isolated()}
    access, how = adapter.shell_network()
    return argv, {"access": access, "how": how}


def _last_line(text: str) -> str:
    """The last line of an output that says something (not a frame of a traceback box)."""
    for line in reversed(text.splitlines()):
        line = line.strip(" |+-\t")
        if any(c.isalpha() for c in line):
            return line
    return ""


def _parse(adapter: Adapter, proc: ProcessResult, work: Path, out: _Outcome) -> Transcript:
    try:
        return adapter.parse(list(proc.lines), workdir=work)
    except Exception as exc:  # noqa: BLE001 - a parser bug must not lose the run's record
        out.fail(f"harness error: the {adapter.name} transcript parser crashed: {exc}")
        return Transcript()


def _write_transcript(ws, slug, run_id, proc, transcript, secrets, out) -> None:  # noqa: ANN001
    """The raw sidecar and the parsed events (source transcript, ts = line arrival)."""
    data, kept = transcripts.render_raw(list(proc.lines), secrets, proc.dropped_lines)
    write_file(ws.root, transcript_rel(slug, run_id), data)
    events, misfits = transcripts.transcript_events(transcript, list(proc.times), secrets)
    if events:
        append_events(ws, run_id, events, source="transcript")
    out.updates["transcript"] = {
        "path": Path(transcript_rel(slug, run_id)).name,
        **kept,
        **transcripts.summary(transcript, misfits, secrets),
    }


def _summary(cell: Cell, out: _Outcome) -> str:
    head = f"{cell.agent.name} on {cell.fixture} ({cell.condition.text}, repeat {cell.repeat})"
    if out.status is not RunStatus.finished:
        return f"{head}: {out.status.value} — {out.reason}."
    oracle = out.updates.get("oracle") or {}
    verdict = "oracle passed" if oracle.get("passed") else "oracle failed"
    diff = out.updates.get("diff") or {}
    broken = (out.updates.get("rules") or {}).get("broken") or []
    rules = f"rules broken: {', '.join(broken)}" if broken else "every rule kept"
    changed = (
        f"{diff.get('files_changed', 0)} file(s) changed "
        f"(+{diff.get('lines_added', 0)} -{diff.get('lines_removed', 0)})"
    )
    notes = "".join(f"; {n}" for n in out.notes)
    return f"{head}: {verdict}; {changed}; {rules}{notes}."
