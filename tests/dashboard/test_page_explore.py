"""AppTest of the Explore page: a Train run or an uploaded model file is explored: recommendations
with explanations, similar items, maps, ranking metrics and folded-in ratings; bad files are refused."""

import json

import numpy as np
from apptest_helpers import ROOT, TOY, no_exception, plain
from streamlit.testing.v1 import AppTest

from dashboard.server import datasets
from dashboard.logic import model_views as explore_view
from dashboard.server.run_record import Run
from mfcore import SGDFactorizer, explore, load_ratings, random_split
from mfcore.models.persist import load_bundle, model_bytes

SETTINGS = {"n_factors": 6, "lr": 0.01, "reg": 0.05, "n_epochs": 5, "engine": "numba", "test_size": 0.2,
            "seed": 0, "biased": True}


def explore_page() -> AppTest:
    return AppTest.from_file(str(ROOT / "pages" / "6_Explore.py"), default_timeout=60)


def with_toy_run(app: AppTest):
    """The session holds the toy dataset and one finished Train run on it (as Train leaves them)."""
    dataset = datasets.load("toy.csv", "toy.csv", TOY)
    train, test = random_split(dataset.ratings, SETTINGS["test_size"], seed=SETTINGS["seed"])
    model = SGDFactorizer(n_factors=6, n_epochs=5, lr=0.01).fit(train, test)
    app.session_state["dataset"] = dataset
    app.session_state["runs"] = [Run(1, dict(SETTINGS), dataset.name, dataset.path, model, test,
                                     status="done", history=list(model.history_))]
    return app, model, train, test


def frames(app: AppTest) -> list:
    """The page's tables in page order, but the side-by-side lists (:func:`sides`) and the counts
    under them (their first column is ``list``)."""
    return [element.value for element in app.table if "popularity" not in element.value.columns
            and element.value.columns[0] != "list"]


def sides(app: AppTest) -> list:
    """The side-by-side lists, model by model."""
    return [element.value for element in app.table if "popularity" in element.value.columns]


def test_without_a_model_it_says_what_to_do():
    app = explore_page().run()
    no_exception(app)
    assert "Train a model" in app.info[0].value


def test_a_run_is_explored():
    app, model, train, test = with_toy_run(explore_page())
    app.run()
    no_exception(app)
    assert app.radio(key="explore_source").value == "run 1"
    support = app.number_input(key="explore_support").value
    assert support == explore.min_support(np.bincount(train.items, minlength=train.n_items)) > 1
    app.selectbox(key="explore_user").set_value(list(model.user_ids_).index("Ana")).run()
    counts = dict(zip(model.item_ids_, np.bincount(train.items, minlength=train.n_items)))
    assert all(counts[title] >= support for title in frames(app)[1]["title"])
    app.number_input(key="explore_support").set_value(1).run()  # off: the model's own recommend
    rated, recommended, similar, ranking = frames(app)
    side = sides(app)[0]
    assert list(recommended["title"]) == list(model.recommend("Ana", 10)["item"])
    assert list(side.columns) == ["rank", "rating model", "popularity"]
    assert [cell.rsplit(" (", 1)[0] for cell in side["rating model"]] == list(recommended["title"])
    parts = recommended["μ + b_u + b_i"] + recommended["p_u · q_i"]
    predicted = recommended["predicted"].str.removesuffix(explore_view.CLIPPED_MARK).astype(float)
    assert np.allclose(np.clip(parts, *model.scale_), predicted, atol=1e-3)
    marked = recommended["predicted"].str.endswith(explore_view.CLIPPED_MARK)
    assert list(marked) == list((parts > model.scale_[1]) | (parts < model.scale_[0]))
    assert len(rated) == int((train.users == list(model.user_ids_).index("Ana")).sum())
    assert not set(rated["title"]) & set(recommended["title"])
    assert list(rated["rating"]) == sorted(rated["rating"], reverse=True)

    assert len(similar) == min(10, train.n_items - 1) and similar["cosine"].is_monotonic_decreasing

    # the toy scale is 2..5, so positives are >= 4.25 and no test rating is one (the sample's test below)
    assert list(ranking["model"]) == ["rating model", "popularity", "random"]
    assert any("nothing to rank" in plain(m.value) for m in app.markdown)
    bars = json.loads(app.get("plotly_chart")[1].proto.spec)["data"]
    assert [bar["name"] for bar in bars] == list(ranking["model"])

    app.radio(key="explore_map_method").set_value("PCA").run()
    app.selectbox(key="explore_map_pick_items").set_value(3).run()
    ringed = next(trace for trace in json.loads(app.get("plotly_chart")[0].proto.spec)["data"]
                  if trace.get("name") == "selected")
    neighbours = frames(app)[3]
    assert ringed["hovertext"][0] == model.item_ids_[3] and ringed["hovertext"][1:] == list(neighbours["title"])
    assert neighbours["cosine"].is_monotonic_decreasing and len(neighbours) == min(8, train.n_items - 1)
    app.radio(key="explore_map_kind").set_value("users").run()
    app.selectbox(key="explore_map_pick_users").set_value(0).run()
    users = frames(app)[3]
    assert list(users.columns) == ["user", "cosine"] and model.user_ids_[0] not in set(users["user"])

    assert "No ratings yet" in app.info[-1].value
    for title, stars in (("Glass Empire (1987)", 5.0), ("Stolen Journey (1976)", 2.0)):
        item = app.selectbox(key="explore_rate_item")
        item.set_value(int(np.flatnonzero(model.item_ids_ == title)[0]))
        app.slider(key="explore_rate_stars").set_value(stars)
        app = next(b for b in app.button if b.label == "Add rating").click().run()
    no_exception(app)
    mine, for_me = frames(app)[-2:]
    side = sides(app)[-1]
    assert list(mine["rating"]) == [5.0, 2.0]
    assert len(for_me) and not {"Glass Empire (1987)", "Stolen Journey (1976)"} & set(for_me["title"])
    assert [cell.rsplit(" (", 1)[0] for cell in side["rating model"]] == list(for_me["title"])


def test_an_uploaded_model_file_opens_and_a_bad_one_is_refused():
    ratings = load_ratings(TOY)
    train, test = random_split(ratings, 0.2, seed=0)
    model = SGDFactorizer(n_factors=4, n_epochs=3).fit(train, test)
    app = explore_page().run()
    app.radio(key="explore_source").set_value("Upload a model file").run()
    app.get("file_uploader")[0].set_value(("model.npz", model_bytes(model, train, test), "application/octet-stream"))
    app.run()
    no_exception(app)
    assert not app.error
    assert "K = 4" in app.caption[1].value
    assert list(frames(app)[-1]["model"])[::2] == ["rating model", "popularity"]
    raw = model_bytes(model, train, test)
    app.get("file_uploader")[0].set_value(("cut.npz", raw[: len(raw) // 2], "application/octet-stream"))
    app.run()
    no_exception(app)
    assert len(app.error) == 1 and "cut.npz" in app.error[0].value and "truncated" in app.error[0].value
    assert "K = 4" in app.caption[1].value  # the model opened before is kept


def test_the_model_file_of_a_train_run_reopens_the_same_model():
    app, model, train, test = with_toy_run(explore_page())
    run, dataset = app.session_state["runs"][0], app.session_state["dataset"]
    bundle = load_bundle(explore_view.run_file(run, dataset.ratings))
    users = np.repeat(model.user_ids_, len(model.item_ids_))
    items = np.tile(model.item_ids_, len(model.user_ids_))
    assert np.array_equal(bundle.model.predict(users, items), model.predict(users, items))
    assert np.array_equal(bundle.train.values, train.values) and np.array_equal(bundle.test.users, test.users)


def test_the_model_choice_follows_the_dataset_and_new_runs():
    """An uploaded model is forgotten when the dataset changes; a new run on it is picked (issue 19)."""
    ratings = load_ratings(TOY)
    train, test = random_split(ratings, 0.2, seed=0)
    uploaded = SGDFactorizer(n_factors=4, n_epochs=3).fit(train, test)
    app = explore_page().run()
    app.radio(key="explore_source").set_value("Upload a model file").run()
    app.get("file_uploader")[0].set_value(("model.npz", model_bytes(uploaded, train, test),
                                           "application/octet-stream"))
    app.run()
    assert "K = 4" in app.caption[1].value
    app, model, _, _ = with_toy_run(app)  # another dataset, and a run trained on it
    app.run()
    no_exception(app)
    assert app.radio(key="explore_source").value == "run 1"
    assert "K = 6" in app.caption[1].value
    app.radio(key="explore_source").set_value("Upload a model file").run()
    no_exception(app)
    assert "explore_file" not in app.session_state  # the old file's model is not shown
    assert app.info and "Train a model" in app.info[0].value
