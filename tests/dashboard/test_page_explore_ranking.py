"""AppTest of Explore's ranking side on the bundled sample: BPR and ALS trained from the page (the
shared scheduler), their lists beside the rating model's and popularity's, the metrics chart and its
reading, the minimum support's sentence, the t-SNE map coloured by genre."""

import html
import json

import numpy as np
from pandas.api.types import is_numeric_dtype
from apptest_helpers import ROOT, no_exception, plain
from streamlit.testing.v1 import AppTest

from dashboard.server import datasets
from dashboard.server.run_record import Run
from mfcore import BPRFactorizer, SGDFactorizer, random_split

SETTINGS = {"n_factors": 8, "lr": 0.01, "reg": 0.05, "n_epochs": 5, "engine": "numba", "test_size": 0.2,
            "seed": 0, "biased": True}


def sample_run() -> tuple[AppTest, SGDFactorizer]:
    app = AppTest.from_file(str(ROOT / "pages" / "6_Explore.py"), default_timeout=120)
    raw = (ROOT / "sample_data" / "ratings.csv").read_bytes()
    dataset = datasets.load("ratings.csv", "ratings.csv", raw)
    train, test = random_split(dataset.ratings, SETTINGS["test_size"], seed=SETTINGS["seed"])
    model = SGDFactorizer(**{k: v for k, v in SETTINGS.items() if k != "test_size"}).fit(train, test)
    app.session_state["dataset"] = dataset
    app.session_state["runs"] = [Run(1, dict(SETTINGS), dataset.name, dataset.path, model, test,
                                     status="done", history=list(model.history_))]
    return app, model


def genre_run() -> tuple[AppTest, SGDFactorizer]:
    """A run on planted data with genres: 300 users, each liking the 20 items of one of six genres
    (four of them also tagged Drama; two items tagged IMAX too, a tag under 2% of the items)."""
    import pandas as pd

    from mfcore import from_arrays

    rng = np.random.default_rng(1)
    genres = ["Animation", "War", "Horror", "Western", "Musical", "Sci-Fi"]
    item_genre = np.repeat(np.arange(6), 20)
    users, items, values = [], [], []
    for user in range(300):
        liked = np.flatnonzero(item_genre == user % 6)
        for item in rng.choice(liked, 12, replace=False):
            users.append(user), items.append(int(item)), values.append(float(rng.integers(4, 6)))
        for item in rng.choice(np.flatnonzero(item_genre != user % 6), 6, replace=False):
            users.append(user), items.append(int(item)), values.append(float(rng.integers(1, 4)))
    text = [genres[g] + ("|Drama" if g < 4 else "") + ("|IMAX" if item in (0, 40) else "")
            for item, g in enumerate(item_genre)]
    info = pd.DataFrame({"title": [f"Film {item}" for item in range(120)], "genres": text}, index=range(120))
    ratings = from_arrays(users, items, values).with_items(info, "planted")
    dataset = datasets.Dataset("planted genres", "-", "-", ratings)
    app = AppTest.from_file(str(ROOT / "pages" / "6_Explore.py"), default_timeout=120)
    train_set, test = random_split(ratings, SETTINGS["test_size"], seed=SETTINGS["seed"])
    model = SGDFactorizer(**{k: v for k, v in SETTINGS.items() if k != "test_size"}).fit(train_set, test)
    app.session_state["dataset"] = dataset
    app.session_state["runs"] = [Run(1, dict(SETTINGS), dataset.name, dataset.path, model, test,
                                     status="done", history=list(model.history_))]
    return app, model


def frame(app: AppTest, columns: set):
    """The first table holding ``columns``, its headers and text as the reader sees them (escaping undone)."""
    tables = (element.value.rename(columns=plain).apply(lambda column: column.map(plain)
                                                       if not is_numeric_dtype(column) else column)
              for element in app.table)
    return next(table for table in tables if columns <= set(table.columns))


def train(app: AppTest, kind: str, epochs: int) -> AppTest:
    app.radio(key="explore_rank_kind").set_value(kind).run()
    app.number_input(key=f"explore_{kind}_n_factors").set_value(16)
    app.number_input(key=f"explore_{kind}_n_epochs").set_value(epochs)
    return next(b for b in app.button if b.label == f"Train {kind}").click().run()


def test_ranking_models_trained_on_explore_sit_beside_the_rating_model():
    app, model = sample_run()
    app.run()
    no_exception(app)
    support = app.number_input(key="explore_support").value
    assert any(f"Minimum support {support} ratings (the mean number of training ratings per item" in plain(c.value)
               and "It hides" in plain(c.value) for c in app.caption)
    app = train(app, "BPR", 5)
    app = train(app, "ALS", 3)
    no_exception(app)
    assert not app.error
    assert sum("K = 16" in plain(c.value) for c in app.caption) == 2
    assert app.radio(key="explore_model").options == ["rating model", "BPR", "ALS"]

    side = frame(app, {"rank", "popularity"})
    assert list(side.columns) == ["rank", "rating model", "BPR", "ALS", "popularity"] and len(side) == 10
    ranking = frame(app, {"model", "NDCG@10"}).rename(columns={"NDCG@10": "ndcg"})
    assert list(ranking["model"]) == ["rating model", f"rating model, support >= {support}", "BPR", "ALS",
                                      "popularity", "random"]
    bars = next(json.loads(chart.proto.spec)["data"] for chart in app.get("plotly_chart")
                if json.loads(chart.proto.spec)["data"][0]["type"] == "bar")
    assert [html.unescape(bar["name"]) for bar in bars] == list(ranking["model"])  # Plotly shows entities as text
    assert bars[2]["y"][0] == ranking.loc[2, "ndcg"]
    best = ranking.loc[ranking["model"] != "random"].sort_values("ndcg", ascending=False)["model"].iloc[0]
    said = "Popularity" if best == "popularity" else best
    assert any(plain(m.value).startswith(f"{said} ranks best: NDCG@10 {ranking['ndcg'].max():.3f}")
               for m in app.markdown)

    app.radio(key="explore_model").set_value("ALS").run()  # the lists of ALS
    no_exception(app)
    assert "ALS's top 10 for user" in [h.value for h in app.subheader][1]
    assert app.radio(key="explore_map_method").value == "PCA"  # instant; t-SNE is asked for
    app = app.radio(key="explore_map_method").set_value("t-SNE").run()
    app = app.radio(key="explore_map_model_rating model_BPR_ALS").set_value("ALS").run()  # the map of ALS
    spec = json.loads(app.get("plotly_chart")[0].proto.spec)
    assert spec["layout"]["title"]["text"].startswith("ALS: item factors, t-SNE")
    shown = [plain(m.value) for m in app.markdown]
    assert "These items have no genres, so groups on this map are not measured." in shown
    assert not any(plain(c.value).startswith("The map opens on") for c in app.caption)  # the sample has no genres
    app = app.radio(key="explore_map_kind").set_value("users").run()
    assert any(plain(m.value).startswith("Users have no genre, so whether groups") for m in app.markdown)
    app = app.radio(key="explore_map_kind").set_value("items").run()

    for code in np.argsort(-np.bincount(model.rated_pairs()[1]), kind="stable")[:3]:  # three popular items
        app.selectbox(key="explore_rate_item").set_value(int(code))
        app = next(b for b in app.button if b.label == "Add rating").click().run()
    no_exception(app)
    mine = [element.value for element in app.table if "popularity" in element.value.columns][-1]
    assert list(mine.columns) == ["rank", "rating model", "BPR", "ALS", "popularity"] and len(mine) == 10
    rated = set(model.item_ids_[np.argsort(-np.bincount(model.rated_pairs()[1]), kind="stable")[:3]])
    assert not {cell.rsplit(" (", 1)[0] for column in mine.columns[1:] for cell in mine[column]} & rated


def test_train_runs_of_bpr_with_the_same_split_join_and_the_memory_guard_refuses_in_one_sentence(monkeypatch):
    app, model = sample_run()
    run = app.session_state["runs"][0]
    dataset = app.session_state["dataset"]
    train_set, test = random_split(dataset.ratings, SETTINGS["test_size"], seed=SETTINGS["seed"])
    bpr = BPRFactorizer(n_factors=8, n_epochs=2, n_threads=1).fit(train_set)
    other_split = BPRFactorizer(n_factors=8, n_epochs=1, n_threads=1).fit(train_set)
    app.session_state["runs"] = [
        run, Run(2, {"kind": "bpr", "test_size": 0.2, "seed": 0}, dataset.name, dataset.path, bpr, test,
                 status="done", history=list(bpr.history_)),
        Run(3, {"kind": "bpr", "test_size": 0.3, "seed": 0}, dataset.name, dataset.path, other_split, test,
            status="done", history=list(other_split.history_))]
    app.run()
    no_exception(app)
    assert app.radio(key="explore_source").options == ["run 3 (BPR)", "run 2 (BPR)", "run 1 (rating MF)",
                                                       "Upload a model file"]  # every run, newest first
    app.radio(key="explore_source").set_value("run 1").run()
    assert app.radio(key="explore_model").options == ["rating model", "BPR"]
    assert any("BPR: K = 8, 2 epochs" in plain(c.value) for c in app.caption)  # run 2 (same split), not run 3

    monkeypatch.setenv("MF_MEMORY_CAP_BYTES", "1000")
    app = train(app, "ALS", 2)
    no_exception(app)
    assert len(app.error) == 1 and plain(app.error[0].value).startswith("ALS was not trained: training ALS K=16")
    assert app.radio(key="explore_model").options == ["rating model", "BPR"]


def test_a_long_ranking_training_on_explore_asks_first(monkeypatch):
    from dashboard.logic import long_work
    monkeypatch.setattr(long_work, "WARN_SECONDS", 0.0)
    app, _ = sample_run()
    app.run()
    app = train(app, "ALS", 2)
    no_exception(app)
    assert any(w.value.startswith("Training ALS should take about") and w.value.endswith("Start it?")
               for w in app.warning)
    assert app.radio(key="explore_model").options == ["rating model"]  # nothing trained yet
    app = next(b for b in app.button if b.label.startswith("Start (")).click().run()
    no_exception(app)
    assert app.radio(key="explore_model").options == ["rating model", "ALS"] and not app.warning


def test_the_map_opens_on_the_factors_with_the_most_genre_and_its_sentence_is_measured_on_it():
    from dashboard.logic import map_views
    from mfcore import explore
    from mfcore.explore import embed

    app, model = genre_run()
    app = train(app.run(), "ALS", 3)
    no_exception(app)
    subject = app.session_state["explore_subject"][1]
    support = app.number_input(key="explore_support").value
    mapped = {"rating model": model, "ALS": app.session_state["explore_ranking_models"][1]["ALS"]}
    main = embed.main_genres(subject.info["genres"].to_numpy())
    assert (main != "").any() and "IMAX" not in set(main)
    measured = {}
    for name, fitted in mapped.items():  # the choice: each model's item factors, by cosine
        codes = map_views.map_codes(subject, "items", fitted.Q_, "PCA", support)
        measured[name] = embed.genre_structure(fitted.Q_[codes], main[codes], metric="cosine")
    radio = app.radio(key="explore_map_model_rating model_ALS")
    best = max(measured, key=lambda name: measured[name].share)
    assert radio.value == best
    assert any(plain(c.value).startswith(f"The map opens on {best}'s factors") and
               all(f"{name} {found.share:.0%}" in plain(c.value) for name, found in measured.items())
               for c in app.caption)

    for method in ("PCA", "t-SNE"):
        app = app.radio(key="explore_map_method").set_value(method).run()
        for name in mapped:
            app = app.radio(key="explore_map_model_rating model_ALS").set_value(name).run()
            no_exception(app)
            factors = mapped[name].Q_
            codes = map_views.map_codes(subject, "items", factors, method, support)
            coords = explore.tsne_2d(factors[codes]) if method == "t-SNE" else explore.project_2d(factors[codes])[0]
            found = embed.genre_structure(coords, main[codes])  # on the map drawn, as a reader sees it
            sentence = map_views.structure_sentence(found)
            assert sentence in [plain(m.value) for m in app.markdown]
            assert ("no visible genre structure" in sentence) == (not found.visible)
            assert f"{found.share:.0%} share its main genre, against {found.shuffled:.0%}" in sentence
            traces = json.loads(app.get("plotly_chart")[0].proto.spec)["data"]
            named = [t for t in traces if t.get("marker", {}).get("color") not in map_views.GREYS.values()
                     and t.get("name") != "selected"]
            assert 1 <= len(named) <= len(map_views.GENRE_PALETTE)
            assert len({t["marker"]["color"] for t in named}) == len(named)
            counts = [int(html.unescape(t["name"]).rsplit("(", 1)[1].rstrip(")")) for t in traces]
            assert sum(counts) == len(codes)  # every drawn item in one legend group
