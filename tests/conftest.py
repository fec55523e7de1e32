"""Shared fixtures: a live `streamlit run` server and a headless Chromium page driven by Playwright."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import io
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

# Tests keep the dashboard's dataset and runs store (dashboard/store.py) in a directory of their own.
os.environ.setdefault("MFP_STORE_DIR", tempfile.mkdtemp(prefix="mfp-test-store-"))

from paths import ROOT, SHARED_DATA

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def wait_healthy(process: subprocess.Popen, url: str, seconds: float, failure: str) -> None:
    """Poll ``url``'s health endpoint until it answers; fail the test with ``failure`` when
    ``process`` exits or ``seconds`` pass first."""
    deadline = time.monotonic() + seconds
    while not _healthy(url):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(failure)
        time.sleep(0.2)


@pytest.fixture(scope="session")
def streamlit_server():
    """Base URL of `streamlit run Home.py` on a free port, started once per session and killed after."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    ARTIFACTS.mkdir(exist_ok=True)
    log = open(ARTIFACTS / "streamlit-server.log", "wb")
    command = [sys.executable, "-m", "streamlit", "run", "Home.py", "--server.headless", "true",
               "--server.port", str(port), "--server.address", "127.0.0.1",
               "--browser.gatherUsageStats", "false"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.monotonic() + 60
        while not _healthy(url):
            if process.poll() is not None:
                pytest.fail(f"streamlit exited with {process.returncode}; see {log.name}")
            if time.monotonic() > deadline:
                pytest.fail(f"streamlit not healthy after 60 s; see {log.name}")
            time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture(scope="session")
def _chromium():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is absent; CI installs it with apt (.ci/run)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """Under pytest-xdist (``make test`` runs ``-n 2``) the browser tests are one unit of work: one
    worker runs them all, in file order, on its one Streamlit server and Chromium, so they never race
    each other for the machine; the other tests go one by one to whichever worker is free."""
    from xdist.scheduler import LoadScopeScheduling

    class BrowserTestsTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return "tests/browser/" if nodeid.startswith("tests/browser/") else nodeid

    return BrowserTestsTogether(config, log)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.call_failed = report.failed
    return report


@pytest.fixture
def browser_page(_chromium, request):
    """A fresh Playwright page (1400x1000) in headless Chromium; screenshots go to test-artifacts/,
    including ``failed-<test>.png`` when the test fails."""
    ARTIFACTS.mkdir(exist_ok=True)
    context = _chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    if getattr(request.node, "call_failed", False):
        page.screenshot(path=str(ARTIFACTS / f"failed-{request.node.name}.png"))
    context.close()


@contextlib.contextmanager
def fresh_page(chromium, timeout: int = 30_000):
    """A page in a new browser context (1400x1000): another browser session, with no cookie or state of
    the others, as a copied link opened elsewhere; the context is closed on exit."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.set_default_timeout(timeout)
        yield page
    finally:
        context.close()


def _shared_file(relative: str) -> Path:
    path = SHARED_DATA / relative
    if not path.is_file():
        pytest.skip(f"{path} is absent (MovieLens is research-licensed and never shipped; see README)")
    return path


@pytest.fixture(scope="session")
def sample_path() -> Path:
    """The bundled synthetic sample (100k ratings)."""
    return ROOT / "sample_data" / "ratings.csv"


@pytest.fixture(scope="session")
def ml100k_path() -> Path:
    return _shared_file("ml-100k/u.data")


@pytest.fixture(scope="session")
def ml1m_path() -> Path:
    return _shared_file("ml-1m/ratings.dat")


def wait_idle(page):
    """Wait until the script run has ended: no running indicator, no stale elements left."""
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=60_000)
    page.wait_for_function("() => !document.querySelector('[data-stale=true]')", timeout=60_000)


def no_exception(page):
    assert page.locator('[data-testid="stException"]').count() == 0


# resolves after the second animation frame from now: the page has been laid out and painted at the
# window's current size
TWO_FRAMES = "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"


def full_page_screenshot(page, name: str) -> None:
    """A screenshot of the whole app into test-artifacts/ (the app scrolls inside its own container,
    so the window grows to the page's height first, and the shot waits until the page is drawn at that size)."""
    height = page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollHeight")
    page.set_viewport_size({"width": 1400, "height": max(1000, min(height + 100, 4000))})
    page.evaluate(TWO_FRAMES)
    page.screenshot(path=str(ARTIFACTS / name))
    page.set_viewport_size({"width": 1400, "height": 1000})


# --- shared builders for engine and kernel tests ------------------------------------------------


def random_ratings(n_users=40, n_items=50, n_ratings=1500, seed=0):
    """``(users, items, ratings)``: ``n_ratings`` distinct (user, item) pairs drawn uniformly, int32
    codes and ratings 1..5 as float32."""
    import numpy as np

    rng = np.random.default_rng(seed)
    keys = rng.choice(n_users * n_items, n_ratings, replace=False)
    users, items = np.divmod(keys, n_items)
    return users.astype(np.int32), items.astype(np.int32), rng.integers(1, 6, n_ratings).astype(np.float32)


def cli(*args, cwd=ROOT) -> subprocess.CompletedProcess:
    """``python -m mfcore *args`` in a fresh process (text output captured, 300 s at most)."""
    return subprocess.run([sys.executable, "-m", "mfcore", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def uniform_ratings(n_users, n_items, n_ratings):
    """A :class:`mfcore.Ratings` of ``n_ratings`` uniform draws of (user, item) codes (repeats allowed)
    and ratings 1..5, seed 0: the shape the memory estimates are checked on."""
    import numpy as np

    from mfcore import Ratings

    rng = np.random.default_rng(0)
    return Ratings(rng.integers(0, n_users, n_ratings).astype(np.int32),
                   rng.integers(0, n_items, n_ratings).astype(np.int32),
                   rng.integers(1, 6, n_ratings).astype(np.float32),
                   np.arange(n_users), np.arange(n_items), (1.0, 5.0))


def model_state(n_users, n_items, n_factors=6, dtype=None, seed=1, mu=3.0):
    """Keyword arguments ``mu, bu, bi, P, Q`` of a kernel call: factors N(0, 0.1), biases 0."""
    import numpy as np

    dtype = dtype or np.float32
    rng = np.random.default_rng(seed)
    return dict(mu=dtype(mu), bu=np.zeros(n_users, dtype), bi=np.zeros(n_items, dtype),
                P=rng.normal(0, 0.1, (n_users, n_factors)).astype(dtype),
                Q=rng.normal(0, 0.1, (n_items, n_factors)).astype(dtype))


TABLE_ROWS = """() => Array.from(document.querySelectorAll('[data-testid=stTable] table'))
    .map(table => table.querySelectorAll('tbody tr').length)"""


# the data grids (st.dataframe) of the open tab only (the others are hidden): the row count, and each
# row as its cells' texts
GRID_ROWS = """(index) => (Array.from(document.querySelectorAll('[data-testid=stDataFrame]'))
    .filter(frame => frame.offsetParent !== null)[index]?.querySelectorAll('table tbody tr') ?? []).length"""
GRID_TEXT = """(index) => Array.from(Array.from(document.querySelectorAll('[data-testid=stDataFrame]'))
    .filter(frame => frame.offsetParent !== null)[index]
    .querySelectorAll('table tbody tr')).map(row => Array.from(row.querySelectorAll('td')).map(c => c.innerText))"""


def choose(page, label: str, text: str):
    """Type ``text`` into the searchable selectbox ``label`` and take the first match."""
    box = page.get_by_role("combobox", name=label)
    box.click()
    page.keyboard.type(text)
    page.get_by_role("option").first.wait_for()
    page.keyboard.press("Enter")
    wait_idle(page)


def rate_items(page, titles) -> None:
    """On Explore's "Your ratings" tab, rate each of ``titles`` (searched by its name before any
    year or comma) at the slider's default, the top of the scale."""
    page.get_by_role("tab", name="Your ratings").click()
    for title in titles:
        choose(page, "Item to rate (type to search)", title.split(" (")[0].split(",")[0])
        page.get_by_role("button", name="Add rating").click()
        wait_idle(page)
    no_exception(page)
    page.get_by_text("Your top 10, model by model").wait_for()


def wait_rows(page, rows):
    """Wait until the runs table shows ``rows`` rows (the grid draws after the script ends)."""
    page.wait_for_function(f"() => ({TABLE_ROWS})()[0] == {rows}")


# the static tables (st.table) of the open tab only: each one's rows of cell texts (row headers included)
TABLE_TEXT = """(index) => Array.from(Array.from(document.querySelectorAll('[data-testid=stTable]'))
    .filter(table => table.offsetParent !== null)[index]
    ?.querySelectorAll('tbody tr') ?? [])
    .map(row => Array.from(row.querySelectorAll('th, td')).map(c => c.innerText))"""

# every visible static table, its frame and every element inside it that could scroll or clip sideways: the
# ones whose content is wider than their box ([] when nothing is cut off or hidden behind a scroll)
OVERFLOWING = """() => Array.from(document.querySelectorAll('[data-testid=stTable]'))
    .filter(table => table.offsetParent !== null)
    .flatMap(table => [table, table.parentElement, ...table.querySelectorAll('*')])
    .filter(el => el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0)
    .map(el => [el.tagName, el.getAttribute('data-testid'), el.innerText.slice(0, 40), el.scrollWidth,
                el.clientWidth])"""


def screenshot_at(page, name: str, width: int) -> None:
    """A screenshot of the whole app ``width`` pixels wide into test-artifacts/ (the window grows to
    the page's height first, then returns to ``width`` x 1000)."""
    page.set_viewport_size({"width": width, "height": 1000})
    height = page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollHeight")
    page.set_viewport_size({"width": width, "height": max(1000, min(height + 100, 6000))})
    page.wait_for_function("() => !document.querySelector('[data-stale=true]')")
    page.screenshot(path=str(ARTIFACTS / name))
    page.set_viewport_size({"width": width, "height": 1000})


def start_when_asked(page, done, timeout: float = 300_000) -> bool:
    """After a click that starts work, wait for the locator ``done``; when the page asks first (work
    estimated over its threshold, which depends on the shared machine's load), press its Start button
    and wait on. Returns whether the page asked."""
    import re

    start = page.get_by_role("button", name=re.compile(r"^Start \("))
    done.or_(start).first.wait_for(timeout=timeout)
    if start.count() and start.first.is_visible():
        page.get_by_text("Start it?").wait_for()
        start.first.click()
        done.first.wait_for(timeout=timeout)
        return True
    return False


def open_ml100k_with_titles(page, server: str, ml100k_path) -> None:
    """On Home: upload MovieLens 100K's u.item (titles and genres) first, then u.data, and wait until
    it is the dataset in use."""
    import re

    page.goto(server)
    page.get_by_text("Upload a file").click()
    page.locator('input[type="file"]').nth(1).set_input_files(str(ml100k_path.parent / "u.item"))  # no load yet
    wait_idle(page)
    page.locator('input[type="file"]').nth(0).set_input_files(str(ml100k_path))
    page.get_by_text(re.compile(r"Dataset in use: u\.data \+ u\.item")).wait_for(timeout=60_000)
    wait_idle(page)


def train_ranking(page, kind: str) -> None:
    """On Explore: train the ranking model ``kind`` (BPR or ALS) with its form's defaults, pressing
    Start when asked, and wait for its caption."""
    import re

    from mfcore.models.params import ALS_PARAMETERS, BPR_PARAMETERS

    if not page.get_by_role("button", name=f"Train {kind.replace('ALS', 'BPR')}").is_visible():
        page.get_by_text("Ranking models on the same training ratings").click()
    page.get_by_text(kind, exact=True).first.click()
    wait_idle(page)
    page.get_by_role("button", name=f"Train {kind}").click()
    factors = {"BPR": BPR_PARAMETERS, "ALS": ALS_PARAMETERS}[kind]["n_factors"].default  # the form's default K
    start_when_asked(page, page.get_by_text(re.compile(rf"^{kind}: K = {factors}, \d+ epochs")), timeout=180_000)
    wait_idle(page)


def train_then_explore(page, epochs: int = 20) -> None:
    """On Train (open, its form at ``epochs`` epochs): train a run, then open Explore on it."""
    import re

    page.get_by_role("button", name="Train", exact=True).click()
    start_when_asked(page, page.get_by_text(re.compile(rf"run \d+: epoch {epochs}/{epochs}")), timeout=120_000)
    wait_idle(page)
    page.locator('[data-testid="stSidebarNav"] a', has_text="Explore").click()
    page.get_by_text("Rated by user").first.wait_for()
    wait_idle(page)


# --- a loopback GroupLens: a generated MovieLens-100K style archive (mfcore.datasets, Home) -------

U_DATA = "1\t10\t5\t881250949\n1\t20\t3\t881250950\n2\t10\t4\t881250951\n2\t30\t1\t881250952\n3\t20\t2\t881250953\n"
U_ITEM = ("10|Toy Story (1995)|01-Jan-1995||http://x|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0\n"
          "20|GoldenEye (1995)|01-Jan-1995||http://x|0|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0|1|0|0\n"
          "30|Four Rooms (1995)|01-Jan-1995||http://x|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|1|0|0\n")


def archive_bytes() -> bytes:
    """A MovieLens-100K style zip: three users, three titled films with genres."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        zipped.writestr("ml-100k/u.data", U_DATA)
        zipped.writestr("ml-100k/u.item", U_ITEM)
        zipped.writestr("ml-100k/README", "generated for the test")
    return buffer.getvalue()


@pytest.fixture
def movielens_server(tmp_path):
    """A loopback HTTP server of ``tmp_path/www`` that counts its GET requests."""
    root = tmp_path / "www"
    root.mkdir()
    (root / "ml-100k.zip").write_bytes(archive_bytes())
    hits = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            super().do_GET()

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", hits, httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def pinned_to_the_generated_archive(monkeypatch):
    from mfcore.datasets import grouplens as ml

    data = archive_bytes()
    monkeypatch.setitem(ml.MOVIELENS, "100k", ml.Archive("ml-100k.zip", hashlib.sha256(data).hexdigest(),
                                                         len(data), "generated"))
