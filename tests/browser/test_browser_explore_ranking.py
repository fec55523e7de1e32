"""Real browser on MovieLens 100K with titles and genres (skipped when absent): train the rating model,
then BPR and ALS from Explore; read the side-by-side top-10 for user 1 and for five animated films
rated 5 stars, the metrics chart and its reading (the map: test_browser_explore_map.py). Full-page
screenshots go to test-artifacts/explore-side-by-side.png, explore-metrics-chart.png and
explore-your-ratings-side-by-side.png."""

import re

from conftest import (TABLE_TEXT, choose, full_page_screenshot, no_exception, open_ml100k_with_titles, rate_items,
                      train_ranking, train_then_explore, wait_idle)

ANIMATED = ("Toy Story (1995)", "Aladdin (1992)", "Lion King, The (1994)", "Beauty and the Beast (1991)",
            "Pocahontas (1995)")


def test_ranking_models_beside_the_rating_model_on_ml100k(streamlit_server, browser_page, ml100k_path):
    page = browser_page
    open_ml100k_with_titles(page, streamlit_server, ml100k_path)

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

    rate_items(page, ANIMATED)
    page.wait_for_function(f"() => ({TABLE_TEXT})(0).length == 5 && ({TABLE_TEXT})(2).length == 10")
    mine = page.evaluate(TABLE_TEXT, 2)
    assert all(len(row) == 5 for row in mine)
    full_page_screenshot(page, "explore-your-ratings-side-by-side.png")
