"""Fold-in is right: folding in a training user's own positives gives back (nearly) their vector and
their recommendations; on MovieLens 1M five animated films fold into a family top-10."""

from __future__ import annotations

import numpy as np
import pytest

from mfcore.models.als import ALSFactorizer
from mfcore.models.bpr import BPRFactorizer
from paths import SHARED_DATA

ML100K = SHARED_DATA / "ml-100k" / "u.data"
ML1M = SHARED_DATA / "ml-1m"
LIKED = ("Toy Story (1995)", "Aladdin (1992)", "Lion King, The (1994)", "Beauty and the Beast (1991)",
         "Bug's Life, A (1998)")
FAMILY = ("Animation", "Children's")


def refold_overlap(model, ratings, users) -> tuple[float, float]:
    """Mean top-10 overlap and mean cosine between each training user's recommendations / vector and
    those of a new user folded in from the same positives."""
    overlaps, cosines = [], []
    rated = model._rated_index()[0]
    for u in users:
        mine = rated.indices[rated.indptr[u]:rated.indptr[u + 1]]
        positives = ratings.items[(ratings.users == u) & (ratings.values >= model.positive_threshold_)]
        vector = model.fold_in(ratings.item_ids[positives])
        theirs = model.P_[u]
        cosines.append(float(vector @ theirs / (np.linalg.norm(vector) * np.linalg.norm(theirs))))
        trained = set(model.recommend(ratings.user_ids[u])["item"])
        folded = set(model._top(model.vector_scores(vector), mine, 10)["item"])
        overlaps.append(len(trained & folded) / 10)
    return float(np.mean(overlaps)), float(np.mean(cosines))


@pytest.mark.skipif(not ML100K.exists(), reason=f"MovieLens 100k is not at {ML100K}")
@pytest.mark.parametrize("cls, overlap, cosine", [(ALSFactorizer, 0.95, 0.99), (BPRFactorizer, 0.5, 0.8)])
def test_folding_in_a_training_users_positives_gives_back_their_recommendations(cls, overlap, cosine):
    from mfcore.data import load_ratings

    ratings = load_ratings(ML100K)
    model = cls(n_threads=1).fit(ratings)
    users = np.arange(0, ratings.n_users, 47)
    found_overlap, found_cosine = refold_overlap(model, ratings, users)
    assert found_overlap >= overlap and found_cosine >= cosine, (found_overlap, found_cosine)


@pytest.mark.skipif(not (ML1M / "movies.dat").exists(), reason=f"MovieLens 1M with movies.dat is not at {ML1M}")
def test_five_animated_films_fold_into_a_family_top_10():
    from mfcore.data import load_ratings

    ratings = load_ratings(ML1M)
    info = ratings.item_info.set_axis(ratings.item_ids)
    ids = [info.index[info["title"] == title][0] for title in LIKED]
    model = ALSFactorizer().fit(ratings)
    top = model.recommend_new(ids, [5] * len(ids), n=10)
    genres = [info.loc[item, "genres"].split("|") for item in top["item"]]
    assert all(info.loc[item, "title"] for item in top["item"])  # every item has its title
    assert sum(any(g in FAMILY for g in found) for found in genres) >= 5, list(info.loc[top["item"], "title"])
