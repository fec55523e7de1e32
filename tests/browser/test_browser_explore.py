"""Real browser: train on the bundled sample, open Explore, pick a user, rate three items and read the
recommendations folded in from them; then open the model file downloaded from Train on Explore."""

import re

from conftest import ARTIFACTS, TABLE_TEXT, choose, full_page_screenshot, no_exception, wait_idle


def test_train_then_explore_and_rate_three_items(streamlit_server, browser_page):
    page = browser_page
    page.goto(f"{streamlit_server}/Train")
    page.get_by_text("Dataset: bundled sample").wait_for()
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text(re.compile(r"run 1: epoch 20/20")).wait_for(timeout=60_000)
    wait_idle(page)
    with page.expect_download() as download:
        page.get_by_role("button", name="Model of run 1 (.npz, opens on Explore)").click()
    model_file = ARTIFACTS / "model_run1.npz"
    download.value.save_as(model_file)

    page.locator('[data-testid="stSidebarNav"] a', has_text="Explore").click()
    page.get_by_text("Rated by user").first.wait_for()
    wait_idle(page)
    no_exception(page)
    choose(page, "User (type to search)", "42")
    page.get_by_text("Top 10 for user 42", exact=True).wait_for()
    full_page_screenshot(page, "explore-recommendations.png")

    page.get_by_role("tab", name="Your ratings").click()
    page.get_by_text("No ratings yet").wait_for()
    for search, stars_left in (("Quiet", 0), ("Harbor", 0), ("Velvet", 6)):
        choose(page, "Item to rate (type to search)", search)
        slider = page.get_by_role("slider", name="Your rating")
        slider.focus()
        for _ in range(stars_left):
            page.keyboard.press("ArrowLeft")
        page.get_by_role("button", name="Add rating").click()
        wait_idle(page)
    no_exception(page)
    page.get_by_text(re.compile(r"Folded in 3 ratings and ranked [\d,]+ items in \d+ ms")).wait_for()
    wait_idle(page)
    page.wait_for_function(f"() => ({TABLE_TEXT})(0).length == 3 && ({TABLE_TEXT})(1).length == 10")
    mine, recommended = page.evaluate(TABLE_TEXT, 0), page.evaluate(TABLE_TEXT, 1)
    assert [row[0] for row in mine] == ["5", "5", "2"]
    assert all(search in row[1] for search, row in zip(("Quiet", "Harbor", "Velvet"), mine))
    assert [row[0] for row in recommended] == [str(rank) for rank in range(1, 11)]
    titles = [row[1] for row in recommended]
    assert len(set(titles)) == 10 and not {row[1] for row in mine} & set(titles)
    assert all(1 <= float(row[2].removesuffix(" *")) <= 5 for row in recommended)  # "*": clipped to the scale
    full_page_screenshot(page, "explore-your-ratings.png")

    page.get_by_role("tab", name="Map").click()
    page.wait_for_selector(".js-plotly-plot")
    page.locator('[data-testid="stRadio"]', has_text="Layout").get_by_text("t-SNE", exact=True).click()
    page.get_by_text(re.compile(r"Rating model: item factors, t-SNE: nearby points are neighbours")).wait_for(
        timeout=120_000)
    choose(page, "Show the neighbours of (or click a point)", "Quiet")
    page.get_by_text(re.compile(r"Nearest to Quiet")).wait_for()
    page.wait_for_function("() => document.querySelector('.js-plotly-plot').data.some(t => t.name == 'selected')")
    page.wait_for_function(f"() => ({TABLE_TEXT})(0).length == 8")
    full_page_screenshot(page, "explore-map.png")

    page.get_by_text("Upload a model file").click()
    page.locator('input[type="file"]').set_input_files(model_file)
    page.get_by_text(re.compile(r"^model_run1\.npz: K = 100, 1,000 users")).wait_for()
    page.get_by_role("tab", name="Ranking metrics").click()
    page.get_by_text(re.compile(r"NDCG@10 \d\.\d{3}")).first.wait_for()
    wait_idle(page)
    no_exception(page)
    page.wait_for_function(f"() => ({TABLE_TEXT})(0).length == 4")
    ranking = page.evaluate(TABLE_TEXT, 0)
    assert [row[0] for row in ranking][::2] == ["rating model", "popularity"]
    full_page_screenshot(page, "explore-ranking.png")
