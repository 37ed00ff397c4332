"""The promotion gate and `candidates` over many synthetic run records; prints JSON.

    python benchmarks/promote.py [--runs 10000] [--dir DIR]

The records are benchmarks/reports.py's (10 fixtures x none, brief, brief-without:policy.a,
brief-without:policy.b x 5 agents x N repeats, outcomes from a fixed seed), in a knowledge base
that holds policy.a and policy.b as drafts. Timed: the gate for policy.a with cold row cache
(every record parsed), warm (rows from the content-hash cache), and `candidates` (warm).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from reports import EXP, timed, write_records  # noqa: E402

from experimentos.promote import candidates, compute_gate  # noqa: E402
from experimentos.store import Workspace  # noqa: E402
from experimentos.store.scaffold import init_workspace  # noqa: E402


def page(slug: str) -> str:
    return (
        f"---\nid: policy.{slug}\ntype: policy\ntitle: Policy {slug}\nappliesTo:\n"
        "  library: drizzle-kit\n---\n\n## Rule\n\nKeep the pin.\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--dir", type=Path, default=None, help="keep the records here")
    args = parser.parse_args()
    holder = Path(args.dir or tempfile.mkdtemp(prefix="xos-bench-promote-"))
    root = holder / "kb"
    try:
        init_workspace(root)
        for slug in ("a", "b"):
            (root / "policies" / f"{slug}.md").write_text(page(slug), encoding="utf-8")
        setup_s, written = timed(lambda: write_records(root, args.runs))
        ws = Workspace(root)
        cold_s, gate = timed(lambda: compute_gate(ws, "policy.a", EXP))
        warm_s, _ = timed(lambda: compute_gate(ws, "policy.a", EXP))
        cand_s, found = timed(lambda: candidates(ws, EXP))
        print(
            json.dumps(
                {
                    "runs": written,
                    "setup_s": setup_s,
                    "gate_cold_s": cold_s,
                    "gate_warm_s": warm_s,
                    "candidates_warm_s": cand_s,
                    "gate": {
                        "passed": gate.passed,
                        "pairs": gate.primary.pairs if gate.primary else 0,
                        "delta": gate.primary.delta if gate.primary else None,
                        "checks": len(gate.checks),
                    },
                    "candidates": {c.page: c.suggestion for c in found.candidates},
                    "cpus": os.cpu_count(),
                    "load_average": [round(x, 2) for x in os.getloadavg()],
                },
                indent=2,
            )
        )
    finally:
        if args.dir is None:
            shutil.rmtree(holder, ignore_errors=True)


if __name__ == "__main__":
    main()
