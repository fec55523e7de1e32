"""``sample``: write a synthetic ratings CSV from the seeded generator.

The sizes are checked against the memory cap before anything is drawn (:func:`sample_bytes`), the noise
must be a finite number >= 0, and the CSV is written to a temporary file beside ``--out`` and renamed
onto it only when complete, so an interrupted run leaves no partial file that would load silently. An
existing ``--out`` is refused unless ``--force`` is given.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

from .common import UsageError, positive_int, write_atomically


def finite_non_negative(text: str) -> float:
    """argparse type of a finite number >= 0 (``nan`` and ``inf`` are refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text} is not a finite number >= 0")
    return value


def sample_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--users", type=positive_int, default=1000)
    parser.add_argument("--items", type=positive_int, default=1700)
    parser.add_argument("--ratings", type=positive_int, default=100_000)
    parser.add_argument("--rank", type=positive_int, default=10)
    parser.add_argument("--noise", type=finite_non_negative, default=0.6,
                        help="std of the Gaussian noise (a finite number >= 0)")
    parser.add_argument("--named-users", action="store_true", help="first names as user ids (tiny sets)")
    parser.add_argument("--counts", action="store_true",
                        help="implicit feedback: a count column (plays, clicks) instead of 1-5 stars")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the generator")
    parser.add_argument("--out", required=True, help="CSV file to write")
    parser.add_argument("--force", action="store_true", help="replace --out if it exists")


def sample_bytes(n_users: int, n_items: int, n_ratings: int, rank: int) -> int:
    """Peak bytes :func:`mfcore.data.synthetic.make_ratings` and the CSV writer need, over-estimated:
    each factor matrix is drawn in float64 and cast (12 bytes per entry), and a rating costs about
    200 bytes across the drawn pairs, the stars, the timestamps, the DataFrame and the CSV chunk."""
    return 12 * (n_users + n_items) * rank + 200 * n_ratings + 100 * n_items


def sample(args) -> None:
    from ..data.memory import CLI_CAP_FRACTION, memory_cap_bytes
    from ..data.synthetic import make_ratings

    out = Path(args.out)
    if out.exists() and not args.force:
        raise UsageError(f"{out} exists: give --force to replace it, or another --out")
    if out.is_dir():
        raise UsageError(f"{out} is a folder: give a file name")
    need, cap = sample_bytes(args.users, args.items, args.ratings, args.rank), memory_cap_bytes(CLI_CAP_FRACTION)
    if need > cap:
        raise UsageError(f"{args.ratings:,} ratings of {args.users:,} users x {args.items:,} items at rank "
                         f"{args.rank:,} need about {need / 1e9:,.1f} GB, over the {cap / 1e9:,.1f} GB memory cap: "
                         "give smaller sizes")
    start = time.perf_counter()
    frame = make_ratings(args.users, args.items, args.ratings, rank=args.rank, noise_std=args.noise,
                         seed=args.seed, named_users=args.named_users, counts=args.counts)
    write_atomically(out, lambda stream: frame.to_csv(stream, index=False), text=True)
    what = "interactions" if args.counts else "ratings"
    print(f"wrote {len(frame)} {what} to {out} in {time.perf_counter() - start:.1f} s", file=sys.stderr)
