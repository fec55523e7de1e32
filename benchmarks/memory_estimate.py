"""The training memory estimate (mfcore.evaluation.resources.training_peak_bytes) against what fresh processes
really use: the peak of NumPy's traced allocations and the growth of the peak RSS, for a few shapes.

    .venv/bin/python benchmarks/memory_estimate.py

RSS depends on the machine's state too (NumPy asks for transparent huge pages for big arrays, which
the kernel grants when it has them), so it is reported here rather than asserted in the tests; the
tests assert the traced bound.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHAPES = [  # users, items, ratings, K, schedule
    (2_000, 1_000, 300_000, 20, "per-rating"),
    (50_000, 5_000, 400_000, 300, "per-rating"),
    (30_000, 3_000, 2_000_000, 100, "per-rating"),
    (200_000, 40_000, 2_000_000, 50, "per-epoch"),
]
MEASURE = """
import json, resource, sys, tracemalloc
import numpy as np
from mfcore import SGDFactorizer, random_split
from mfcore.data import Ratings
users, items, n, k, schedule, traced = json.loads(sys.argv[1])
rng = np.random.default_rng(0)
ratings = Ratings(rng.integers(0, users, n).astype(np.int32), rng.integers(0, items, n).astype(np.int32),
                  rng.integers(1, 6, n).astype(np.float32), np.arange(users), np.arange(items), (1.0, 5.0))
SGDFactorizer(n_factors=k, n_epochs=1, schedule=schedule).fit(ratings.take(np.arange(50)))
before = int(open('/proc/self/statm').read().split()[1]) * 4096
if traced:
    tracemalloc.start()
train, test = random_split(ratings, 0.1, 0)
SGDFactorizer(n_factors=k, n_epochs=2, schedule=schedule).fit(train, test).evaluate(test)
grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before
print(tracemalloc.get_traced_memory()[1] if traced else grown)
"""


def measure(shape, traced: bool) -> int:
    done = subprocess.run([sys.executable, "-c", MEASURE, json.dumps([*shape, traced])], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    return int(done.stdout)


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from mfcore.evaluation.resources import training_peak_bytes

    print(f"{'users':>8} {'items':>7} {'ratings':>10} {'K':>4} {'schedule':>10} {'estimate MB':>12} "
          f"{'traced MB':>10} {'RSS MB':>8} {'est/traced':>10} {'est/RSS':>8}")
    for users, items, n, k, schedule in SHAPES:
        estimate = training_peak_bytes(users, items, n, k, 0.1, schedule)
        traced = measure((users, items, n, k, schedule), True)
        rss = measure((users, items, n, k, schedule), False)
        print(f"{users:8,} {items:7,} {n:10,} {k:4} {schedule:>10} {estimate / 1e6:12.1f} {traced / 1e6:10.1f} "
              f"{rss / 1e6:8.1f} {estimate / traced:10.2f} {estimate / rss:8.2f}")


if __name__ == "__main__":
    main()
