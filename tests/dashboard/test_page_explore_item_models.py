"""AppTest of Explore with the item-item models: EASE and item-kNN trained from the page (and EASE
joined from Train) sit in the side-by-side and Your ratings lists beside the factor models, never in
the lists-and-map choice (they have no factors); under the lists, the two numbers of every list and a
reading of which model personalises most that agrees with them."""

import json
import re

import numpy as np
import pandas as pd
from apptest_helpers import ROOT, no_exception, plain
from streamlit.testing.v1 import AppTest

from dashboard.logic import newuser_views as newuser
from dashboard.logic import ranking_views as rank
from dashboard.server import datasets
from dashboard.server.run_record import Run
from mfcore import EASE, SGDFactorizer, from_arrays, random_split
from mfcore.explore import list_numbers

SETTINGS = {"n_factors": 8, "lr": 0.01, "reg": 0.05, "n_epochs": 5, "engine": "numba", "test_size": 0.2,
            "seed": 0, "biased": True}


def sample_run(with_ease_run: bool = False, released: bool = False) -> tuple[AppTest, SGDFactorizer]:
    app = AppTest.from_file(str(ROOT / "pages" / "6_Explore.py"), default_timeout=120)
    dataset = datasets.load("ratings.csv", "ratings.csv", (ROOT / "sample_data" / "ratings.csv").read_bytes())
    train, test = random_split(dataset.ratings, SETTINGS["test_size"], seed=SETTINGS["seed"])
    model = SGDFactorizer(**{k: v for k, v in SETTINGS.items() if k != "test_size"}).fit(train, test)
    app.session_state["dataset"] = dataset
    runs = [Run(1, dict(SETTINGS), dataset.name, dataset.path, model, test, status="done",
                history=list(model.history_))]
    if with_ease_run:  # a Train run of EASE on the same split
        ease = EASE(reg=100.0)
        history = list(ease.fit_iter(train, test))
        runs.append(Run(2, {"kind": "ease", "reg": 100.0, "test_size": 0.2, "seed": 0}, dataset.name, dataset.path,
                        ease, test, status="done", history=history))
        if released:  # the session holds only its newest models: Explore fits it again, one step
            runs[-1].release_model()
    app.session_state["runs"] = runs
    return app, model


def tables(app: AppTest, column: str) -> list[pd.DataFrame]:
    shown = [element.value.rename(columns=plain) for element in app.table]
    return [table.apply(lambda c: c.map(plain) if c.dtype == object else c) for table in shown if column in table]


def check_reading(reading: str, numbers: pd.DataFrame) -> None:
    """The reading names the list(s) with the fewest most-rated items (no genres here) and every
    number it quotes is the table's."""
    shown = numbers[numbers["list"] != "popularity"]
    counts = {row["list"]: int(row[rank.POPULAR_COLUMN].split(" of ")[0]) for _, row in shown.iterrows()}
    fewest = [name for name, count in counts.items() if count == min(counts.values())]
    said = re.match(r"\*\*(.+) personalises? most for", reading).group(1)
    assert sorted(said.replace(" and ", ", ").split(", ")) == sorted(fewest)
    for name, count in counts.items():
        assert f"{name} {count}" in reading


def test_a_released_ease_run_is_fitted_again_to_join():
    app, _ = sample_run(with_ease_run=True, released=True)
    app.run()
    no_exception(app)
    assert not app.error
    assert any(plain(c.value).startswith("EASE: Regularization λ 100, one step (no epochs)") for c in app.caption)
    assert list(tables(app, "popularity")[0].columns) == ["rank", "rating model", "EASE", "popularity"]


def test_item_models_from_explore_and_train_join_the_lists_with_their_numbers():
    app, model = sample_run(with_ease_run=True)
    app.run()
    no_exception(app)
    assert app.radio(key="explore_source").options == ["run 1 (rating MF)", "Upload a model file"]  # no EASE run
    assert any(plain(c.value).startswith("EASE: Regularization λ 100, one step (no epochs)") for c in app.caption)
    app.radio(key="explore_rank_kind").set_value("item-kNN").run()
    assert [w.label for w in app.number_input if w.key.startswith("explore_item-kNN_")] == ["Neighbours k",
                                                                                         "Shrinkage h"]
    app.number_input(key="explore_item-kNN_n_neighbors").set_value(30)
    app = next(b for b in app.button if b.label == "Train item-kNN").click().run()
    no_exception(app)
    assert not app.error
    assert app.radio(key="explore_model").options == ["rating model"]  # no factors to map: lists only
    side = tables(app, "popularity")[0]
    assert list(side.columns) == ["rank", "rating model", "EASE", "item-kNN", "popularity"] and len(side) == 10
    numbers = tables(app, rank.POPULAR_COLUMN)[0]
    assert list(numbers["list"]) == ["rating model", "EASE", "item-kNN", "popularity"]
    assert rank.GENRE_COLUMN not in numbers  # the sample names no genres
    reading = next(plain(m.value) for m in app.markdown if "most for user" in plain(m.value))
    check_reading(plain(reading), numbers)

    for code in np.argsort(-np.bincount(model.rated_pairs()[1]), kind="stable")[:3]:  # three popular items
        app.selectbox(key="explore_rate_item").set_value(int(code))
        app = next(b for b in app.button if b.label == "Add rating").click().run()
    no_exception(app)
    mine = tables(app, "popularity")[-1]
    assert list(mine.columns) == ["rank", "rating model", "EASE", "item-kNN", "popularity"]
    rated = set(model.item_ids_[np.argsort(-np.bincount(model.rated_pairs()[1]), kind="stable")[:3]])
    assert not {cell.rsplit(" (", 1)[0] for column in mine.columns[1:] for cell in mine[column]} & rated
    numbers = tables(app, rank.POPULAR_COLUMN)[-1]
    reading = next(plain(m.value) for m in app.markdown if "most for you" in plain(m.value))
    check_reading(plain(reading), numbers)


def test_the_metrics_tab_measures_the_ranking_models_on_new_users_too():
    app, _ = sample_run(with_ease_run=True)
    app.run()
    app.slider(key="explore_k").set_value(10).run()
    app = next(b for b in app.button if b.label == "Measure on new users too").click().run()
    no_exception(app)
    assert not app.error
    charts = [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]
    chart = next(spec for spec in charts if "new users folded in" in spec["layout"]["title"]["text"])
    assert [bar["name"] for bar in chart["data"]] == [newuser.STANDARD, newuser.NEW_USERS]
    assert chart["data"][1]["x"] == ["EASE", "popularity"]  # the rating model is left out, said below
    standard, fresh = (dict(zip(bar["x"], bar["y"])) for bar in chart["data"])
    reading = next(plain(m.value) for m in app.markdown if plain(m.value).startswith("For new users")).replace("**", "")
    best = max(fresh, key=fresh.get)
    assert reading.startswith(f"For new users, {best} ranks best: NDCG@10 {fresh[best]:.3f}")
    assert f"EASE {standard['EASE']:.3f} → {fresh['EASE']:.3f}" in reading
    assert any("The rating model is left out" in plain(c.value) for c in app.caption)


def test_list_numbers_count_popular_and_genre_sharing_items():
    # items 0-3 rated by many users (popular), 4-5 by few; genres per item
    users = np.repeat(np.arange(6), 6)
    items = np.tile(np.arange(6), 6)
    keep = ~((items >= 4) & (users >= 2))
    train = from_arrays(users[keep], items[keep], np.full(int(keep.sum()), 4.0, np.float32))
    genres = ["Animation|Comedy", "Drama", "War", "Animation", "Drama|War", "Comedy"]
    found = list_numbers({"A": [1, 5], "B": [3, 4]}, train, known=[0], genres=genres)
    assert list(found["popular"]) == [2, 2]  # every item is among the 100 most-rated here
    assert list(found["genre"]) == [1.0, 1.0]  # Comedy for A's item 5, Animation for B's item 3
    none = list_numbers({"A": [1]}, train, known=[], genres=genres)
    assert np.isnan(none["genre"].iloc[0])


def test_the_reading_with_genres_is_computed_from_the_numbers():
    numbers = pd.DataFrame([
        {"model": "ALS", "length": 10, "popular": 4, "genre": 8.0},
        {"model": "EASE", "length": 10, "popular": 7, "genre": 7.0},
        {"model": "item-kNN", "length": 10, "popular": 10, "genre": 3.0},
        {"model": "popularity", "length": 10, "popular": 10, "genre": 0.0}])
    text = plain(rank.personal_reading(numbers, "you", "the 4 items you rated 4 or more"))
    assert text.startswith("**ALS personalises most for you**: 8 of its 10 share a genre with the 4 items you rated "
                           "4 or more and 4 are among the 100 most-rated items, the largest difference")
    assert "ALS 8 − 4 = +4; EASE 7 − 7 = +0; item-kNN 3 − 10 = -7" in text
    assert text.endswith("Popularity's own list: 0 and 10 of 10.")
    tied = numbers.assign(popular=[4, 3, 10, 10], genre=[8.0, 7.0, 3.0, 0.0])
    assert plain(rank.personal_reading(tied, "you", "x")).startswith("**ALS and EASE personalise most for you** (tied)")
    shown = rank.numbers_table(numbers)
    assert list(shown.columns) == ["list", rank.POPULAR_COLUMN, rank.GENRE_COLUMN]
    assert list(shown[rank.GENRE_COLUMN]) == ["8 of 10", "7 of 10", "3 of 10", "0 of 10"]
