"""Real browser on MovieLens 100K with titles and genres (skipped when absent): train the rating model,
then BPR and ALS from Explore; read the side-by-side top-10 for user 1 and for five animated films
rated 5 stars, the metrics chart and its reading, and the t-SNE map coloured by genre. Full-page
screenshots go to test-artifacts/explore-side-by-side.png, explore-metrics-chart.png,
explore-your-ratings-side-by-side.png and explore-tsne-genres.png."""

import re

import pytest
from mfcore.models.params import ALS_PARAMETERS, BPR_PARAMETERS
from conftest import (TABLE_TEXT, choose, full_page_screenshot, no_exception, start_when_asked, train_then_explore,
                      wait_idle)

ANIMATED = ("Toy Story (1995)", "Aladdin (1992)", "Lion King, The (1994)", "Beauty and the Beast (1991)",
            "Pocahontas (1995)")


@pytest.fixture
def ml100k_items(ml100k_path):
    return ml100k_path.parent / "u.item"


def train_ranking(page, kind: str) -> None:
    if not page.get_by_role("button", name=f"Train {kind.replace('ALS', 'BPR')}").is_visible():
        page.get_by_text("Ranking models on the same training ratings").click()
    page.get_by_text(kind, exact=True).first.click()
    wait_idle(page)
    page.get_by_role("button", name=f"Train {kind}").click()
    factors = {"BPR": BPR_PARAMETERS, "ALS": ALS_PARAMETERS}[kind]["n_factors"].default  # the form's default K
    start_when_asked(page, page.get_by_text(re.compile(rf"^{kind}: K = {factors}, \d+ epochs")), timeout=180_000)
    wait_idle(page)


def test_ranking_models_beside_the_rating_model_on_ml100k(streamlit_server, browser_page, ml100k_path,
                                                           ml100k_items):
    page = browser_page
    page.goto(streamlit_server)
    page.get_by_text("Upload a file").click()
    page.locator('input[type="file"]').nth(1).set_input_files(str(ml100k_items))  # titles first: no load yet
    wait_idle(page)
    page.locator('input[type="file"]').nth(0).set_input_files(str(ml100k_path))
    page.get_by_text(re.compile(r"Dataset in use: u\.data \+ u\.item")).wait_for(timeout=60_000)
    wait_idle(page)

    page.locator('[data-testid="stSidebarNav"] a', has_text="Train").click()
    train_then_explore(page)
    support_text = page.get_by_text(re.compile(r"^Minimum support \d+ ratings \(the mean number of training "
                                               r"ratings per item, \d+\).*It hides [\d,]+ of [\d,]+ rated items"))
    support = int(re.search(r"\d+", support_text.inner_text()).group())  # Train's split: 90,000 of 100,000
    train_ranking(page, "BPR")
    train_ranking(page, "ALS")
    no_exception(page)

    choose(page, "User (type to search)", "1")
    page.get_by_role("tab", name="Side by side").click()
    page.get_by_text("Top 10 for user 1, model by model").wait_for()
    page.wait_for_function(f"() => ({TABLE_TEXT})(0).length == 10")
    side = page.evaluate(TABLE_TEXT, 0)
    assert [row[0] for row in side] == [str(rank) for rank in range(1, 11)]
    assert all(len(row) == 5 and all(cell.strip() for cell in row) for row in side)
    full_page_screenshot(page, "explore-side-by-side.png")

    page.get_by_role("tab", name="Ranking metrics").click()
    page.get_by_text(re.compile(r"ranks best: NDCG@10 \d\.\d{3}")).first.wait_for(timeout=120_000)
    wait_idle(page)
    page.wait_for_function("() => Array.from(document.querySelectorAll('.js-plotly-plot'))"
                           ".some(plot => plot.offsetParent !== null && plot.data.length == 6)")
    page.wait_for_function(f"() => ({TABLE_TEXT})(0).length == 6")
    ranking = [[cell.replace("≥", ">=") for cell in row]  # a static table's Markdown draws ">=" as "≥"
               for row in page.evaluate(TABLE_TEXT, 0)]
    assert [row[0] for row in ranking] == ["rating model", f"rating model, support >= {support}", "BPR", "ALS",
                                           "popularity", "random"]
    ndcg = {row[0]: float(row[3]) for row in ranking}
    assert max(ndcg["BPR"], ndcg["ALS"]) > ndcg["popularity"] > ndcg["rating model"]
    full_page_screenshot(page, "explore-metrics-chart.png")

    page.get_by_role("tab", name="Your ratings").click()
    for title in ANIMATED:
        choose(page, "Item to rate (type to search)", title.split(" (")[0].split(",")[0])
        page.get_by_role("button", name="Add rating").click()
        wait_idle(page)
    no_exception(page)
    page.get_by_text("Your top 10, model by model").wait_for()
    page.wait_for_function(f"() => ({TABLE_TEXT})(0).length == 5 && ({TABLE_TEXT})(2).length == 10")
    mine = page.evaluate(TABLE_TEXT, 2)
    assert all(len(row) == 5 for row in mine)
    full_page_screenshot(page, "explore-your-ratings-side-by-side.png")

    page.get_by_role("tab", name="Map").click()
    page.locator('[data-testid="stRadio"]', has_text="Layout").get_by_text("t-SNE", exact=True).click()
    page.get_by_text(re.compile(r"Rating model: item factors, t-SNE")).wait_for(timeout=120_000)
    wait_idle(page)
    page.locator('[data-testid="stRadio"]', has_text="Lists and map of").get_by_text("ALS", exact=True).click()
    page.get_by_text(re.compile(r"ALS: item factors, t-SNE")).wait_for(timeout=120_000)
    wait_idle(page)
    no_exception(page)
    legend = page.evaluate("() => Array.from(document.querySelectorAll('.js-plotly-plot'))"
                           ".find(plot => plot.offsetParent !== null).data.map(t => [t.name, t.marker.color])")
    colours = [colour for name, colour in legend if name and not name.startswith(("several", "(none)"))]
    assert len(colours) >= 10 and len(set(colours)) == len(colours)  # one colour per genre
    full_page_screenshot(page, "explore-tsne-genres.png")
