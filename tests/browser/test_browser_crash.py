"""A server killed (SIGKILL) during a run keeps the run's curve: the run's epochs are appended to its
curve file as they end, so after a restart the link shows the run "interrupted at epoch N" with the N
points of its curve, the sentence and the chart drawn from the same record."""

import os
import re
import signal
import subprocess
import sys
import time

from conftest import (ARTIFACTS, ROOT, _free_port, fresh_page, full_page_screenshot, no_exception, start_when_asked,
                      wait_healthy, wait_idle)

TRACES = """() => Array.from(document.querySelectorAll('.js-plotly-plot'))
    .flatMap(plot => plot.data.map(trace => [trace.name, trace.x.length]))"""
TABLE_STATUS = """() => Array.from(document.querySelectorAll('[data-testid=stTable] table tbody tr td'))
    .map(cell => cell.innerText)"""


def start_server(store_dir, name):
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    ARTIFACTS.mkdir(exist_ok=True)
    log = open(ARTIFACTS / f"streamlit-{name}.log", "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "Home.py", "--server.headless", "true", "--server.port",
         str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "MFP_STORE_DIR": str(store_dir)})
    wait_healthy(process, url, 60, f"streamlit did not start; see {log.name}")
    return process, url


def curve_lines(store_dir) -> int:
    files = list(store_dir.glob("runs/*/0001.curve"))
    return sum(1 for line in files[0].read_text().split("\n") if line.strip()) if files else 0


def test_a_server_killed_mid_run_shows_the_run_interrupted_with_its_curve(tmp_path, _chromium):
    store_dir = tmp_path / "store"
    servers = [start_server(store_dir, "crash-1")]
    try:
        with fresh_page(_chromium, 60_000) as page:
            process, url = servers[0]
            page.goto(f"{url}/Train?engine=python&n_epochs=60")  # the python engine: about a second an epoch
            page.get_by_text("Dataset: bundled sample").wait_for()
            wait_idle(page)
            page.get_by_role("button", name="Train", exact=True).click()
            start_when_asked(page, page.get_by_text(re.compile(r"run 1: epoch \d+/60")))  # a long run asks first
            page.wait_for_function("() => /session=[0-9a-f]{12}/.test(location.href)")
            link = page.url
            deadline = time.monotonic() + 120
            while curve_lines(store_dir) < 3:  # a few epochs completed, then the kill within the next one
                assert time.monotonic() < deadline and process.poll() is None, "no epochs were written"
                time.sleep(0.05)
            time.sleep(0.3)
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
            epochs = curve_lines(store_dir)  # what the killed server had completed and written
            assert 3 <= epochs < 60

            servers.append(start_server(store_dir, "crash-2"))
            page.goto(re.sub(r"^http://127\.0\.0\.1:\d+", servers[1][1], link))
            page.get_by_text(f"run 1 was interrupted at epoch {epochs} of 60").wait_for()
            wait_idle(page)
            no_exception(page)
            page.wait_for_function(f"() => ({TRACES})().length >= 2")
            traces = dict(page.evaluate(TRACES))
            assert traces["run 1 train"] == traces["run 1 test"] == epochs  # the chart agrees with the sentence
            assert "interrupted" in page.evaluate(TABLE_STATUS)
            assert page.get_by_text(f"Its curve of those {epochs} epochs is kept below").count() == 1
            full_page_screenshot(page, "train-after-server-kill.png")
    finally:
        for process, _ in servers:
            process.kill()
            process.wait()
