"""Real browser: on the bundled sample, Train a rating model, then BPR and ALS from the model-kind choice;
the ranking runs draw their test NDCG@10 per epoch and all three kinds sit in the runs table.
Screenshot: test-artifacts/train-ranking.png."""

import re

from mfcore.models.params import ALS_PARAMETERS, BPR_PARAMETERS
from conftest import full_page_screenshot, no_exception, start_when_asked, wait_idle, wait_rows


def test_train_bpr_and_als_beside_a_rating_run(streamlit_server, browser_page):
    page = browser_page
    page.goto(f"{streamlit_server}/Train")
    page.get_by_text("Dataset: bundled sample").wait_for()
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text(re.compile(r"run \d+: epoch 20/20")).wait_for(timeout=120_000)
    wait_idle(page)
    for kind, label, epochs in (("bpr", "BPR (ranking; NDCG@10 curve)", BPR_PARAMETERS["n_epochs"].default),
                                ("als", "implicit ALS (ranking; NDCG@10 curve)", ALS_PARAMETERS["n_epochs"].default)):
        page.get_by_text(label).click()
        # the rerun has replaced the form (wait_idle alone can pass before the click's rerun starts, and
        # a click on the old form's Train is then lost: CI saw it)
        page.get_by_text(f"{kind.upper()} learns from positives").wait_for()
        wait_idle(page)
        page.get_by_role("button", name="Train", exact=True).click()
        start_when_asked(page, page.get_by_text(re.compile(rf"run \d+: epoch {epochs}/{epochs}, .*test NDCG@10 "
                                                           r"0\.\d{4}")), timeout=180_000)
        wait_idle(page)
        no_exception(page)
        traces = page.evaluate("() => document.querySelector('.js-plotly-plot').data"
                               ".map(t => [t.name, t.x.length])")
        assert traces[-1][0].endswith(f"({kind.upper()}) test NDCG") and traces[-1][1] == epochs
    wait_rows(page, 3)
    kinds = page.evaluate("() => Array.from(document.querySelectorAll('[data-testid=stTable] tbody tr'))"
                          ".map(row => row.querySelectorAll('td, th')[1].innerText)")
    assert kinds == ["rating MF", "BPR", "ALS"]
    full_page_screenshot(page, "train-ranking.png")
