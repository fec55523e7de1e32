"""Real-browser test of the Tune page: a 20-trial search on the bundled sample shows pruned trials in
its table, survives a reload, its best settings open on Train, and on a copied link (a new session)
"Explore it" trains them and opens Explore on that run."""

import re

from conftest import full_page_screenshot, no_exception, start_when_asked, wait_idle

CELLS = """() => Array.from(document.querySelectorAll('[data-testid=stDataFrame] table td'))
    .map(cell => cell.textContent)"""


def test_search_prunes_survives_a_reload_and_applies_the_best_settings(streamlit_server, browser_page, _chromium):
    page = browser_page
    page.goto(f"{streamlit_server}/Tune")
    page.get_by_text("Dataset: bundled sample").wait_for()
    page.get_by_label("Trials or seconds").fill("20")
    page.get_by_label("Max epochs: high").fill("20")  # cheaper trials: CI time
    page.get_by_label("Factors K (log): high").fill("64")
    page.get_by_role("button", name="Start search").click()
    start_when_asked(page, page.get_by_text(re.compile(r"Search finished: 20 trials")), timeout=120_000)
    wait_idle(page)
    no_exception(page)
    status = page.get_by_text(re.compile(r"Search finished: 20 trials")).inner_text()
    pruned = int(re.search(r"(\d+) pruned", status).group(1))
    assert pruned >= 1, status
    # the grid draws only the rows in view, and fills its cells after the script ends
    page.wait_for_function(f"() => {{ const cells = ({CELLS})(); "
                           "return cells.includes('pruned') && cells.includes('19'); }", timeout=30_000)
    page.get_by_text("Best configuration on the test set").wait_for()
    words = page.get_by_text(re.compile(r"^Best configuration \(trial")).inner_text()
    assert "Factors K" in words and "Learning rate γ" in words
    full_page_screenshot(page, "tune.png")

    assert "study=session-" in page.url
    link_to_search = page.url
    page.reload()  # the search is read back, not lost
    page.get_by_text(re.compile(r"Search finished: 20 trials")).wait_for(timeout=60_000)
    page.get_by_text("Best configuration on the test set").wait_for()
    wait_idle(page)
    no_exception(page)
    assert page.get_by_text(re.compile(r"^Best configuration \(trial")).inner_text() == words
    full_page_screenshot(page, "tune-reloaded.png")

    link = page.get_by_role("link", name="Train it")
    href = link.get_attribute("href")
    wanted = dict(pair.split("=") for pair in href.split("?", 1)[1].split("&"))
    link.click()
    page.get_by_role("button", name="Train", exact=True).wait_for()
    wait_idle(page)
    no_exception(page)
    assert "/Train" in page.url
    for name in ("n_factors", "lr", "reg", "n_epochs", "init_std", "biased", "seed", "test_size"):
        assert f"{name}={wanted[name]}" in page.url
    assert page.get_by_role("spinbutton", name="Learning rate γ").input_value() == f"{float(wanted['lr']):.4f}"
    assert page.get_by_role("spinbutton", name="Initial factor std").input_value() == f"{float(wanted['init_std']):.4f}"

    context = _chromium.new_context(viewport={"width": 1400, "height": 1000})  # a copied link: new session
    try:
        other = context.new_page()
        other.set_default_timeout(30_000)
        other.goto(link_to_search)
        other.get_by_text(re.compile(r"Search finished: 20 trials")).wait_for(timeout=60_000)
        other.get_by_role("button", name="Explore it").click()
        other.get_by_text(re.compile(r"What the model learned")).wait_for(timeout=120_000)
        wait_idle(other)
        no_exception(other)
        assert "/Explore" in other.url
        assert other.get_by_role("radio", name="run 1").is_checked()
        full_page_screenshot(other, "tune-explore-it.png")
    finally:
        context.close()


def test_a_ranking_searchs_train_it_opens_trains_bpr_form_filled(streamlit_server, browser_page):
    """Tune a BPR model briefly; its "Train it" link opens Train on the BPR form with the best
    settings filled in (screenshot: test-artifacts/tune-bpr-train-it.png, then train-bpr-from-tune.png)."""
    page = browser_page
    page.goto(f"{streamlit_server}/Tune")
    page.get_by_text("Dataset: bundled sample").wait_for()
    page.get_by_text("BPR (validation NDCG@10, maximised)").click()
    page.get_by_text(re.compile(r"judged on that validation NDCG@10")).wait_for()  # the BPR form replaced it
    wait_idle(page)
    for label, value in (("Trials or seconds", "3"), ("Max epochs: low", "2"), ("Max epochs: high", "3"),
                         ("Factors K (log): high", "16")):
        page.get_by_label(label).fill(value)
    page.get_by_role("button", name="Start search").click()
    start_when_asked(page, page.get_by_text(re.compile(r"Search finished: 3 trials")), timeout=120_000)
    wait_idle(page)
    no_exception(page)
    settings_line = page.get_by_text(re.compile(r"^Best BPR settings: ")).inner_text()
    factors = re.search(r"Factors K (\d+)", settings_line).group(1)
    epochs = re.search(r"Epochs (\d+)", settings_line).group(1)
    full_page_screenshot(page, "tune-bpr-train-it.png")
    page.get_by_role("link", name="Train it").click()
    page.get_by_role("button", name="Train", exact=True).wait_for()
    wait_idle(page)
    no_exception(page)
    assert page.get_by_role("radio", name="BPR (ranking; NDCG@10 curve)").is_checked()
    assert page.get_by_role("slider", name="Factors K").input_value() == factors
    assert page.get_by_role("slider", name="Epochs").input_value() == epochs
    full_page_screenshot(page, "train-bpr-from-tune.png")
