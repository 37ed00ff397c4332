"""The id <-> path mapping of experiments, their tests and runs (DESIGN.md). Refuse unsafe ids.

    experiment.<slug>        experiments/<slug>/README.md
    test.<slug>.<test>       experiments/<slug>/tests/<test>.md
    run.<slug>               experiments/<experiment>/runs/run.<slug>.md (+ .events.jsonl, and
                             for matrix runs .diff and .transcript.jsonl)

A run's path does not follow from its id alone: runs are found by a glob over experiments/.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import PurePosixPath

from experimentos.errors import UnsafeId, UsageError
from experimentos.models.knowledge import SLUG_MAX, slug_problem
from experimentos.models.lab import name_slug_problem

EXPERIMENTS_DIR = "experiments"
EXPERIMENT_FILE = "README.md"
TESTS_DIR = "tests"
RUNS_DIR = "runs"
EVENTS_SUFFIX = ".events.jsonl"
# Files a matrix run keeps beside its record: the workdir's diff and the agent's raw transcript.
DIFF_SUFFIX = ".diff"
TRANSCRIPT_SUFFIX = ".transcript.jsonl"
SIDECAR_SUFFIXES = (EVENTS_SUFFIX, DIFF_SUFFIX, TRANSCRIPT_SUFFIX)

_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def slugify(name: str) -> str:
    """A slug from a name: lowercase ASCII, runs of anything else -> '-', trimmed, <= 120 chars."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = _NON_ALNUM.sub("-", ascii_name.lower()).strip("-")
    slug = slug[:SLUG_MAX].rstrip("-")
    if not slug:
        raise UsageError(
            f"name {name!r} has no letters or digits to make a slug from", field="name"
        )
    return slug


def _checked(slug: str, what: str) -> str:
    problem = name_slug_problem(slug) if isinstance(slug, str) else "not a string"
    if problem:
        raise UnsafeId(f"{what} {slug!r}: {problem}")
    return slug


def experiment_slug(ref: str) -> str:
    """The slug of an experiment given as `slug` or `experiment.<slug>`."""
    if isinstance(ref, str) and ref.startswith("experiment."):
        ref = ref[len("experiment.") :]
    return _checked(ref, "experiment")


def experiment_id(slug: str) -> str:
    return f"experiment.{_checked(slug, 'experiment')}"


def experiment_dir(slug: str) -> PurePosixPath:
    return PurePosixPath(EXPERIMENTS_DIR) / _checked(slug, "experiment")


def experiment_path(slug: str) -> PurePosixPath:
    return experiment_dir(slug) / EXPERIMENT_FILE


def make_test_id(experiment: str, test: str) -> str:
    return f"test.{_checked(experiment, 'experiment')}.{_checked(test, 'test')}"


def split_test_id(test_id: str) -> tuple[str, str]:
    """(experiment slug, test slug) of a test id test.<experiment>.<test>."""
    parts = test_id.split(".") if isinstance(test_id, str) else []
    if len(parts) != 3 or parts[0] != "test":
        raise UnsafeId(f"{test_id!r} is not a test id (expected test.<experiment>.<test>)")
    return _checked(parts[1], "experiment"), _checked(parts[2], "test")


def assertion_path(experiment: str, test: str) -> PurePosixPath:
    """Where the test `test` of `experiment` lives."""
    return experiment_dir(experiment) / TESTS_DIR / f"{_checked(test, 'test')}.md"


def check_run_id(run_id: str) -> str:
    """The run id itself, or UnsafeId: run.<slug> with a page-style slug."""
    if not isinstance(run_id, str) or not run_id.startswith("run."):
        raise UnsafeId(f"{run_id!r} is not a run id (expected run.<slug>)")
    problem = slug_problem(run_id[len("run.") :])
    if problem:
        raise UnsafeId(f"run id {run_id!r}: {problem}")
    return run_id


def run_path(experiment: str, run_id: str) -> PurePosixPath:
    return experiment_dir(experiment) / RUNS_DIR / f"{check_run_id(run_id)}.md"


def events_path(experiment: str, run_id: str) -> PurePosixPath:
    return experiment_dir(experiment) / RUNS_DIR / f"{check_run_id(run_id)}{EVENTS_SUFFIX}"
