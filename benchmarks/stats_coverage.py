"""How often the intervals of experimentos.stats contain the truth; prints JSON.

    python benchmarks/stats_coverage.py [--sims 400] [--seed 0]

A 95% interval should contain the true value about 95% of the time. Measured here:

* Wilson and Newcombe's paired interval: exactly, by enumerating every possible outcome
  (binomial k, or every 2x2 table of n pairs) weighted by its probability;
* the pass@k interval over several tasks and the BCa bootstrap of a mean paired delta: by
  simulation (`--sims` data sets per setting; the Monte Carlo error of a 95% coverage from 400
  simulations is about ±1.1 points).
"""

from __future__ import annotations

import argparse
import json
import math
import random

from experimentos.stats import newcombe_paired_interval, paired_continuous, pass_k, wilson
from experimentos.stats.resample import bca_interval, bootstrap_means


def binom_pmf(k: int, n: int, p: float) -> float:
    return math.comb(n, k) * p**k * (1 - p) ** (n - k)


def wilson_coverage() -> dict[str, float]:
    out = {}
    for n in (3, 5, 10, 30):
        for p in (0.05, 0.2, 0.5, 0.8):
            covered = 0.0
            for k in range(n + 1):
                r = wilson(k, n)
                covered += binom_pmf(k, n, p) * (r.low <= p <= r.high)
            out[f"n={n} p={p}"] = round(covered, 4)
    return out


def newcombe_coverage() -> dict[str, float]:
    # cells: P(both), P(only baseline), P(only treatment), P(neither); delta = p01 - p10
    settings = {
        "no effect, correlated": (0.4, 0.1, 0.1, 0.4),
        "+0.2, correlated": (0.4, 0.05, 0.25, 0.3),
        "+0.3, independent-ish": (0.3, 0.1, 0.4, 0.2),
        "rare passes": (0.02, 0.03, 0.1, 0.85),
    }
    out = {}
    for n in (5, 10, 20, 30):
        for name, probs in settings.items():
            delta = probs[2] - probs[1]
            covered = 0.0
            for a in range(n + 1):
                for b in range(n + 1 - a):
                    for c in range(n + 1 - a - b):
                        d = n - a - b - c
                        weight = (
                            math.factorial(n)
                            / (
                                math.factorial(a)
                                * math.factorial(b)
                                * math.factorial(c)
                                * math.factorial(d)
                            )
                            * probs[0] ** a
                            * probs[1] ** b
                            * probs[2] ** c
                            * probs[3] ** d
                        )
                        low, high = newcombe_paired_interval(a, b, c, d)
                        covered += weight * (low <= delta <= high)
            out[f"n={n} {name}"] = round(covered, 4)
    return out


PASS_K_SETTINGS = [  # tasks, runs per task, k, the pass rates tasks are drawn from
    (1, 3, 1, [0.8]),
    (1, 5, 2, [0.3]),
    (3, 2, 2, [0.5, 0.9]),
    (5, 3, 1, [0.95, 1.0]),
    (5, 5, 2, [0.3, 0.9, 1.0]),
    (10, 6, 3, [0.05, 0.1]),
    (10, 10, 3, [0.3, 0.6, 0.9]),
    (20, 3, 2, [0.2, 0.3, 0.5]),
    (20, 5, 2, [0.1, 0.3, 0.5, 0.7, 0.9, 1.0]),
    (20, 5, 3, [0.1, 0.2]),
    (50, 4, 2, [0.5]),
]


def pass_k_coverage(sims: int, rng: random.Random) -> dict[str, dict[str, float]]:
    out = {}
    for tasks, runs, k, rates in PASS_K_SETTINGS:
        truths = [rng.choice(rates) for _ in range(tasks)]
        for kind in ("pass@k", "pass^k"):
            if kind == "pass@k":
                target = sum(1 - (1 - p) ** k for p in truths) / tasks
            else:
                target = sum(p**k for p in truths) / tasks
            hits, width = 0, 0.0
            for _ in range(sims):
                cells = [(runs, sum(rng.random() < p for _ in range(runs))) for p in truths]
                result = pass_k(cells, k, kind)  # type: ignore[arg-type]
                hits += result.low <= target <= result.high
                width += result.high - result.low
            key = f"{kind} tasks={tasks} runs={runs} k={k} rates={rates}"
            out[key] = {"coverage": round(hits / sims, 4), "mean width": round(width / sims, 3)}
    return out


def bca_coverage(sims: int, rng: random.Random) -> dict[str, dict[str, float]]:
    """Expanded BCa (what paired_continuous reports) next to Efron's plain BCa."""
    out: dict[str, dict[str, float]] = {}
    shapes = {
        "normal": (lambda: rng.gauss(1.0, 2.0), 1.0),
        "lognormal (skewed)": (lambda: rng.lognormvariate(0.0, 1.0), math.exp(0.5)),
        "exponential": (lambda: rng.expovariate(1.0), 1.0),
        "counts -2..2": (lambda: float(rng.choice([-2, -1, 0, 0, 1, 1, 2])), 1 / 7),
    }
    for pairs in (5, 10, 20, 40):
        for name, (draw, truth) in shapes.items():
            hits = {"expanded": 0, "plain": 0}
            for sim in range(sims):
                deltas = [draw() for _ in range(pairs)]
                result = paired_continuous([0.0] * pairs, deltas, resamples=1000, seed=sim)
                hits["expanded"] += result.low <= truth <= result.high
                if result.interval_method == "degenerate":
                    hits["plain"] += result.low <= truth <= result.high
                    continue
                boots = bootstrap_means(deltas, 1000, sim)
                low, high, _ = bca_interval(deltas, boots, 0.95, expand=False)
                hits["plain"] += low <= truth <= high
            out[f"pairs={pairs} {name}"] = {k: round(v / sims, 4) for k, v in hits.items()}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sims", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    report = {
        "nominal": 0.95,
        "sims": args.sims,
        "wilson (exact)": wilson_coverage(),
        "newcombe paired (exact)": newcombe_coverage(),
        "pass@k / pass^k over tasks (simulated)": pass_k_coverage(args.sims, rng),
        "bca mean paired delta (simulated)": bca_coverage(args.sims, rng),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
