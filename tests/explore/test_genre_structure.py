"""How much genre a map shows: the main genre of an item, nearest points, the neighbour share against
shuffled genres, and the verdict that says "no visible structure" when there is none."""

import numpy as np
import pytest

from mfcore.explore import embed


def test_the_main_genre_is_the_rarest_common_one_and_never_a_rare_tag():
    # 119 items with a genre: IMAX on 2 (1.7%, under MIN_GENRE_SHARE), Animation on 3 (2.5%)
    genres = (["Adventure|Animation|Children|IMAX", "Animation|Children", "Animation|Comedy"]
              + ["Drama|War"] * 5 + ["Children|Comedy"] * 10 + ["Drama"] * 40 + ["Comedy"] * 60 + ["", "IMAX"])
    main = embed.main_genres(genres)
    assert list(main[:3]) == ["Animation", "Animation", "Animation"]  # not IMAX, not Adventure (its only item)
    assert main[3] == "War" and main[8] == "Children" and main[18] == "Drama"
    assert main[-2] == "" and main[-1] == ""  # no genre; only a tag too rare to count
    assert "IMAX" not in set(main) and "Adventure" not in set(main)


def test_movielens_100k_main_genres(ml100k_path):
    from mfcore import load_ratings
    info = load_ratings(ml100k_path, items=ml100k_path.parent / "u.item").item_info.set_index("title")
    main = dict(zip(info.index, embed.main_genres(info["genres"].to_numpy())))
    assert main["Lion King, The (1994)"] == "Animation" and main["Schindler's List (1993)"] == "War"
    assert main["Toy Story (1995)"] == "Animation"


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_nearest_matches_a_brute_force_sort(metric):
    rng = np.random.default_rng(3)
    points = rng.normal(size=(700, 5))  # more than one block of 512
    rows = points / np.linalg.norm(points, axis=1, keepdims=True) if metric == "cosine" else points
    distance = ((rows[:, None, :] - rows[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(distance, np.inf)
    expected = np.argsort(distance, axis=1, kind="stable")[:, :4]
    assert np.array_equal(embed.nearest(points, 4, metric), expected)
    with pytest.raises(ValueError, match="metric == 'manhattan'"):
        embed.nearest(points, 4, "manhattan")


def test_neighbour_share_counts_labelled_points_only():
    points = np.array([[0.0, 0], [0.1, 0], [5, 5], [5.1, 5]])
    neighbours = embed.nearest(points, 1)
    assert embed.neighbour_share(neighbours, np.array(["a", "a", "b", ""], dtype=object)) == pytest.approx(2 / 3)
    assert np.isnan(embed.neighbour_share(neighbours, np.array(["", "", "", ""], dtype=object)))


def test_planted_genre_clusters_are_visible_and_a_random_layout_is_not():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.array(["Drama", "Comedy", "War", "Horror"], dtype=object), 100)
    centres = {"Drama": (0, 0), "Comedy": (6, 0), "War": (0, 6), "Horror": (6, 6)}
    clustered = np.array([centres[label] for label in labels]) + rng.normal(size=(400, 2))
    found = embed.genre_structure(clustered, labels)
    assert found.share > 0.9 and found.shuffled == pytest.approx(0.25, abs=0.03) and found.visible
    assert found.points == found.labelled == 400 and found.k == embed.NEIGHBOURS
    assert embed.genre_structure(clustered, labels) == found  # seeded
    blob = embed.genre_structure(rng.normal(size=(400, 2)), labels)
    assert not blob.visible and blob.lift < embed.CLEAR_LIFT


def test_a_weak_but_real_excess_is_not_called_visible():
    """A share above every shuffle but under CLEAR_LIFT times the shuffled one is still no visible
    structure: the rule needs both."""
    weak = embed.GenreStructure(share=0.30, shuffled=0.25, shuffled_max=0.27, points=400, labelled=400, k=10)
    assert weak.lift == pytest.approx(1.2) and not weak.visible
    assert not embed.GenreStructure(0.45, 0.25, 0.27, 400, 400, 10).visible  # 1.8 times: a blob to the eye
    clear = embed.GenreStructure(share=0.55, shuffled=0.25, shuffled_max=0.27, points=400, labelled=400, k=10)
    assert clear.visible
    lucky = embed.GenreStructure(share=0.55, shuffled=0.25, shuffled_max=0.56, points=400, labelled=400, k=10)
    assert not lucky.visible
    with pytest.raises(ValueError, match="3 labels for 4 points"):
        embed.genre_structure(np.zeros((4, 2)), np.array(["a", "b", "c"], dtype=object))
