"""`experimentos doctor` on a 10,000-page knowledge base; prints JSON.

The knowledge base is synthetic (benchmarks/synthetic.py: realistic bodies, appliesTo, dependsOn
edges) plus, on about a third of the pages, code citations into 300 generated source files of
400 lines. Before timing, a share of those files is edited the way code moves: lines inserted
above cited code (drifted), cited lines changed (changed), files deleted (orphaned); some
reviews have expired and some pages are deprecated, so the stale-dependency walk has work.

Timed separately, each the median of --repeat runs:
- doctor without the near-duplicate pass (scan + citations + graph), the figure with a target
  of 5 s at 10,000 pages;
- the near-duplicate pass alone, over the vectors of an index built beforehand (not timed; it
  embeds every page once). Skipped with --embedder none.

Usage: python benchmarks/doctor.py [--pages 10000] [--repeat 3] [--embedder minilm|none] [--dir D]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import synthetic  # noqa: E402

from experimentos.lifecycle.health import doctor  # noqa: E402
from experimentos.store import Workspace  # noqa: E402

FILES = 300
LINES = 400
CITED_SHARE = 0.33


def source_file(rng: random.Random, n: int) -> list[str]:
    words = ["value", "items", "config", "result", "state", "user", "table", "row", "key"]
    out = []
    for i in range(LINES):
        if i % 20 == 0:
            out.append(f"export function fn{n}_{i}(input: string): string {{")
        elif i % 20 == 19:
            out.append("}")
        else:
            a, b = rng.choice(words), rng.choice(words)
            out.append(f"  const {a}{i} = {b}(input, {rng.randint(0, 999)});")
    return out


def lines_bytes(lines: list[str], start: int, end: int) -> bytes:
    return "".join(line + "\n" for line in lines[start - 1 : end]).encode()


def prepare(root: Path, pages: int, embedder: str) -> tuple[Workspace, dict]:
    marker = root / ".bench-ready"
    info_path = root / ".bench-info.json"
    if marker.exists():
        return Workspace(root), json.loads(info_path.read_text(encoding="utf-8"))
    if root.exists():
        shutil.rmtree(root)
    rng = random.Random(11)
    synthetic.build(root, pages, embedder=embedder, edges=True)
    files = {f"src/mod{n}.ts": source_file(rng, n) for n in range(FILES)}
    cites = 0
    for path in sorted((root / "wiki").rglob("*.md")) + sorted((root / "policies").glob("*.md")):
        text = path.read_text(encoding="utf-8")
        extra = ""
        if rng.random() < CITED_SHARE:
            entries = []
            for _ in range(rng.randint(1, 2)):
                rel = rng.choice(sorted(files))
                start = rng.randint(1, LINES - 40)
                end = start + rng.randint(5, 30)
                digest = hashlib.sha256(lines_bytes(files[rel], start, end)).hexdigest()
                entries.append(f"  - {{path: {rel}, lines: {start}-{end}, sha256: {digest}}}")
                cites += 1
            extra += "cites:\n" + "\n".join(entries) + "\n"
        if rng.random() < 0.02:
            extra += "expires: 2025-01-01\n"
        if rng.random() < 0.01:
            text = re.sub(r"\nstatus: \w+\n", "\nstatus: deprecated\n", text, count=1)
        if extra:
            text = text.replace("\n---\n", f"\n{extra}---\n", 1)
            path.write_text(text, encoding="utf-8")
    # The code moves on: inserts above cited code, edits in it, deleted files.
    names = sorted(files)
    rng.shuffle(names)
    moved, changed, deleted = names[:60], names[60:90], names[90:100]
    for rel in moved:
        files[rel] = [f"// inserted {i}" for i in range(rng.randint(1, 25))] + files[rel]
    for rel in changed:
        for i in rng.sample(range(LINES), 40):
            files[rel][i] = files[rel][i] + " // edited"
    for rel, lines in files.items():
        if rel in deleted:
            continue
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    info = {"cites": cites, "files": FILES, "moved": 60, "changed": 30, "deleted": 10}
    info_path.write_text(json.dumps(info), encoding="utf-8")
    if embedder != "none":
        from experimentos.index import Index

        started = time.perf_counter()
        Index(Workspace(root)).sync()
        info["index_build_s"] = round(time.perf_counter() - started, 1)
        info_path.write_text(json.dumps(info), encoding="utf-8")
    marker.touch()
    return Workspace(root), info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--embedder", default="minilm", choices=["minilm", "none"])
    parser.add_argument("--similarity", type=float, default=0.95)
    parser.add_argument("--dir", type=Path, help="keep the built knowledge base here")
    args = parser.parse_args()
    base = args.dir or Path(tempfile.mkdtemp(prefix="xos-doctor-bench-"))
    ws, info = prepare(base / f"{args.embedder}-{args.pages}", args.pages, args.embedder)

    runs, cpu, report = [], [], None
    for _ in range(args.repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        report = doctor(ws, duplicates=False)
        runs.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    out = {
        "pages": report.pages,
        "cites": info["cites"],
        "cite_states": report.cites,
        "stale_dependencies": len(report.stale_dependencies),
        "expired": len(report.expired),
        "doctor_without_duplicates_s": {
            "median": round(statistics.median(runs), 2),
            "min": round(min(runs), 2),
            "runs": [round(r, 2) for r in runs],
            "cpu_median": round(statistics.median(cpu), 2),
        },
        "load_average": [round(x, 1) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        "phases_last_run_s": report.seconds,
    }
    if args.embedder != "none":
        from experimentos.lifecycle.duplicates import near_duplicates

        documents = ws.scan().documents
        pages = {d.id: d.page for d in documents}
        paths = {d.id: d.path for d in documents}
        checksums = {d.path: d.checksum for d in documents}
        dup_runs, dup_cpu = [], []
        for _ in range(args.repeat):
            started, started_cpu = time.perf_counter(), time.process_time()
            pairs, scan = near_duplicates(
                ws, checksums, paths, threshold=args.similarity, pages=pages
            )
            dup_runs.append(time.perf_counter() - started)
            dup_cpu.append(time.process_time() - started_cpu)
        out["near_duplicates"] = {
            "median_s": round(statistics.median(dup_runs), 2),
            "cpu_median_s": round(statistics.median(dup_cpu), 2),
            "runs_s": [round(r, 2) for r in dup_runs],
            "pages_compared": scan.pages,
            "pairs_at_threshold": scan.pairs,
            "threshold": args.similarity,
            "index_build_s (not timed above)": info.get("index_build_s"),
        }
    if args.dir is None:
        shutil.rmtree(base, ignore_errors=True)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
