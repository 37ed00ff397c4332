"""The ids that exist, from file names alone (nothing parsed): what a "not found" error offers
as the nearest ids ("did you mean policy.keep-pins?").

Listings go through store.safe, so a link out of the root or a loop is never followed; a name
that is not a valid slug is left out.
"""

from __future__ import annotations

from pathlib import Path

from experimentos.errors import did_you_mean
from experimentos.models.knowledge import TYPE_LAYOUT
from experimentos.store.lab_paths import EXPERIMENT_FILE, EXPERIMENTS_DIR, RUNS_DIR, TESTS_DIR
from experimentos.store.paths import id_for_path
from experimentos.store.safe import list_files, regular_file

_SIDECARS = (".events.jsonl", ".diff", ".transcript.jsonl")


def page_ids(root: Path) -> list[str]:
    """Ids of the page files under wiki/ and policies/."""
    found = []
    for _, directory in TYPE_LAYOUT.values():
        for rel in list_files(root, directory).paths:
            page_id = id_for_path(rel)
            if page_id:
                found.append(page_id)
    return sorted(set(found))


def _experiment_dirs(root: Path) -> list[str]:
    listing = list_files(root, EXPERIMENTS_DIR, recursive=True)
    slugs = {
        rel.split("/")[1]
        for rel in listing.paths
        if rel.count("/") == 2 and rel.endswith("/" + EXPERIMENT_FILE)
    }
    return sorted(
        s for s in slugs if regular_file(root, f"{EXPERIMENTS_DIR}/{s}/{EXPERIMENT_FILE}")
    )


def experiment_slugs(root: Path) -> list[str]:
    """Slugs of the experiments (directories with a README.md)."""
    return _experiment_dirs(root)


def _files_in(root: Path, sub: str) -> list[tuple[str, str]]:
    """(experiment slug, file stem) of the .md files in experiments/*/<sub>/."""
    out = []
    for rel in list_files(root, EXPERIMENTS_DIR, recursive=True).paths:
        parts = rel.split("/")
        if len(parts) != 4 or parts[2] != sub or not parts[3].endswith(".md"):
            continue
        if parts[3].endswith(_SIDECARS) or parts[3] == EXPERIMENT_FILE:
            continue
        out.append((parts[1], parts[3][: -len(".md")]))
    return out


def run_ids(root: Path) -> list[str]:
    """Ids of the run records under experiments/*/runs/."""
    return sorted({stem for _, stem in _files_in(root, RUNS_DIR) if stem.startswith("run.")})


def lab_test_ids(root: Path) -> list[str]:
    """Ids of the tests under experiments/*/tests/."""
    return sorted({f"test.{slug}.{stem}" for slug, stem in _files_in(root, TESTS_DIR)})


def suggest(root: Path, kind: str, wanted: str) -> str:
    """` (did you mean …?)` for a page, experiment, run or test id that names nothing, or ""."""
    try:
        if kind == "page":
            pool = page_ids(root)
        elif kind == "experiment":
            slugs = experiment_slugs(root)
            pool = slugs + [f"experiment.{s}" for s in slugs] if "." in wanted else slugs
        elif kind == "run":
            pool = run_ids(root)
        elif kind == "test":
            pool = lab_test_ids(root)
        else:
            raise ValueError(kind)
    except OSError:  # a suggestion is a courtesy: never the reason an error message fails
        return ""
    return did_you_mean(wanted, pool)
