"""`matrix merge DIR…`: reassemble one matrix from run directories copied off shard machines.

Each DIR is searched (symlinks never followed) for run records `run.<id>.md` and their sidecars
(`.events.jsonl`, `.diff`, `.transcript.jsonl`); each run goes to its experiment's runs/
directory in this root. Duplicates are settled per run id:

- identical copies (record and sidecars byte for byte) are one run;
- a finished run (a result) wins over unfinished attempts of the same cell;
- two different finished runs of one id are a conflict: the merge writes nothing and says which;
- so are finished runs of one matrix whose fingerprints disagree (another agent script, CLI
  version, model, fixture or knowledge; experimentos.matrix.fingerprint): each is named with
  the part that differs, and nothing is written.

Everything is read and checked before the first write; sidecars are written before their record,
so a merge stopped half-way never leaves a record without its files.
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from pydantic import BaseModel, Field

from experimentos.errors import ExperimentosError, InvalidPage, NotFound, UnsafePath, UsageError
from experimentos.lab.runs.events import parse_events
from experimentos.matrix.fingerprint import Stamp, disagreements
from experimentos.matrix.records import record_rel, write_file
from experimentos.models.lab import RunRecord, RunStatus
from experimentos.store import Workspace
from experimentos.store.files import safe_target
from experimentos.store.lab_paths import EXPERIMENTS_DIR, RUNS_DIR, SIDECAR_SUFFIXES
from experimentos.store.lab_scan import read_experiment
from experimentos.store.records import parse_record
from experimentos.store.safe import read_regular

_RUN_FILE = re.compile(r"^run\.[a-z0-9][a-z0-9.-]*\.md$")
MAX_DEPTH = 8
MAX_FILES = 200_000
MAX_READ_BYTES = 256 * 1024 * 1024  # a record or a sidecar (transcripts are capped far below)
_RANK = {RunStatus.finished: 3, RunStatus.failed: 2, RunStatus.aborted: 1, RunStatus.running: 0}


class MergedRun(BaseModel):
    run_id: str
    experiment: str
    action: str  # copied | replaced | identical
    source: str | None = None


class MergeReport(BaseModel):
    sources: list[str]
    copied: int = 0
    replaced: int = 0
    identical: int = 0
    runs: list[MergedRun] = Field(default_factory=list)
    conflicts: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)


@dataclass
class _Bundle:
    """One copy of a run: its record and sidecar bytes."""

    origin: str
    run: RunRecord
    files: dict[str, bytes]  # suffix ("" for the record) -> bytes

    @property
    def rank(self) -> tuple[int, str]:
        ended = self.run.ended.isoformat() if self.run.ended else ""
        return _RANK[self.run.status], ended


def _read(base: Path, rel: str) -> bytes | None:
    """The bytes of base/rel through the store's safe reader: a regular file inside `base`,
    never through a link, never blocking on a FIFO; None when absent. UnsafePath otherwise."""
    try:
        data = read_regular(base, rel, limit=MAX_READ_BYTES)
    except NotFound:
        return None
    if len(data) > MAX_READ_BYTES:
        raise UnsafePath(f"larger than {MAX_READ_BYTES} bytes", path=rel, code="file-too-large")
    return data


def _load(base: Path, rel: str, shown: str, problems: list[str]) -> _Bundle | None:
    """The run whose record is base/rel (a shard directory, or this root), with its sidecars."""
    try:
        raw = _read(base, rel)
    except UnsafePath as exc:
        problems.append(f"{shown}: {exc.message}")
        return None
    if raw is None:
        problems.append(f"{shown}: no such file")
        return None
    try:
        run = parse_record(raw, shown, RunRecord).model
    except InvalidPage as exc:
        problems.append(f"{shown}: {exc}")
        return None
    name = PurePosixPath(rel).name
    if f"{run.id}.md" != name:
        problems.append(f"{shown}: id {run.id!r} does not match the file name")
        return None
    files = {"": raw}
    for suffix in SIDECAR_SUFFIXES:
        side = str(PurePosixPath(rel).with_name(run.id + suffix))
        try:
            data = _read(base, side)
        except UnsafePath as exc:
            problems.append(f"{shown}: {PurePosixPath(side).name}: {exc.message}; refused")
            return None
        if data is not None:
            files[suffix] = data
    events = files.get(SIDECAR_SUFFIXES[0])
    if events is not None:
        bad = [p for p in parse_events(events, shown)[1] if p.severity == "error"]
        if bad:
            problems.append(f"{shown}: its event log is invalid ({bad[0].message})")
            return None
    return _Bundle(shown, run, files)


def _collect(directory: Path, problems: list[str]) -> list[_Bundle]:
    if directory.is_symlink() or not directory.is_dir():
        raise UsageError(f"{directory} is not a directory", field="directories")
    found: list[_Bundle] = []
    seen = 0
    base_depth = len(directory.parts)
    for dirpath, dirnames, filenames in os.walk(directory, followlinks=False):
        here = Path(dirpath)
        if len(here.parts) - base_depth >= MAX_DEPTH:
            dirnames[:] = []
        dirnames[:] = sorted(d for d in dirnames if not (here / d).is_symlink())
        for name in sorted(filenames):
            seen += 1
            if seen > MAX_FILES:
                raise UsageError(f"{directory} holds more than {MAX_FILES} files", field="dirs")
            if _RUN_FILE.fullmatch(name) and not (here / name).is_symlink():
                rel = (here / name).relative_to(directory).as_posix()
                bundle = _load(directory, rel, str(here / name), problems)
                if bundle is not None:
                    found.append(bundle)
    return found


def _target(root: Path, run: RunRecord) -> _Bundle | None:
    slug = run.experiment_slug
    rel = record_rel(slug, run.id)
    if not os.path.lexists(root / rel):
        return None
    problems: list[str] = []
    bundle = _load(root, rel, rel, problems)
    if bundle is None:
        raise UsageError(f"the run already here does not load: {problems[0]}", field="directories")
    return bundle


def _choose(run_id: str, copies: list[_Bundle], conflicts: list[str]) -> _Bundle | None:
    distinct: list[_Bundle] = []
    for copy in copies:
        if not any(copy.files == d.files for d in distinct):
            distinct.append(copy)
    finished = [d for d in distinct if d.run.status is RunStatus.finished]
    if len(finished) > 1:
        where = ", ".join(d.origin for d in finished)
        conflicts.append(f"{run_id}: different finished runs in {where}")
        return None
    if finished:
        return finished[0]
    return max(distinct, key=lambda d: d.rank)


def _other_experiment(root: Path, run: RunRecord) -> str | None:
    base = root / EXPERIMENTS_DIR
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(base):
            if (
                entry.name != run.experiment_slug
                and (base / entry.name / RUNS_DIR / f"{run.id}.md").is_file()
            ):
                return entry.name
    return None


def merge_runs(workspace: Workspace, directories: list[Path]) -> MergeReport:
    """Merge the runs found under `directories` into this root (see the module docstring)."""
    root = workspace.root
    if not directories:
        raise UsageError("name at least one directory to merge from", field="directories")
    report = MergeReport(sources=[str(d) for d in directories])
    problems: list[str] = []
    by_id: dict[str, list[_Bundle]] = {}
    for directory in directories:
        for bundle in _collect(Path(directory), problems):
            by_id.setdefault(bundle.run.id, []).append(bundle)
    if problems:
        report.conflicts = problems
        return report
    plan: list[tuple[_Bundle, _Bundle | None]] = []
    specs: dict[str, set[str]] = {}
    for run_id in sorted(by_id):
        copies = by_id[run_id]
        run = copies[0].run
        try:
            read_experiment(root, run.experiment_slug)
        except ExperimentosError:
            report.conflicts.append(f"{run_id}: experiment {run.experiment} does not exist here")
            continue
        other = _other_experiment(root, run)
        if other:
            report.conflicts.append(f"{run_id}: already a run of experiment {other!r} here")
            continue
        here = _target(root, run)
        chosen = _choose(run_id, [*copies, *([here] if here else [])], report.conflicts)
        if chosen is None:
            continue
        if chosen.run.matrix is not None:
            specs.setdefault(chosen.run.matrix.id, set()).add(chosen.run.matrix.spec_hash)
        plan.append((chosen, here))
    report.conflicts += _fingerprint_conflicts(root, [chosen for chosen, _ in plan])
    if report.conflicts:
        return report
    for matrix_id, hashes in sorted(specs.items()):
        if len(hashes) > 1:
            report.warnings.append(
                f"matrix {matrix_id}: runs come from {len(hashes)} versions of its spec"
            )
    for chosen, here in plan:
        _write(root, chosen, here, report)
    return report


def _stamp(run: RunRecord) -> Stamp:
    block = run.matrix
    return Stamp(
        run_id=run.id,
        fixture=block.fixture if block else None,
        condition=run.condition,
        agent=run.agent,
        fingerprint=block.fingerprint if block else None,
        model_reported=block.model_reported if block else None,
        ended=run.ended.isoformat() if run.ended else "",
    )


def _fingerprint_conflicts(root: Path, chosen: list[_Bundle]) -> list[str]:
    """The merged results, with the results already here, must share one fingerprint per
    agent, fixture and condition of each matrix: one that differs is named with the part."""
    incoming = {b.run.id: b.run for b in chosen if b.run.status is RunStatus.finished}
    groups: dict[tuple[str, str], dict[str, RunRecord]] = {}
    for run in incoming.values():
        if run.matrix is not None:
            groups.setdefault((run.experiment_slug, run.matrix.id), {})[run.id] = run
    out = []
    for (slug, matrix_id), runs in sorted(groups.items()):
        here = _finished_here(root, slug, matrix_id)
        every = {**here, **runs}  # an incoming copy replaces the one here
        for problem in disagreements([_stamp(r) for r in every.values()]):
            out.append(f"matrix {matrix_id}, {problem}")
    return out


def _finished_here(root: Path, slug: str, matrix_id: str) -> dict[str, RunRecord]:
    base = root / EXPERIMENTS_DIR / slug / RUNS_DIR
    prefix = f"run.{matrix_id}."
    out = {}
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        for name in sorted(os.listdir(base)):
            if not (name.startswith(prefix) and _RUN_FILE.fullmatch(name)):
                continue
            try:
                raw = _read(root, f"{EXPERIMENTS_DIR}/{slug}/{RUNS_DIR}/{name}")
            except UnsafePath:
                continue  # not a regular file inside the root: never a run here
            if raw is None:
                continue
            with contextlib.suppress(InvalidPage):
                run = parse_record(raw, name, RunRecord).model
                if run.status is RunStatus.finished and run.matrix and run.matrix.id == matrix_id:
                    out[run.id] = run
    return out


def _write(root: Path, chosen: _Bundle, here: _Bundle | None, report: MergeReport) -> None:
    run = chosen.run
    slug = run.experiment_slug
    rel = record_rel(slug, run.id)
    if here is not None and here.files == chosen.files:
        report.identical += 1
        report.runs.append(MergedRun(run_id=run.id, experiment=run.experiment, action="identical"))
        return
    for suffix in SIDECAR_SUFFIXES:
        side = rel.removesuffix(".md") + suffix
        if suffix in chosen.files:
            write_file(root, side, chosen.files[suffix])
        else:
            with contextlib.suppress(FileNotFoundError):
                safe_target(root, side).unlink()
    write_file(root, rel, chosen.files[""])
    action = "replaced" if here is not None else "copied"
    setattr(report, action, getattr(report, action) + 1)
    report.runs.append(
        MergedRun(run_id=run.id, experiment=run.experiment, action=action, source=chosen.origin)
    )
