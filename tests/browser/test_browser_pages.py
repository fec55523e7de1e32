"""Real browser, in a 1280 px window: what the pages show. Train with four runs of different lengths
(every run drawn whole on the overlay; the runs table fits without a sideways scroll), Explore's
tables (nothing clipped; clipped predictions marked and said), a bad link's message in the form's
words. Screenshots: test-artifacts/pages-*.png."""

import re

from conftest import (OVERFLOWING, TABLE_TEXT, choose, no_exception, screenshot_at, start_when_asked,
                      train_then_explore, wait_idle, wait_rows)

from dashboard.logic import run_driver, settings
from mfcore import SGDFactorizer, explore, load_ratings
from mfcore.models.params import ALS_PARAMETERS
from paths import ROOT

WIDTH = 1280
AXIS = "() => document.querySelector('.js-plotly-plot').layout.xaxis.range"
TRACES = "() => document.querySelector('.js-plotly-plot').data.map(t => [t.name, t.x.length])"


def open_train(page, server, query=""):
    page.set_viewport_size({"width": WIDTH, "height": 1000})
    page.goto(f"{server}/Train{query}")
    page.get_by_text("Dataset: bundled sample").wait_for()
    wait_idle(page)


def train_ranking(page, kind, label, epochs):
    page.get_by_text(label).click()
    page.get_by_text(f"{kind.upper()} learns from positives").wait_for()  # the kind's form replaced the old one
    wait_idle(page)
    page.get_by_role("button", name="Train", exact=True).click()
    start_when_asked(page, page.get_by_text(re.compile(rf"run \d+: epoch {epochs}/{epochs}, .*\(done in")),
                     timeout=240_000)
    wait_idle(page)


def test_four_runs_of_different_lengths_are_drawn_whole_and_the_table_fits(streamlit_server, browser_page):
    page = browser_page
    open_train(page, streamlit_server, "?n_epochs=14")
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text(re.compile(r"run 1: epoch 14/14, .*\(done in [\d.]+ s, [\d.]+ s of it training\)")).wait_for(
        timeout=120_000)
    wait_idle(page)
    epochs = page.get_by_role("slider", name="Epochs")
    epochs.focus()
    for _ in range(8):
        page.keyboard.press("ArrowLeft")
    page.get_by_role("spinbutton", name="Learning rate γ").fill("0.01")
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text(re.compile(r"run 2: epoch 6/6, .*\(done in")).wait_for(timeout=120_000)
    wait_idle(page)
    no_exception(page)
    traces = dict(page.evaluate(TRACES))
    assert traces["run 1 test"] == 14 and traces["run 2 test"] == 6  # the earlier, longer run whole
    assert page.evaluate(AXIS) == [0.5, 14.5]

    train_ranking(page, "bpr", "BPR (ranking; NDCG@10 curve)", 30)
    als_epochs = ALS_PARAMETERS["n_epochs"].default
    train_ranking(page, "als", "implicit ALS (ranking; NDCG@10 curve)", als_epochs)
    no_exception(page)
    traces = dict(page.evaluate(TRACES))
    assert traces == {"run 3 (BPR) test NDCG": 30, "run 4 (ALS) test NDCG": als_epochs}  # each run drawn whole
    assert page.evaluate(AXIS) == [0.5, 30.5]

    wait_rows(page, 4)
    header = page.evaluate("() => Array.from(document.querySelectorAll('[data-testid=stTable] thead th'))"
                           ".map(th => th.innerText.replace(/\\u2060/g, '').replace(/\\s+/g, ' ').trim())")  # as read
    assert header[:10] == ["run", "model", "status", "epochs", "best test RMSE", "best test NDCG@10",
                           "test recall at 10", "best epoch", "training s", "wall s"]
    assert "Learning rate γ" in header  # it differs between the runs
    rows = page.evaluate(TABLE_TEXT, 0)
    assert [row[3] for row in rows] == ["14/14", "6/6", "30/30", f"{als_epochs}/{als_epochs}"]
    assert page.evaluate(OVERFLOWING) == []  # no column behind a sideways scroll, no cell cut off
    page.get_by_text("training s: the model's own training time").wait_for()
    screenshot_at(page, "pages-train-four-runs.png", WIDTH)
    assert page.evaluate(OVERFLOWING) == []


def clipping_user() -> str:
    """The user of the bundled sample whose unrated items reach the highest predicted rating under the
    Train page's default run (the same split and settings): their top 10 holds clipped predictions."""
    ratings = load_ratings(ROOT / "sample_data" / "ratings.csv")
    train, _, _ = run_driver.prepare(ratings, settings.DEFAULTS)
    model = SGDFactorizer(**settings.model_params(settings.DEFAULTS)).fit(train)
    best = max(range(len(model.user_ids_)),
               key=lambda u: explore.recommend_scores(model, model.P_[u], float(model.bu_[u])).max())
    return str(model.user_ids_[best])


def test_explores_tables_show_everything_and_say_what_is_clipped(streamlit_server, browser_page):
    user = clipping_user()
    page = browser_page
    open_train(page, streamlit_server)
    train_then_explore(page)
    choose(page, "User (type to search)", user)
    page.get_by_text(f"Top 10 for user {user}", exact=True).wait_for()
    wait_idle(page)
    no_exception(page)
    header = page.evaluate("(index) => Array.from(Array.from(document.querySelectorAll('[data-testid=stTable]'))"
                           ".filter(table => table.offsetParent !== null)[index].querySelectorAll('thead th'))"
                           ".map(th => th.innerText.trim())", 1)
    recommended = [dict(zip(header, row)) for row in page.evaluate(TABLE_TEXT, 1)]
    assert len(recommended) == 10
    marked = [row for row in recommended if row["predicted"].endswith(" *")]
    assert marked and all(row["predicted"] == "5.000 *" for row in marked)
    page.get_by_text(re.compile(rf"{len(marked)} of these 10 predicted ratings are clipped to the rating "
                                r"scale \(1 to 5\)")).wait_for()
    assert all(row["because you rated"] for row in recommended)
    assert page.evaluate(OVERFLOWING) == []
    screenshot_at(page, "pages-explore-recommendations.png", WIDTH)

    page.get_by_role("tab", name="Similar items").click()
    page.get_by_text(re.compile(r"Nearest to .* by the cosine")).wait_for()
    wait_idle(page)
    assert len(page.evaluate(TABLE_TEXT, 0)) == 10
    assert page.evaluate(OVERFLOWING) == []
    screenshot_at(page, "pages-explore-similar.png", WIDTH)


def test_a_bad_link_says_what_is_wrong_in_the_forms_words(streamlit_server, browser_page):
    page = browser_page
    open_train(page, streamlit_server, "?n_factors=abc&lr=5&n_epochs=12")
    message = page.locator('[data-testid="stAlertContentError"]')
    message.get_by_text("Ignored link settings").wait_for()
    text = message.inner_text()
    assert ("Factors K='abc' (must be a whole number from 1 to 500); "
            "Learning rate γ='5' (must be a number from 0.0001 to 1).") in text
    assert "n_factors" not in text and "lr=" not in text
    assert re.search(r"[?&]n_epochs=12(&|$)", page.url) and re.search(r"[?&]n_factors=100(&|$)", page.url)
    screenshot_at(page, "pages-bad-link.png", WIDTH)

