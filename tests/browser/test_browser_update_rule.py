"""Real browser: the Update rule page steps through three updates, and every number it displays is
the one mfcore's UpdateStepper computes for the same step; the Error schedules page draws its curves."""

import contextlib
import re

from conftest import ROOT, full_page_screenshot, start_when_asked, wait_idle

from playwright.sync_api import TimeoutError as PlaywrightTimeout

from mfcore import load_ratings
from mfcore.teaching import UpdateStepper

SUMMARY = re.compile(r"Step (\d+) \(epoch (\d+), rating (\d+) of (\d+)\): user (.+?) \(u = (\d+)\) rated "
                     r"(.+?) \(i = (\d+)\) r = (\S+); prediction (\S+), error (\S+)\.")


def _table_row(page, table: int, row: str, expected: list[str]) -> list[str]:
    """The row's cells, polled for up to 10 s until they read `expected`: the summary line is replaced
    before the tables below it, so a table can still hold the previous step for a moment."""
    cells = page.locator('[data-testid="stTable"]').nth(table).locator("tbody tr", has_text=row).first
    cells.locator("td").first.wait_for()
    shown = []
    for _ in range(100):
        shown = [text.strip() for text in cells.locator("td").all_inner_texts()][:len(expected)]
        if shown == expected:
            break
        page.wait_for_timeout(100)
    return shown


def _four(values) -> list[str]:
    return [f"{float(value):.4f}" for value in values]


def test_three_updates_show_mfcores_numbers(streamlit_server, browser_page):
    page = browser_page
    page.goto(f"{streamlit_server}/Update_rule")
    page.get_by_role("button", name="Next update").wait_for()
    expected = UpdateStepper(load_ratings(ROOT / "sample_data" / "toy.csv"), n_factors=3, lr=0.05,
                             reg=0.02, seed=0)
    for step in (1, 2, 3):
        page.get_by_role("button", name="Next update").click()
        page.get_by_text(f"Step {step} (epoch 1").wait_for()
        wait_idle(page)
        record = expected.step()
        text = page.locator('[data-testid="stMarkdownContainer"]', has_text=f"Step {step} (epoch").inner_text()
        found = SUMMARY.search(" ".join(text.split()))
        assert found, text
        (shown_step, epoch, position, n, user, u, item, i, rating, prediction, error) = found.groups()
        assert (int(shown_step), int(epoch), int(position), int(n)) == (step, 1, step, 50)
        assert (user, int(u), item, int(i)) == (record.user, record.u, record.item, record.i)
        assert float(rating) == record.rating
        assert prediction == f"{record.prediction:.4f}" and error == f"{record.error:.4f}"
        for table, row, values in ((0, "before", record.p_old), (0, "after", record.p_new),
                                   (1, "after", record.q_new), (2, "b_u", [record.bu_old, record.bu_new])):
            assert _table_row(page, table, row, _four(values)) == _four(values), (step, row)
        assert page.locator(".katex").count() >= 6
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator(".js-plotly-plot").count() == 4
    full_page_screenshot(page, "update_rule.png")


# each drawn chart's curve names, the "x diverged" markers left out
CURVES = """() => Array.from(document.querySelectorAll('.js-plotly-plot'))
    .map(plot => (plot.data ?? []).map(trace => trace.name).filter(name => !name.endsWith(' diverged')))"""


def test_error_schedules_page_draws_four_curves(streamlit_server, browser_page):
    page = browser_page
    page.goto(f"{streamlit_server}/Error_schedules")
    page.get_by_role("button", name="Run all four schedules").click()
    start_when_asked(page, page.get_by_text("Per second:"), timeout=60_000)
    wait_idle(page)
    expected = [["per-rating", "per-factor", "per-epoch", "funk"]] * 2
    with contextlib.suppress(PlaywrightTimeout):  # Plotly draws after the script run: poll, then assert
        page.wait_for_function(f"(expected) => JSON.stringify(({CURVES})()) === JSON.stringify(expected)",
                               arg=expected)
    assert page.evaluate(CURVES) == expected
    assert page.get_by_text("68.3 GB").count() == 1
    assert page.locator('[data-testid="stException"]').count() == 0
    full_page_screenshot(page, "error_schedules.png")


def test_bprs_pairwise_step_shows_the_steppers_numbers(streamlit_server, browser_page):
    from mfcore.teaching import BPRStepper

    page = browser_page
    page.goto(f"{streamlit_server}/Update_rule")
    page.get_by_text("Beside it: BPR's pairwise step, for ranking").wait_for()
    wait_idle(page)
    expected = BPRStepper(load_ratings(ROOT / "sample_data" / "toy.csv"), n_factors=3, lr=0.05, reg=0.02, seed=0)
    for steps in (1, 2):
        page.get_by_role("button", name="Next BPR step").click()
        page.get_by_text(re.compile(rf"^{steps} BPR steps done")).wait_for()
        wait_idle(page)
        record = expected.step()
    text = page.locator('[data-testid="stMain"]').inner_text()
    assert f"(u = {record.u}) liked" in text and f"(j = {record.j})" in text
    shown = " ".join(page.locator(".katex-mathml annotation").all_text_contents())
    assert f"= {record.x_uij:.4f}" in shown and f"z = 1 - \\sigma(\\hat x_{{uij}}) = {record.z:.4f}" in shown
    assert page.locator('[data-testid="stException"]').count() == 0
    full_page_screenshot(page, "update_rule_bpr.png")
