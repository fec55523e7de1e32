"""The ``recommend`` and ``similar`` subcommands: read a model file and print its top items.

``python -m mfcore recommend MODEL.npz --user ID [-n 10] [--json]`` and
``python -m mfcore similar MODEL.npz --item ID [-n 10] [--min-ratings 0] [--json]``.
"""

from __future__ import annotations

import argparse
import json

from .common import positive_int


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="model file written by SGDFactorizer.save or downloaded from Train (.npz)")
    parser.add_argument("-n", type=positive_int, default=10, help="how many items (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print JSON lines")


def recommend_arguments(parser: argparse.ArgumentParser) -> None:
    _common(parser)
    parser.add_argument("--user", required=True, help="the user's id as in the rating file")


def similar_arguments(parser: argparse.ArgumentParser) -> None:
    _common(parser)
    parser.add_argument("--item", required=True, help="the item's id as in the rating file")
    parser.add_argument("--min-ratings", type=int, default=0,
                        help="only items with at least this many training ratings (default: 0)")


def _titles(bundle):
    from .. import explore
    return explore.item_info(bundle.model.item_ids_, bundle.items)["title"].to_numpy()


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def recommend(args) -> None:
    """Print the ``-n`` items with the highest predicted rating that the user did not rate."""
    from .. import explore
    from ..models.persist import load_bundle
    bundle = load_bundle(args.model)
    model = bundle.model
    user = explore.user_code(model, args.user)
    if user < 0:
        raise ValueError(f"user {args.user!r} is not in the model ({len(model.user_ids_)} users).")
    rated_users, rated_items = model.rated_pairs()
    scores = explore.recommend_scores(model, model.P_[user], float(model.bu_[user]))
    top = explore.top_items(model, scores, rated_items[rated_users == user], args.n)
    titles = _titles(bundle)
    low, high = model.scale_
    for rank, code in enumerate(top, 1):
        score = min(max(float(scores[code]), low), high)
        row = {"rank": rank, "item": _plain(model.item_ids_[code]), "title": titles[code], "score": score}
        print(json.dumps(row) if args.json else f"{rank:3d}  {score:.3f}  {titles[code]}", flush=True)


def similar(args) -> None:
    """Print the ``-n`` items nearest to the item by cosine of item factors."""
    from .. import explore
    from ..models.persist import load_bundle
    bundle = load_bundle(args.model)
    model = bundle.model
    code = int(explore.item_codes(model, [args.item])[0])
    if code < 0:
        raise ValueError(f"item {args.item!r} is not in the model ({len(model.item_ids_)} items).")
    titles = _titles(bundle)
    if not args.json:
        print(f"items nearest to {titles[code]} (cosine of item factors)", flush=True)
    nearest = explore.similar_items(model, code, args.n, args.min_ratings)
    for rank, (other, cosine) in enumerate(nearest.itertuples(index=False), 1):
        row = {"rank": rank, "item": _plain(model.item_ids_[other]), "title": titles[other],
               "cosine": float(cosine)}
        print(json.dumps(row) if args.json else f"{rank:3d}  {cosine:.3f}  {titles[other]}", flush=True)
