"""Real-browser test: `streamlit run` driven by headless Chromium. Uploads a CSV, trains, stops a run,
times the engines, and saves screenshots to test-artifacts/ for a human to look at."""

import re
import time

import numpy as np
import pandas as pd
from conftest import ARTIFACTS, ROOT, full_page_screenshot, no_exception, start_when_asked, wait_idle, wait_rows

from mfcore import ENGINES, SGDFactorizer

TOY = ROOT / "sample_data" / "toy.csv"
PLOTLY_TRACES = """() => Array.from(document.querySelectorAll('.js-plotly-plot'))
    .map(plot => plot.data.map(trace => [trace.name, trace.x.length]))"""
def test_upload_train_and_compare(streamlit_server, browser_page):
    page = browser_page
    page.goto(streamlit_server)
    page.get_by_text("Dataset in use: bundled sample").wait_for()
    page.get_by_text("Upload a file").click()
    page.locator('input[type="file"]').first.set_input_files(str(TOY))  # the ratings uploader
    page.get_by_text("Dataset in use: toy.csv").wait_for()
    wait_idle(page)
    no_exception(page)
    full_page_screenshot(page, "home.png")

    page.locator('[data-testid="stSidebarNav"] a', has_text="Train").click()
    page.get_by_text("Dataset: toy.csv").wait_for()
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("run 1: epoch 20/20").wait_for()
    page.get_by_text("Runs in this session").wait_for()
    wait_idle(page)
    no_exception(page)
    assert page.evaluate(PLOTLY_TRACES) == [[["run 1 train", 20], ["run 1 test", 20]]]
    wait_rows(page, 1)
    assert re.search(r"[?&]n_epochs=20(&|$)", page.url) and "engine=numba" in page.url

    page.get_by_role("spinbutton", name="Learning rate γ").fill("0.02")
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("run 2: epoch 20/20").wait_for()
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length == 1 && "
                           "document.querySelector('.js-plotly-plot').data.length == 3")
    wait_rows(page, 2)
    wait_idle(page)
    assert "lr=0.02" in page.url
    full_page_screenshot(page, "train.png")

    with page.expect_download() as download:
        page.get_by_role("button", name="Factors of run 2 (.npz)").click()
    factors = np.load(download.value.path(), allow_pickle=False)
    assert factors["P"].shape == (8, SGDFactorizer().n_factors) and list(factors["user_ids"])[0] == "Ana"
    with page.expect_download() as download:
        page.get_by_role("button", name="Run history (CSV)").click()
    assert list(pd.read_csv(download.value.path())["run"]) == [1] * 20 + [2] * 20


def test_twenty_epochs_on_the_sample_take_seconds(streamlit_server, browser_page):
    """Generous bounds (the machine is shared): the target is a first point within 2 s."""
    page = browser_page
    page.goto(f"{streamlit_server}/Train")
    page.get_by_text("Dataset: bundled sample").wait_for()
    page.wait_for_selector(".js-plotly-plot")
    start = time.perf_counter()
    page.get_by_role("button", name="Train", exact=True).click()
    page.wait_for_function(f"() => ({PLOTLY_TRACES})().flat().some(t => t[0] == 'run 1 test')")
    first_point = time.perf_counter() - start
    page.get_by_text("run 1: epoch 20/20").wait_for()
    wait_rows(page, 1)
    total = time.perf_counter() - start
    (ARTIFACTS / "train-timing.txt").write_text(f"first point {first_point:.2f} s, 20 epochs {total:.2f} s\n")
    assert first_point < 5 and total < 15, (first_point, total)


def test_stop_keeps_the_partial_curve(streamlit_server, browser_page):
    page = browser_page
    page.goto(f"{streamlit_server}/Train?engine=python&n_epochs=200&n_factors=10")
    page.get_by_text("Dataset: bundled sample").wait_for()
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text(re.compile(r"This run should take about .* Start it\?")).wait_for()  # asked before it starts
    wait_idle(page)
    assert page.evaluate(PLOTLY_TRACES) == [[]]  # nothing trained yet
    page.get_by_role("button", name=re.compile(r"^Start \(")).click()
    page.wait_for_function(f"() => ({PLOTLY_TRACES})().flat().some(t => t[0] == 'run 1 test' && t[1] >= 2)",
                           timeout=60_000)
    page.get_by_role("button", name="Stop training").click()
    page.get_by_text(re.compile(r"run 1 stopped after epoch \d+")).wait_for()
    wait_idle(page)
    no_exception(page)
    done = int(re.search(r"stopped after epoch (\d+)", page.content()).group(1))
    assert 2 <= done < 200
    assert page.evaluate(PLOTLY_TRACES) == [[["run 1 train", done], ["run 1 test", done]]]
    last_point = page.evaluate("() => document.querySelector('.js-plotly-plot').data[1].y.at(-1)")
    scored = float(re.search(r"test RMSE (\d\.\d+)", page.get_by_text("stopped after epoch").inner_text()).group(1))
    assert scored == round(last_point, 4)  # the model scored and exported is the one of the last epoch
    wait_rows(page, 1)
    full_page_screenshot(page, "train-stopped.png")


def test_speed_page(streamlit_server, browser_page):
    page = browser_page
    page.goto(f"{streamlit_server}/Speed")
    page.get_by_role("spinbutton", name="Time budget per engine (s)").fill("0.2")
    page.get_by_role("button", name="Time engines").click()
    start_when_asked(page, page.get_by_text("Same factors: max |python - numba|"), timeout=60_000)
    if "cython" in ENGINES:
        page.get_by_text("Was Cython worth it?").wait_for()
    wait_idle(page)
    no_exception(page)
    page.wait_for_selector(".js-plotly-plot")
    full_page_screenshot(page, "speed.png")
    assert len(page.evaluate(PLOTLY_TRACES)) == 1
