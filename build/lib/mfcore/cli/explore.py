"""The ``recommend`` and ``similar`` subcommands: read a model file of any kind (``sgd``, ``bpr``,
``als``: :func:`mfcore.models.persist.load_bundle`) and print its top items, by title when the file
holds the items' titles.

A rating model (``sgd``) prints the predicted rating (clipped to the scale); a ranking model prints
its score (:math:`b_i + p_u^\top q_i`, a ranking score, not a rating) and, for an unknown user or one
without a training positive, its popularity list (the scoring contract of
:mod:`mfcore.models.ranking`).

``python -m mfcore recommend MODEL.npz --user ID [-n 10] [--json]`` and
``python -m mfcore similar MODEL.npz --item ID [-n 10] [--min-ratings 0] [--json]``.
"""

from __future__ import annotations

import argparse
import json

from .common import positive_int


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="model file of any kind (sgd, bpr, als) written by save / train --save "
                        "or downloaded from Train (.npz)")
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


def _is_ranking(model) -> bool:
    return hasattr(model, "score_codes")


def _print(rank: int, item, title: str, score: float, key: str, as_json: bool) -> None:
    row = {"rank": rank, "item": _plain(item), "title": title, key: float(score)}
    print(json.dumps(row) if as_json else f"{rank:3d}  {score:.3f}  {title}", flush=True)


def recommend(args) -> None:
    """Print the ``-n`` best items for the user among those they did not rate: the highest predicted
    ratings (``sgd``) or ranking scores (``bpr``, ``als``)."""
    from .. import explore
    from ..models.persist import load_bundle
    bundle = load_bundle(args.model)
    model = bundle.model
    user = explore.user_code(model, args.user)
    if user < 0:
        raise ValueError(f"user {args.user!r} is not in the model ({len(model.user_ids_)} users).")
    titles = _titles(bundle)
    if _is_ranking(model):
        top = model.recommend(model.user_ids_[user], n=args.n)
        codes = explore.item_codes(model, top["item"].tolist())
        for rank, (code, score) in enumerate(zip(codes, top["score"]), 1):
            _print(rank, model.item_ids_[code], titles[code], score, "score", args.json)
        return
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
    if _is_ranking(model):
        counts = explore.training_counts(model)
        found = model.similar_items(model.item_ids_[code], n=len(model.item_ids_))
        others = explore.item_codes(model, found["item"].tolist())
        keep = counts[others] >= args.min_ratings
        for rank, (other, cosine) in enumerate(zip(others[keep][:args.n], found["score"].to_numpy()[keep]), 1):
            _print(rank, model.item_ids_[other], titles[other], cosine, "cosine", args.json)
        return
    nearest = explore.similar_items(model, code, args.n, args.min_ratings)
    for rank, (other, cosine) in enumerate(nearest.itertuples(index=False), 1):
        row = {"rank": rank, "item": _plain(model.item_ids_[other]), "title": titles[other],
               "cosine": float(cosine)}
        print(json.dumps(row) if args.json else f"{rank:3d}  {cosine:.3f}  {titles[other]}", flush=True)
