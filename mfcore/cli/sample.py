"""``sample``: write a synthetic ratings CSV from the seeded generator.
"""

from __future__ import annotations

import argparse
import sys
import time

from .common import UsageError, positive_int


def sample_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--users", type=positive_int, default=1000)
    parser.add_argument("--items", type=positive_int, default=1700)
    parser.add_argument("--ratings", type=positive_int, default=100_000)
    parser.add_argument("--rank", type=positive_int, default=10)
    parser.add_argument("--noise", type=float, default=0.6, help="std of the Gaussian noise")
    parser.add_argument("--named-users", action="store_true", help="first names as user ids (tiny sets)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the generator")
    parser.add_argument("--out", required=True, help="CSV file to write")


def sample(args) -> None:
    from ..data.synthetic import make_ratings
    start = time.perf_counter()
    frame = make_ratings(args.users, args.items, args.ratings, rank=args.rank, noise_std=args.noise,
                         seed=args.seed, named_users=args.named_users)
    try:
        frame.to_csv(args.out, index=False)
    except OSError as exc:
        raise UsageError(f"cannot write {args.out}: {exc.strerror}") from None
    print(f"wrote {len(frame)} ratings to {args.out} in {time.perf_counter() - start:.1f} s", file=sys.stderr)
