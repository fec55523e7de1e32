"""Fold in a new user who gave 5 stars to five animated films and print every ranking model's top-10.

    python benchmarks/fold_in_animation.py [--data FOLDER[,FOLDER...]] [--model itemknn,ease,als,bpr]

For each MovieLens folder (default: the shared ML-100k, whose ``u.item`` gives titles and genres, and
ML-1M with ``movies.dat``; any folder ``mfcore.load_ratings`` reads with titles and genres works),
fits each model with its defaults on all ratings, folds in Toy Story, Aladdin, The Lion King, Beauty
and the Beast and A Bug's Life at 5 stars (those of the five the data has: a title is matched
without its year's spelling differences, "Lion King, The (1994)" or "The Lion King (1994)") through
``recommend_new``, and prints the top-10 with genres and two numbers: how many carry an animated or
children's genre (Animation, Children's or Children) and the popular share (the share of the list
among the data's 100 most-rated items).

The rule checked on every folder: mfcore ALS's animated/children's count is at least item-kNN's and
its popular share at most item-kNN's; the exit status is 1 when it fails on any folder.
"""

from __future__ import annotations

import os
import argparse
import re
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = Path(os.environ.get("MF_SHARED_DATA") or ROOT.parent / "shared" / "data")

LIKED = ("Toy Story (1995)", "Aladdin (1992)", "Lion King, The (1994)", "Beauty and the Beast (1991)",
         "Bug's Life, A (1998)")
FAMILY = ("Animation", "Children's", "Children")
POPULAR = 100


def canonical(title: str) -> str:
    """A title without case, its leading or trailing article and punctuation: 'The Lion King (1994)'
    and 'Lion King, The (1994)' meet."""
    text = title.strip().lower()
    year = re.search(r"\((\d{4})\)\s*$", text)
    text = re.sub(r"\(\d{4}\)\s*$", "", text).strip()
    text = re.sub(r",\s*(the|a|an)$", "", text)
    text = re.sub(r"^(the|a|an)\s+", "", text)
    return re.sub(r"[^a-z0-9]+", " ", text).strip() + (f" {year.group(1)}" if year else "")


def models(names: list[str]) -> dict:
    from mfcore import ALSFactorizer, BPRFactorizer, EASE, ItemKNN
    table = {"itemknn": ("item-kNN", ItemKNN), "ease": ("EASE", EASE), "als": ("mfcore ALS", ALSFactorizer),
             "bpr": ("mfcore BPR", BPRFactorizer)}
    return {table[name][0]: table[name][1] for name in names}


def run_folder(folder: Path, names: list[str]) -> dict | None:
    """Every model's (family count, popular share) on one folder, printed with the lists."""
    from mfcore import load_ratings
    ratings = load_ratings(folder)
    if ratings.item_info is None or "genres" not in ratings.item_info:
        print(f"{folder}: no titles and genres beside the ratings: skipped.")
        return None
    info = ratings.item_info.set_axis(ratings.item_ids)
    keys = {canonical(str(t)): item for item, t in zip(info.index, info["title"])}
    ids = [keys[canonical(t)] for t in LIKED if canonical(t) in keys]
    missing = [t for t in LIKED if canonical(t) not in keys]
    counts = np.bincount(ratings.items, minlength=ratings.n_items)
    popular = set(ratings.item_ids[np.argsort(-counts, kind="stable")[:POPULAR]].tolist())
    print(f"\n== {folder}: {len(ratings):,} ratings, {ratings.n_users:,} users, {ratings.n_items:,} items; new user: "
          f"{len(ids)} films at 5 stars" + (f" (not in the data: {', '.join(missing)})" if missing else ""))
    found = {}
    for label, cls in models(names).items():
        start = time.perf_counter()
        try:
            model = cls().fit(ratings)
        except ValueError as exc:  # the item-item models' memory guard on a large catalogue
            print(f"\n{label}: {exc}")
            continue
        top = model.recommend_new(ids, [5] * len(ids), n=10)
        family = shared = 0
        print(f"\n{label} (defaults, fitted in {time.perf_counter() - start:.1f} s):")
        for rank, item in enumerate(top["item"], 1):
            genres = str(info.loc[item, "genres"])
            hit = any(g in FAMILY for g in genres.split("|"))
            family += hit
            shared += item in popular
            marks = ("*" if hit else " ") + ("P" if item in popular else " ")
            print(f"  {rank:2d}. {marks} {info.loc[item, 'title']}  [{genres}]")
        share = shared / max(1, len(top))
        print(f"  {family} of {len(top)} animated or children's (*); popular share {share:.1f} (P: among the "
              f"{POPULAR} most-rated)")
        found[label] = (family, share)
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=f"{DATA / 'ml-100k'},{DATA / 'ml-1m'}")
    parser.add_argument("--model", default="itemknn,ease,als,bpr")
    args = parser.parse_args(argv)
    names = args.model.split(",")
    failed = False
    verdicts = []
    for text in args.data.split(","):
        folder = Path(text)
        if not folder.exists():
            print(f"{folder} is absent: skipped.")
            continue
        found = run_folder(folder, names)
        if not found or "mfcore ALS" not in found or "item-kNN" not in found:
            continue
        (als_family, als_share), (knn_family, knn_share) = found["mfcore ALS"], found["item-kNN"]
        ok = als_family >= knn_family and als_share <= knn_share
        failed |= not ok
        verdicts.append(f"{folder.name}: mfcore ALS {als_family} animated/children's, popular share {als_share:.1f}; "
                        f"item-kNN {knn_family}, {knn_share:.1f} -> {'met' if ok else 'NOT met'}")
    print("\n" + "\n".join(verdicts))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
