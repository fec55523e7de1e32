"""The ``recommend`` and ``similar`` subcommands: read a model file and print its top items.

``python -m mfcore recommend MODEL.npz --user ID [-n 10] [--json]`` and
``python -m mfcore similar MODEL.npz --item ID [-n 10] [--min-ratings 0] [--json]``.
"""

from __future__ import annotations

import json

from . import explore
from .persist import load_bundle


def add_commands(commands, positive_int) -> None:
    """Add both subparsers to ``commands``; each sets ``args.run`` to its handler."""
    recommend = commands.add_parser("recommend", help="top-N items for a user of a saved model")
    recommend.add_argument("model", help="model file written by SGDFactorizer.save (.npz)")
    recommend.add_argument("--user", required=True, help="the user's id as in the rating file")
    recommend.add_argument("-n", type=positive_int, default=10, help="how many items")
    recommend.add_argument("--json", action="store_true", help="print JSON lines")
    similar = commands.add_parser("similar", help="items nearest to an item by cosine of factors")
    similar.add_argument("model", help="model file written by SGDFactorizer.save (.npz)")
    similar.add_argument("--item", required=True, help="the item's id as in the rating file")
    similar.add_argument("-n", type=positive_int, default=10, help="how many items")
    similar.add_argument("--min-ratings", type=int, default=0,
                         help="only items with at least this many training ratings")
    similar.add_argument("--json", action="store_true", help="print JSON lines")
    recommend.set_defaults(run=_recommend)
    similar.set_defaults(run=_similar)


def _titles(bundle):
    return explore.item_info(bundle.model.item_ids_, bundle.items)["title"].to_numpy()


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def _recommend(args) -> None:
    bundle = load_bundle(args.model)
    model = bundle.model
    user = explore.user_code(model, args.user)
    if user < 0:
        raise ValueError(f"user {args.user!r} is not in the model ({len(model.user_ids_)} users).")
    rated = model.rated_pairs()
    seen = rated[1][rated[0] == user]
    scores = explore.recommend_scores(model, model.P_[user], float(model.bu_[user]))
    top = explore.top_items(model, scores, seen, args.n)
    titles = _titles(bundle)
    low, high = model.scale_
    for rank, code in enumerate(top, 1):
        score = min(max(float(scores[code]), low), high)
        row = {"rank": rank, "item": _plain(model.item_ids_[code]), "title": titles[code], "score": score}
        print(json.dumps(row) if args.json else f"{rank:3d}  {score:.3f}  {titles[code]}", flush=True)


def _similar(args) -> None:
    bundle = load_bundle(args.model)
    model = bundle.model
    code = int(explore.item_codes(model, [args.item])[0])
    if code < 0:
        raise ValueError(f"item {args.item!r} is not in the model ({len(model.item_ids_)} items).")
    titles = _titles(bundle)
    if not args.json:
        print(f"items nearest to {titles[code]} (cosine of item factors)", flush=True)
    for rank, (other, cosine) in enumerate(explore.similar_items(model, code, args.n, args.min_ratings)
                                           .itertuples(index=False), 1):
        row = {"rank": rank, "item": _plain(model.item_ids_[other]), "title": titles[other],
               "cosine": float(cosine)}
        print(json.dumps(row) if args.json else f"{rank:3d}  {cosine:.3f}  {titles[other]}", flush=True)
