"""Real browser (issue 18): two browser contexts open one session link and train at once; after a
reload of both, each shows the linked run and its own, and the link's owner still has exactly theirs:
no run is lost or overwritten."""

import re

from conftest import ROOT, no_exception, wait_idle, wait_rows

TOY = ROOT / "sample_data" / "toy.csv"
TABLE_TEXT = "() => document.querySelector('[data-testid=stTable] table').innerText"


def open_train(page, url: str) -> None:
    page.goto(url)
    page.get_by_text("Dataset: toy.csv").wait_for()
    wait_idle(page)


def test_two_contexts_on_one_link_train_at_once_and_reload_without_losing_a_run(
        streamlit_server, browser_page, _chromium):
    owner = browser_page
    owner.goto(streamlit_server)
    owner.get_by_text("Upload a file").click()
    owner.locator('input[type="file"]').first.set_input_files(str(TOY))
    owner.get_by_text("Dataset in use: toy.csv").wait_for()
    wait_idle(owner)
    owner.locator('[data-testid="stSidebarNav"] a', has_text="Train").click()
    owner.get_by_text("Dataset: toy.csv").wait_for()
    owner.get_by_role("button", name="Train", exact=True).click()
    owner.get_by_text("run 1: epoch 20/20").wait_for()
    wait_rows(owner, 1)
    wait_idle(owner)
    link = owner.url
    session = re.search(r"session=([0-9a-f]{12})", link).group(1)

    contexts = [_chromium.new_context(viewport={"width": 1400, "height": 1000}) for _ in range(2)]
    try:
        tabs = [context.new_page() for context in contexts]
        for tab, rate in zip(tabs, ("0.0123", "0.0321")):
            tab.set_default_timeout(60_000)
            open_train(tab, link)
            wait_rows(tab, 1)
            tab.get_by_role("spinbutton", name="Learning rate γ").fill(rate)
        for tab in tabs:  # both trainings start before either ends
            tab.get_by_role("button", name="Train", exact=True).click()
        for tab in tabs:
            tab.get_by_text("run 2: epoch 20/20").wait_for()
            wait_rows(tab, 2)
            wait_idle(tab)
        forks = [re.search(r"session=([0-9a-f]{12})", tab.url).group(1) for tab in tabs]
        assert len({session, *forks}) == 3, "each context trains in a session of its own"

        for tab in tabs:
            tab.reload()
            tab.get_by_text("Dataset: toy.csv").wait_for()
            wait_rows(tab, 2)
            wait_idle(tab)
            no_exception(tab)
        texts = [tab.evaluate(TABLE_TEXT) for tab in tabs]
        assert "0.0123" in texts[0] and "0.0321" not in texts[0]
        assert "0.0321" in texts[1] and "0.0123" not in texts[1]

        open_train(owner, link)  # the owner's link still holds exactly the owner's run
        wait_rows(owner, 1)
        no_exception(owner)
    finally:
        for context in contexts:
            context.close()
