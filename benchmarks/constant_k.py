"""Which per-rating kernel is faster for each K: the loop compiled with K as a constant
(``numba_jit.run_epoch_k``) or the same loop for any K (``numba_jit.sgd_pass``). The answer sets
``mfcore.engines.numba_jit.CONSTANT_K_MIN_FACTORS`` and ``CONSTANT_K_FACTORS``.

    .venv/bin/python benchmarks/constant_k.py [--data ml-1m] [--factors 8,16,32,50,64,100,128,256]

One epoch of biased per-rating SGD over the whole dataset in one random order, one thread; for each K
both kernels run in alternating rounds and the fastest of five epochs per round is kept; prints
nanoseconds per update and which kernel mfcore picks (``numba_jit.constant_k``) beside the CPU.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from engines import DATASETS, Machine  # noqa: E402
from numba import typeof, types  # noqa: E402

from mfcore import load_ratings  # noqa: E402
from mfcore.engines import numba_jit  # noqa: E402


def epoch_ns(kernel, arrays, shape, k: int, rng, repeats: int = 5) -> float:
    """Nanoseconds per update of the fastest of ``repeats`` epochs of ``kernel`` from fresh factors."""
    users, items, values = arrays
    n_users, n_items = shape
    P = rng.normal(0, 0.05, (n_users, k)).astype(np.float32)
    Q = rng.normal(0, 0.05, (n_items, k)).astype(np.float32)
    bu, bi = np.zeros(n_users, np.float32), np.zeros(n_items, np.float32)
    arguments = (users, items, values, np.float32(values.mean()), bu, bi, P, Q, np.float32(0.007),
                 np.float32(0.05), True)
    kernel(*arguments, k)  # page the factors in
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        kernel(*arguments, k)
        best = min(best, time.perf_counter() - start)
    return best / len(values) * 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="ml-1m", help="ml-100k, ml-1m or a ratings file")
    parser.add_argument("--factors", default="8,16,32,50,64,100,128,256")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    ratings = load_ratings(DATASETS.get(args.data, args.data))
    rng = np.random.default_rng(0)
    order = rng.permutation(len(ratings))
    arrays = (ratings.users[order].copy(), ratings.items[order].copy(), ratings.values[order].copy())
    shape = (ratings.n_users, ratings.n_items)
    print(Machine().describe())
    print(f"{args.data}: {len(ratings):,} ratings, one thread, fastest epoch of 5, {args.rounds} alternating rounds")
    print("| K | compiled for K (ns/update) | any K (ns/update) | faster | mfcore uses |")
    print("|---|---|---|---|---|")
    for k in (int(text) for text in args.factors.split(",")):
        signature = tuple(typeof(array) for array in (*arrays, np.float32(0), np.zeros(1, np.float32),
                                                       np.zeros(1, np.float32), np.zeros((1, k), np.float32),
                                                       np.zeros((1, k), np.float32), np.float32(0),
                                                       np.float32(0), True))
        kernels = {"constant": numba_jit.run_epoch_k.compile((*signature, types.IntegerLiteral(k))),
                   "any": numba_jit.sgd_pass.compile((*signature, types.intp))}
        best = {name: np.inf for name in kernels}
        for _ in range(args.rounds):
            for name, kernel in kernels.items():
                best[name] = min(best[name], epoch_ns(kernel, arrays, shape, k, rng))
        faster = "compiled for K" if best["constant"] < best["any"] else "any K"
        used = "compiled for K" if numba_jit.constant_k(k, len(ratings)) else "any K"
        print(f"| {k} | {best['constant']:.1f} | {best['any']:.1f} | {faster} | {used} |")


if __name__ == "__main__":
    main()
