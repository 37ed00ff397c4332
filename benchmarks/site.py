"""Static-site build speed: 1,000 knowledge pages + 200 matrix runs (default); prints JSON.

    python benchmarks/site.py [--pages 1000] [--runs 200] [--repeat 3]

The pages are the synthetic knowledge base of benchmarks/synthetic.py (with dependsOn edges);
the runs are copies of this project's real matrix runs (record, event log, diff, transcript)
under new ids, spread over 4 experiments with a matrix report each. Reports the wall time of
`build_site` (collect, render, search index, write, swap) per repeat and the output size.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from synthetic import build as build_pages  # noqa: E402

from experimentos.site import build_site  # noqa: E402
from experimentos.store import Workspace  # noqa: E402

PROJECT = Path(__file__).resolve().parents[1]
SOURCE = PROJECT / "experiments" / "scripted-brief-matrix"
EXPERIMENTS = 4
CHART = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 40" role="img">'
    '<rect x="50" y="5" width="120" height="12" fill="#1a7f37"/>'
    '<line x1="100" y1="11" x2="190" y2="11" stroke="#222"/>'
    '<text x="2" y="15">brief</text></svg>'
)


def add_runs(root: Path, runs: int) -> None:
    """`runs` copies of the project's matrix runs under new ids, in EXPERIMENTS experiments."""
    originals = sorted(p for p in (SOURCE / "runs").glob("*.md"))
    for e in range(EXPERIMENTS):
        slug = f"bench-{e}"
        target = root / "experiments" / slug
        (target / "runs").mkdir(parents=True)
        readme = (SOURCE / "README.md").read_text(encoding="utf-8")
        readme = readme.replace("experiment.scripted-brief-matrix", f"experiment.{slug}")
        (target / "README.md").write_text(readme, encoding="utf-8")
        rows = "\n".join(f"| c{i} | codex | 0.{i}0 | [0.0{i}, 0.9{i}] |" for i in range(10))
        (target / "results").mkdir()
        (target / "results" / f"{slug}.md").write_text(
            f"---\nmatrix: {slug}\ntitle: Bench {e}\n---\n\n| condition | agent | pass | ci |\n"
            f"|---|---|---|---|\n{rows}\n\n{CHART}\n",
            encoding="utf-8",
        )
    for n in range(runs):
        original = originals[n % len(originals)]
        old_id = original.name.removesuffix(".md")
        slug = f"bench-{n % EXPERIMENTS}"
        new_id = f"run.{slug}.n{n}"
        for sidecar in SOURCE.joinpath("runs").glob(f"{old_id}.*"):
            suffix = sidecar.name[len(old_id) :]
            text = sidecar.read_text(encoding="utf-8")
            text = text.replace(old_id, new_id).replace(
                "experiment.scripted-brief-matrix", f"experiment.{slug}"
            )
            text = text.replace("id: scripted-brief-matrix", f"id: {slug}")
            (root / "experiments" / slug / "runs" / f"{new_id}{suffix}").write_text(
                text, encoding="utf-8"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="xos-site-bench-"))
    try:
        root = base / "kb"
        build_pages(root, args.pages, embedder="none", edges=True)
        add_runs(root, args.runs)
        workspace = Workspace(root)
        times = []
        result = None
        for _ in range(args.repeat):
            start = time.perf_counter()
            result = build_site(workspace, base / "site")
            times.append(time.perf_counter() - start)
        assert result is not None
        print(
            json.dumps(
                {
                    "pages_in": args.pages,
                    "runs_in": args.runs,
                    "html_pages": result.pages,
                    "files": result.files,
                    "bytes": result.bytes,
                    "search_index_bytes": (base / "site/assets/search-index.js").stat().st_size,
                    "problems": len(result.problems),
                    "build_seconds": [round(t, 3) for t in times],
                    "build_seconds_median": round(statistics.median(times), 3),
                },
                indent=2,
            )
        )
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
