"""Real browser: three runs on Train (rating MF, BPR, ALS), a reload, and Explore offers all three; the
newest is restored on arrival and picking run 1 restores it, each with its sentence and progress bar
while its model trains again. Screenshot: test-artifacts/explore-run1-restored.png."""

import re

from conftest import full_page_screenshot, no_exception, wait_idle, wait_rows

RECORD = """() => {
    window.restoring = [];
    const patterns = [/The model of run \\d+ is not held on the server[^\\n]*/, /retraining run \\d+[^\\n]*/];
    const record = () => {
        const text = document.body.innerText;
        for (const pattern of patterns) {
            const found = text.match(pattern);
            if (found && !window.restoring.includes(found[0])) window.restoring.push(found[0]);
        }
    };
    new MutationObserver(record).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""
"""Keeps every restore sentence and progress line the page shows, however briefly (set before a click)."""


def train_three_runs(page) -> None:
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("run 1: epoch 20/20").wait_for(timeout=120_000)
    wait_idle(page)
    for number, kind, label in ((2, "BPR", "BPR (ranking; NDCG@10 curve)"),
                                (3, "ALS", "implicit ALS (ranking; NDCG@10 curve)")):
        page.get_by_text(label).click()
        page.get_by_text(f"{kind} learns from positives").wait_for()  # the kind's form replaced the old one
        wait_idle(page)
        page.get_by_role("button", name="Train", exact=True).click()
        page.get_by_text(re.compile(rf"run {number}: epoch (\d+)/\1, .*test NDCG@10 0\.\d{{4}}")).wait_for(
            timeout=180_000)
        wait_idle(page)
    wait_rows(page, 3)
    no_exception(page)


def test_explore_offers_every_run_after_a_reload_and_restores_run_1(streamlit_server, browser_page):
    page = browser_page
    page.goto(f"{streamlit_server}/Train")
    page.get_by_text("Dataset: bundled sample").wait_for()
    train_three_runs(page)

    page.reload()  # the session's runs come back from the store, without their models
    page.get_by_text("Dataset: bundled sample").wait_for()
    wait_rows(page, 3)
    wait_idle(page)
    page.evaluate(RECORD)
    page.locator('[data-testid="stSidebarNav"] a', has_text="Explore").click()
    for text in ("run 3 (ALS)", "run 2 (BPR)", "run 1 (rating MF)", "Upload a model file"):
        page.get_by_text(text, exact=True).wait_for()
    page.get_by_text(re.compile(r"^run 3: K = \d+")).wait_for(timeout=120_000)  # the newest, restored
    wait_idle(page)
    no_exception(page)

    page.get_by_text("run 1 (rating MF)", exact=True).click()
    page.get_by_text(re.compile(r"^run 1: K = \d+, [\d,]+ users x [\d,]+ items")).wait_for(timeout=120_000)
    wait_idle(page)
    no_exception(page)
    page.get_by_text("Top 10 for user", exact=False).first.wait_for()
    seen = page.evaluate("() => window.restoring")
    for number in (3, 1):
        assert (f"The model of run {number} is not held on the server (it was restored after a reload or opened "
                "from a link, which keeps curves, not models): training it again with its settings, split and "
                "seed, which gives the same factors.") in seen
        assert any(line.startswith(f"retraining run {number}") for line in seen), seen
    assert page.get_by_text("is not held on the server").count() == 0  # the sentence goes once trained
    assert "DeltaGenerator" not in page.inner_text("body")  # no stray value written by Streamlit's magic
    full_page_screenshot(page, "explore-run1-restored.png")
