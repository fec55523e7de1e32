"""Real-browser test of the Tune page: a 20-trial search on the bundled sample shows pruned trials in
its table, then the best settings open on Train."""

import re

from conftest import full_page_screenshot, no_exception, wait_idle

CELLS = """() => Array.from(document.querySelectorAll('[data-testid=stDataFrame] table td'))
    .map(cell => cell.textContent)"""


def test_search_prunes_and_applies_the_best_settings_to_train(streamlit_server, browser_page):
    page = browser_page
    page.goto(f"{streamlit_server}/Tune")
    page.get_by_text("Dataset: bundled sample").wait_for()
    page.get_by_label("Trials or seconds").fill("20")
    page.get_by_label("max epochs: high").fill("20")  # cheaper trials: CI time
    page.get_by_label("factors K (log): high").fill("64")
    page.get_by_role("button", name="Start search").click()
    page.get_by_text(re.compile(r"Search finished: 20 trials")).wait_for(timeout=120_000)
    wait_idle(page)
    no_exception(page)
    status = page.get_by_text(re.compile(r"Search finished: 20 trials")).inner_text()
    pruned = int(re.search(r"(\d+) pruned", status).group(1))
    assert pruned >= 1, status
    cells = page.evaluate(CELLS)  # the grid draws only the rows in view
    assert "pruned" in cells and "19" in cells
    page.get_by_text("Best configuration on the test set").wait_for()
    full_page_screenshot(page, "tune.png")

    link = page.get_by_role("link", name="Open Train with the best settings")
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
    assert page.get_by_role("spinbutton", name="Initial factor std").input_value() == f"{float(wanted['init_std']):.3f}"
