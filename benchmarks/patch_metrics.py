"""PATCH of many experiment metrics: one atomic write vs one write per metric; prints JSON.

    python benchmarks/patch_metrics.py [--metrics 1500]

Times lab.experiments.update_experiment (what PATCH /experiments/{id} calls: every change in
one checked, fsynced write) against the per-metric loop PATCH used before (one read, render,
fsync and rename per metric), on a fresh experiment in a temp directory each.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from experimentos.lab import experiments
from experimentos.store import Workspace
from experimentos.store.scaffold import init_workspace


def fresh(tmp: Path, name: str) -> Workspace:
    root = tmp / name
    init_workspace(root)
    workspace = Workspace(root)
    experiments.new_experiment(workspace, "sweep", "sweep")
    return workspace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--metrics", type=int, default=1500)
    args = parser.parse_args()
    metrics = {f"m{i}": i / 7 for i in range(args.metrics)}
    with tempfile.TemporaryDirectory() as tmp:
        one = fresh(Path(tmp), "one")
        started = time.perf_counter()
        experiments.update_experiment(one, "sweep", metrics=metrics, status="running")
        one_write = time.perf_counter() - started

        each = fresh(Path(tmp), "each")
        started = time.perf_counter()
        for name, value in metrics.items():
            experiments.set_experiment_metric(each, "sweep", name, value)
        experiments.set_experiment_status(each, "sweep", "running")
        per_metric = time.perf_counter() - started
    print(
        json.dumps(
            {
                "metrics": args.metrics,
                "one_write_seconds": round(one_write, 3),
                "write_per_metric_seconds": round(per_metric, 3),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
