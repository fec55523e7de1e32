"""Real browser: an uploaded dataset and the session's runs survive a page reload, and a copied link
opened in a fresh browser context shows the same dataset and settings (issue 9)."""

import re

from conftest import ROOT, fresh_page, full_page_screenshot, no_exception, wait_idle, wait_rows

TOY = ROOT / "sample_data" / "toy.csv"
PLOT_TRACES = """() => Array.from(document.querySelectorAll('.js-plotly-plot'))
    .map(plot => plot.data.map(trace => trace.name))"""


def test_reload_and_copied_link_keep_dataset_runs_and_settings(streamlit_server, browser_page, _chromium):
    page = browser_page
    page.goto(streamlit_server)
    page.get_by_text("Upload a file").click()
    page.locator('input[type="file"]').first.set_input_files(str(TOY))
    page.get_by_text("Dataset in use: toy.csv").wait_for()
    wait_idle(page)
    key = re.search(r"[?&]data=([0-9a-f]{12})", page.url).group(1)

    page.locator('[data-testid="stSidebarNav"] a', has_text="Train").click()
    page.get_by_text("Dataset: toy.csv").wait_for()
    page.get_by_role("spinbutton", name="Learning rate γ").fill("0.02")
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("run 1: epoch 20/20").wait_for()
    wait_rows(page, 1)
    wait_idle(page)
    assert f"data={key}" in page.url and "lr=0.02" in page.url and re.search(r"session=[0-9a-f]{12}", page.url)
    link = page.url

    page.reload()
    page.get_by_text("Dataset: toy.csv").wait_for()
    wait_rows(page, 1)
    wait_idle(page)
    no_exception(page)
    page.wait_for_function(f"() => ({PLOT_TRACES})().flat().length > 0")  # the restored curves draw after the table
    assert page.evaluate(PLOT_TRACES) == [["run 1 train", "run 1 test"]]
    assert page.get_by_role("spinbutton", name="Learning rate γ").input_value() == "0.0200"
    full_page_screenshot(page, "train-after-reload.png")

    page.locator('[data-testid="stSidebarNav"] a').first.click()  # the home page
    page.get_by_text("Dataset in use: toy.csv").wait_for()
    wait_idle(page)
    assert f"data={key}" in page.url

    with fresh_page(_chromium) as other:
        other.goto(link)
        other.get_by_text("Dataset: toy.csv").wait_for()
        wait_idle(other)
        no_exception(other)
        assert other.get_by_role("spinbutton", name="Learning rate γ").input_value() == "0.0200"
        wait_rows(other, 1)
        full_page_screenshot(other, "train-copied-link.png")

        other.goto(f"{streamlit_server}/?data=0123456789ab")
        other.get_by_text("which this server no longer keeps").wait_for()
        other.get_by_text("Dataset in use: bundled sample").wait_for()
        no_exception(other)
