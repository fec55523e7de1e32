"""Netflix-size through the CLI: 480,189 users x 17,770 items x 100M ratings, K=100, 20 epochs.

    python benchmarks/netflix.py [--ratings 100000000] [--data /path/netflix.csv] [--runs 2]

Writes (once) a synthetic CSV ``user,item,rating`` shaped like the Netflix Prize data (log-normal user
activity, Zipf-like item popularity, ratings from a rank-10 model plus noise, like
``python -m mfcore sample``, but numeric ids and written by pyarrow in chunks because pandas would
take many minutes for 100M lines). Then runs ``python -m mfcore train <csv> --factors 100 --epochs
20 --json`` ``--runs`` times as whole processes under ``/usr/bin/time`` and prints each run's wall
seconds, fit seconds, M updates/s, test RMSE and peak resident memory. The first run parses the CSV
and writes the binary cache (:mod:`mfcore.data.cache`); later runs read the cache. The data file is kept
(delete it yourself; it is about 1.3 GB); pass ``--fresh-cache`` to time a first run again.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import native_libmf

ROOT = Path(__file__).resolve().parents[1]
NETFLIX_USERS, NETFLIX_ITEMS = 480_189, 17_770


def _distinct(keys: np.ndarray) -> np.ndarray:
    """The distinct values, sorted (a sort and a mask: NumPy 2.4's hash-based ``np.unique`` took
    6 s per 5M keys here)."""
    keys.sort()
    return keys[np.concatenate(([True], keys[1:] != keys[:-1]))]


def rated_pairs(n_users: int, n_items: int, n_ratings: int, rng: np.random.Generator, chunk_users: int = 20_000):
    """Yield ``(users, items)`` chunks of distinct pairs, ``n_ratings`` in all, users drawn by a
    log-normal activity and items by a Zipf-like popularity (as :mod:`mfcore.data.synthetic` does).
    Users are cut into chunks of ``chunk_users``, each getting its share of the ratings, so every
    de-duplication works on a few million keys, and the pairs missing after the skewed draw are
    topped up uniformly: the generator's global retry loop takes many minutes at 100M ratings."""
    activity = rng.lognormal(0, 1.0, n_users)
    popularity = np.cumsum((1.0 / np.arange(1, n_items + 1) ** 0.9)[rng.permutation(n_items)])
    shares = np.add.reduceat(activity, np.arange(0, n_users, chunk_users)) / activity.sum()
    targets = np.diff(np.round(np.concatenate([[0], np.cumsum(shares)]) * n_ratings).astype(np.int64))
    for chunk, start in enumerate(range(0, n_users, chunk_users)):
        stop = min(start + chunk_users, n_users)
        weights = np.cumsum(activity[start:stop])
        wanted = targets[chunk]
        keys = np.zeros(0, np.int64)
        while len(keys) < wanted:
            draws = int((wanted - len(keys)) * 1.2) + 100
            users = start + np.searchsorted(weights, rng.random(draws) * weights[-1])
            if len(keys) == 0:
                items = np.searchsorted(popularity, rng.random(draws) * popularity[-1])
            else:  # top up with uniform pairs: skewed draws keep hitting pairs already drawn
                users = rng.integers(start, stop, draws)
                items = rng.integers(0, n_items, draws)
            keys = _distinct(np.concatenate([keys, users.astype(np.int64) * n_items + items]))
            if len(keys) < wanted and len(keys) > 0.9 * (stop - start) * n_items:
                raise ValueError("too dense for this generator")
        keys = np.sort(rng.choice(keys, wanted, replace=False))
        users, items = np.divmod(keys, n_items)
        yield users.astype(np.int32), items.astype(np.int32)


def write_csv(path: Path, n_users: int, n_items: int, n_ratings: int, seed: int = 0) -> None:
    """The synthetic ratings as ``user,item,rating`` lines (1-based ids), written in chunks."""
    import pyarrow as pa
    import pyarrow.csv as pv

    sys.path.insert(0, str(ROOT))
    from mfcore.data.synthetic import DOT_STD, GLOBAL_MEAN, ITEM_BIAS_STD, USER_BIAS_STD

    rng = np.random.default_rng(seed)
    rank = 10
    user_bias = rng.normal(0, USER_BIAS_STD, n_users).astype(np.float32)
    item_bias = rng.normal(0, ITEM_BIAS_STD, n_items).astype(np.float32)
    P = rng.normal(0, DOT_STD / np.sqrt(rank), (n_users, rank)).astype(np.float32)
    Q = rng.normal(0, DOT_STD / np.sqrt(rank), (n_items, rank)).astype(np.float32)
    partial = path.with_suffix(".partial")
    schema = pa.schema([("user", pa.int32()), ("item", pa.int32()), ("rating", pa.int8())])
    with pv.CSVWriter(str(partial), schema) as writer:
        for u, i in rated_pairs(n_users, n_items, n_ratings, rng):
            score = (GLOBAL_MEAN + user_bias[u] + item_bias[i] + np.einsum("nk,nk->n", P[u], Q[i])
                     + rng.normal(0, 0.6, len(u)).astype(np.float32))
            stars = np.clip(np.rint(score), 1, 5).astype(np.int8)
            writer.write_table(pa.table({"user": u + 1, "item": i + 1, "rating": stars}, schema=schema))
    os.replace(partial, path)


def train_once(path: Path, env: dict) -> dict:
    command = ["/usr/bin/time", "-f", "%M", sys.executable, "-m", "mfcore", "train", str(path),
               "--factors", "100", "--epochs", "20", "--json"]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env, check=False)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"training failed:\n{done.stderr[-3000:]}")
    final = json.loads(done.stdout.strip().splitlines()[-1])
    return {"wall": wall, "peak_gb": int(done.stderr.strip().splitlines()[-1]) / 2**20, **final}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ratings", type=int, default=100_000_000)
    parser.add_argument("--users", type=int, default=NETFLIX_USERS)
    parser.add_argument("--items", type=int, default=NETFLIX_ITEMS)
    parser.add_argument("--data", default=None, help="CSV to use or create (default: in the temp folder)")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--fresh-cache", action="store_true", help="a new cache folder: run 1 parses")
    args = parser.parse_args(argv)
    path = Path(args.data or Path(tempfile.gettempdir()) / f"mfcore-netflix-{args.ratings}.csv")
    if not path.exists():
        start = time.perf_counter()
        write_csv(path, args.users, args.items, args.ratings)
        print(f"wrote {path} ({path.stat().st_size / 1e9:.2f} GB) in {time.perf_counter() - start:.0f} s",
              flush=True)
    env = dict(os.environ)
    if args.fresh_cache:
        env["MFCORE_CACHE_DIR"] = tempfile.mkdtemp(prefix="mfcore-cache-")
    cpu = native_libmf.cpu_info()
    print(f"{args.ratings:,} ratings, {args.users:,} users x {args.items:,} items; K=100, 20 epochs, "
          f"default engine, whole CLI process; CPU {cpu['model']} ({cpu['vector_unit']}), {os.cpu_count()} cores")
    print("| run | wall s | fit s | M updates/s | test RMSE | peak RSS GB | load average (start..end) |")
    print("|---|---|---|---|---|---|---|")
    for run in range(1, args.runs + 1):
        load = os.getloadavg()[0]
        row = train_once(path, env)
        print(f"| {run}{' (parse + cache)' if run == 1 and args.fresh_cache else ''} | {row['wall']:.1f} | "
              f"{row['fit_seconds']:.1f} | {row['updates_per_second'] / 1e6:.1f} | {row['test_rmse']:.4f} "
              f"| {row['peak_gb']:.2f} | {load:.1f}..{os.getloadavg()[0]:.1f} |", flush=True)


if __name__ == "__main__":
    main()
