"""Speed of experimentos.stats at the sizes a matrix report meets; prints JSON.

    python benchmarks/stats.py [--repeat 3]

Each figure is the median wall time in milliseconds of `--repeat` calls. The bootstrap and the
sign-flip test are pure Python and linear in pairs x resamples; this is the number that says
whether numpy would be worth a runtime dependency (see the package docstring).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time

from experimentos.stats import paired_binary, paired_continuous, pass_k, wilson


def median_ms(fn, repeat: int) -> float:  # noqa: ANN001
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - started)
    return round(1000 * statistics.median(runs), 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(0)
    out: dict[str, object] = {"repeat": args.repeat, "ms": {}}
    ms = out["ms"]
    assert isinstance(ms, dict)

    ms["wilson x10000"] = median_ms(lambda: [wilson(k % 40, 40) for k in range(10_000)], 3)
    for pairs in (10, 100, 1000, 5000):
        base = [rng.lognormvariate(8, 1) for _ in range(pairs)]
        treat = [b * rng.uniform(0.7, 1.2) for b in base]
        ms[f"paired_continuous {pairs} pairs, 2000 resamples"] = median_ms(
            lambda b=base, t=treat: paired_continuous(b, t), args.repeat
        )
        outcomes = [rng.random() < 0.5 for _ in range(pairs)]
        other = [rng.random() < 0.6 for _ in range(pairs)]
        ms[f"paired_binary {pairs} pairs"] = median_ms(
            lambda o=outcomes, p=other: paired_binary(o, p), args.repeat
        )
    for tasks in (1, 10, 100):
        cells = [(5, rng.randint(0, 5)) for _ in range(tasks)]
        ms[f"pass_k {tasks} tasks of 5 runs, k=2"] = median_ms(
            lambda c=cells: pass_k(c, 2), args.repeat
        )
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
