"""Fingerprints: what a matrix run's result depends on, and what to say when a part changed.

A run's fingerprint (models.lab.MatrixFingerprint, stored in its record) holds:

    fixture        the fixture directory's content hash
    knowledge      the condition's knowledge (its content hash; none for `none`)
    agent          the agent entry of matrix.yaml, normalised: every field it sets (adapter,
                   options, the model name or model block), so any new field is covered too
    agentFiles     the content hash of every file the entry names (a shell script, a policy)
    agentVersion   what the agent CLI says its version is (`--version`)
    model          the model the entry names: provider, base URL, name (from a model block, or
                   a name and options.base_url); the provider-reported id is recorded after
                   the run next to it (`matrix.modelReported`), where the transcript has one
    timeLimit      seconds the agent may run
    prompt         the version of the prompt the runner composes

The cell hash is the hash of the cell and this fingerprint. A stored result counts only while
its fingerprint equals the one planned now: `--resume` re-runs it otherwise (saying which part
changed), `merge` refuses runs of one matrix whose fingerprints disagree, and a report leaves
out, with the reason, runs whose fingerprint differs from the others of their agent, fixture
or condition (`conflicts`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from experimentos.agents.base import AgentSpec
from experimentos.errors import ExperimentosError
from experimentos.models.lab import MatrixFingerprint


def digest(data: Any) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def file_digest(path: Path) -> str:
    try:
        return "sha256:" + hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError as exc:
        return f"unreadable: {exc.strerror or exc}"


def entry_digest(agent: AgentSpec) -> str:
    """The agent entry, normalised: the fields it sets (a field left at its default is left out,
    so a field added to the format later does not change old entries' hashes)."""
    return digest(agent.model_dump(mode="json", by_alias=True, exclude_defaults=True))


def model_of(agent: AgentSpec) -> dict[str, Any] | None:
    """The model an entry names: {provider, baseUrl, name, …} as far as it says (never a key;
    the base URL as the CLI will use it, the provider's hosted API when the block names none)."""
    endpoint = agent.endpoint
    if endpoint is None:
        return {"name": agent.model_name} if agent.model_name else None
    data = endpoint.model_dump(mode="json", by_alias=True, exclude_none=True)
    data.pop("keyEnv", None)
    data["baseUrl"] = endpoint.endpoint
    return data


@dataclass(frozen=True)
class AgentParts:
    """The agent's share of a fingerprint, computed once per matrix run (the CLI is asked its
    version once)."""

    agent: str
    files: dict[str, str]
    version: str | None
    model: dict[str, Any] | None


def agent_parts(agent: AgentSpec, root: Path) -> AgentParts:
    """Hash the entry and the files it names, and ask the CLI its version."""
    from experimentos.agents.base import adapter_class

    cls = adapter_class(agent.adapter)
    adapter = cls(agent, root) if cls is not None else None
    try:
        files = adapter.input_files() if adapter is not None else {}
    except ExperimentosError:  # a missing script: the adapter refuses it before any run
        files = {}
    version = adapter.cli_version() if adapter is not None else None
    return AgentParts(
        agent=entry_digest(agent),
        files={name: file_digest(path) for name, path in sorted(files.items())},
        version=version,
        model=model_of(agent),
    )


# Each part, how a change is said, and which runs must agree on it (reports, merge).
_PARTS: dict[str, tuple[str, str]] = {
    "fixture": ("the fixture changed", "fixture"),
    "knowledge": ("the knowledge the condition serves changed", "condition"),
    "agent": ("the agent entry in matrix.yaml changed", "agent"),
    "agent_files": ("", "agent"),
    "agent_version": ("the agent CLI's version changed", "agent"),
    "model": ("the model changed", "agent"),
    "time_limit_s": ("the time limit changed", "matrix"),
    "prompt": ("the prompt the runner composes changed", "matrix"),
}


def fingerprint_changes(old: MatrixFingerprint | None, new: MatrixFingerprint) -> list[str]:
    """What differs between a stored fingerprint and the planned one, one phrase a part."""
    if old is None:
        return [
            "recorded before fingerprints covered the agent's files, CLI version and model "
            "(an older experimentos)"
        ]
    said = []
    for part, (phrase, _) in _PARTS.items():
        before, after = getattr(old, part), getattr(new, part)
        if before == after:
            continue
        if part == "agent_version" and after is None:
            # The planner could not ask the CLI (not installed where the plan is made, as in a
            # CI job that only plans): unknown is not a change. The run itself asks it.
            continue
        if part == "agent_files":
            for name in sorted(set(before) | set(after)):
                if before.get(name) != after.get(name):
                    said.append(f"the agent's file {name} changed")
        elif part in ("agent_version", "time_limit_s"):
            said.append(f"{phrase} ({_show(before)} -> {_show(after)})")
        else:
            said.append(phrase)
    return said


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g} s"
    return "unknown" if value is None else str(value)


@dataclass(frozen=True)
class Stamp:
    """One run as the consistency check sees it."""

    run_id: str
    fixture: str | None
    condition: str | None
    agent: str | None
    fingerprint: MatrixFingerprint | None
    model_reported: str | None = None
    ended: str = ""  # ISO time; the later run wins a tie


def _split(stamps: Sequence[Stamp]):  # noqa: ANN202 - yields (part, where, {value: runs})
    """Every group of runs that must agree on a part and does not."""
    recorded = [s for s in stamps if s.fingerprint is not None]
    for part, (_, scope) in _PARTS.items():
        groups: dict[str | None, list[Stamp]] = {}
        for s in recorded:
            key = {"fixture": s.fixture, "condition": s.condition, "agent": s.agent}.get(scope)
            groups.setdefault(key, []).append(s)
        for key, members in sorted(groups.items(), key=lambda kv: str(kv[0])):
            values: dict[str, list[Stamp]] = {}
            for s in members:
                values.setdefault(_value(s, part), []).append(s)
            if len(values) > 1:
                yield part, _where(scope, key), values
    by_agent: dict[str | None, dict[str, list[Stamp]]] = {}
    for s in stamps:
        if s.model_reported is not None:
            value = json.dumps(s.model_reported)
            by_agent.setdefault(s.agent, {}).setdefault(value, []).append(s)
    for key, values in sorted(by_agent.items(), key=lambda kv: str(kv[0])):
        if len(values) > 1:
            yield "model_reported", _where("agent", key), values


def _where(scope: str, key: str | None) -> str:
    return "the matrix's other runs" if scope == "matrix" else f"the other runs of {scope} {key}"


def _what(part: str, value: str, reference: str) -> str:
    if part == "model_reported":
        return f"the provider reported model {_text(value)} (the others: {_text(reference)})"
    if part == "agent_files":
        old, new = json.loads(value), json.loads(reference)
        names = sorted(n for n in set(old) | set(new) if old.get(n) != new.get(n))
        return "the agent's file " + ", ".join(names) + " differs"
    if part in ("agent_version", "time_limit_s"):
        phrase = _PARTS[part][0].replace(" changed", " differs")
        return f"{phrase} ({_text(value)} vs {_text(reference)})"
    return _PARTS[part][0].replace(" changed", " differs")


def _text(value: str) -> str:
    """A part's JSON value as a person reads it (hashes shortened)."""
    loaded = json.loads(value)
    if isinstance(loaded, str) and loaded.startswith("sha256:"):
        return loaded[:19] + "…"
    if isinstance(loaded, dict | list):
        return json.dumps(loaded, sort_keys=True)
    return _show(loaded)


def conflicts(stamps: Sequence[Stamp]) -> dict[str, str]:
    """Runs whose fingerprint differs from the others of their group (the same agent for the
    agent's parts, the same fixture for the fixture, the same condition for the knowledge, the
    whole matrix for the time limit and prompt), run id -> why. Within a group the value most
    runs share is the reference (a tie: the one of the run that ended last)."""
    out: dict[str, list[str]] = {}
    if any(s.fingerprint is not None for s in stamps):
        for s in stamps:
            if s.fingerprint is None:
                out.setdefault(s.run_id, []).append(
                    "it has no fingerprint (recorded by an older experimentos) and the other "
                    "runs do"
                )
    for part, where, values in _split(stamps):
        reference = max(values, key=lambda v: (len(values[v]), max(s.ended for s in values[v])))
        for value, members in values.items():
            if value == reference:
                continue
            for s in members:
                why = f"its fingerprint differs from {where}: {_what(part, value, reference)}"
                out.setdefault(s.run_id, []).append(why)
    return {run_id: "; ".join(reasons) for run_id, reasons in sorted(out.items())}


def disagreements(stamps: Sequence[Stamp]) -> list[str]:
    """Every part on which runs that must agree do not, with the runs holding each value."""
    out = []
    for s in stamps:
        if s.fingerprint is None and any(t.fingerprint is not None for t in stamps):
            out.append(f"{s.run_id} has no fingerprint (recorded by an older experimentos)")
    for part, where, values in _split(stamps):
        scope = where.removeprefix("the other runs of ").removeprefix("the matrix's other runs")
        phrase = (
            _PARTS[part][0].replace(" changed", "")
            if part != "model_reported"
            else ("the model the provider reported")
        )
        held = "; ".join(
            f"{_text(value)} in {', '.join(sorted(s.run_id for s in members))}"
            for value, members in sorted(values.items())
        )
        out.append(f"{scope or 'the matrix'}: {phrase} differs between runs: {held}")
    return out


def _value(stamp: Stamp, part: str) -> str:
    assert stamp.fingerprint is not None
    return json.dumps(getattr(stamp.fingerprint, part), sort_keys=True)
