"""A course past one server, on loopback: PostgreSQL (started by the test), two dashboard replicas
sharing it (``MFP_DATABASE_URL``) and nginx in front with deploy/nginx.conf (its ports rewritten to
free ones). A browser session through nginx uploads a file and trains two runs; its link opened in
another browser forced to the other replica (the cookie set to it) shows the dataset and both runs.
The replica serving the first session is killed with SIGKILL during a third training: the session,
reloaded, is served by the other replica, the third run says it was interrupted at the epoch the
database holds, and the dataset and the first two runs are all there; a browser with no cookie
opening the link sees the same."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import postgres
import pytest
from conftest import (ARTIFACTS, ROOT, _free_port, _healthy, fresh_page, full_page_screenshot, no_exception,
                      start_when_asked, wait_healthy, wait_idle, wait_rows)

SAMPLE = ROOT / "sample_data" / "ratings.csv"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
TABLE_CELLS = """() => Array.from(document.querySelectorAll('[data-testid=stTable] table tbody tr td'))
    .map(cell => cell.innerText)"""


def _site(replica_ports: list[int], port: int) -> str:
    """deploy/nginx.conf with the replicas on ``replica_ports`` and nginx listening on loopback ``port``."""
    text = (ROOT / "deploy" / "nginx.conf").read_text()
    text = text.replace("listen 80;", f"listen 127.0.0.1:{port};").replace("listen [::]:80;", "")
    for number, replica in enumerate(replica_ports, start=1):
        text = text.replace(f"127.0.0.1:{8500 + number}", f"127.0.0.1:{replica}")
        text = text.replace(f"127\\.0\\.0\\.1:{8500 + number}", f"127\\.0\\.0\\.1:{replica}")
    return text


def start_nginx(folder: Path, replica_ports: list[int]) -> tuple[subprocess.Popen, str]:
    if not Path(NGINX).exists():
        if os.environ.get("CI"):
            pytest.fail("nginx is absent in CI: .ci/run installs the nginx package")
        pytest.skip("nginx is absent; apt-get install nginx")
    port = _free_port()
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o777)
    (folder / "site.conf").write_text(_site(replica_ports, port))
    temp = "".join(f"{kind}_temp_path {folder}/{kind};\n" for kind in ("client_body", "proxy", "fastcgi",
                                                                       "uwsgi", "scgi"))
    (folder / "nginx.conf").write_text(
        ("user root;\n" if os.geteuid() == 0 else "") +
        f"worker_processes 1;\npid {folder}/nginx.pid;\nerror_log {folder}/error.log;\n"
        "events { worker_connections 512; }\n"
        f"http {{\naccess_log {folder}/access.log;\n{temp}include {folder}/site.conf;\n}}\n")
    process = subprocess.Popen([NGINX, "-p", str(folder), "-c", str(folder / "nginx.conf"), "-g", "daemon off;"],
                               stdout=subprocess.DEVNULL, stderr=open(folder / "stderr.log", "wb"))
    url = f"http://127.0.0.1:{port}"
    wait_healthy(process, url, 20, "nginx did not start; see its stderr.log")
    return process, url


def start_replica(name: str, port: int, env: dict) -> subprocess.Popen:
    ARTIFACTS.mkdir(exist_ok=True)
    log = open(ARTIFACTS / f"streamlit-{name}.log", "wb")
    return subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "Home.py", "--server.headless", "true", "--server.port",
         str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **env, "PYTHONUNBUFFERED": "1"})


@pytest.fixture
def course(tmp_path):
    """``(nginx URL, {"r1": process, "r2": process}, database URL)``: everything stopped at the end."""
    postgres.require()
    processes: list[subprocess.Popen] = []
    with postgres.server() as server:
        database = postgres.fresh_database(server, "course")
        env = {"MFP_DATABASE_URL": database, "MFP_STORE_DIR": str(tmp_path / "unused-files"),
               "MFCORE_DATA_DIR": str(tmp_path / "unused-studies"), "MF_TRAINING_SLOTS": "1",
               "MFP_HEARTBEAT_SECONDS": "1", "STREAMLIT_SERVER_COOKIE_SECRET": "one secret for the replicas"}
        ports = [_free_port(), _free_port()]
        replicas = {f"r{n}": start_replica(f"replica-r{n}", port, env) for n, port in enumerate(ports, start=1)}
        processes += replicas.values()
        try:
            deadline = time.monotonic() + 90
            for port, process in zip(ports, replicas.values()):
                while not _healthy(f"http://127.0.0.1:{port}"):
                    assert process.poll() is None and time.monotonic() < deadline, "a replica did not start"
                    time.sleep(0.3)
            nginx, url = start_nginx(tmp_path / "nginx", ports)
            processes.append(nginx)
            yield url, replicas, database
        finally:  # SIGTERM first: nginx's master then stops its workers (SIGKILL would orphan them)
            for process in processes:
                if process.poll() is None:
                    process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def served_by(page) -> str:
    """The replica the browser's cookie names (set by nginx from the replica that answered)."""
    cookies = {cookie["name"]: cookie["value"] for cookie in page.context.cookies()}
    return cookies.get("mfp_replica", "")


def curve_rows(database: str, number: int) -> int:
    import psycopg
    with psycopg.connect(database) as connection:
        return connection.execute("SELECT count(*) FROM mfp_curves WHERE key LIKE %s",
                                  (f"%/{number:04d}",)).fetchone()[0]


def test_a_session_survives_its_replica_through_nginx(course, _chromium):
    url, replicas, database = course
    with fresh_page(_chromium, 60_000) as page:
        page.goto(url)
        page.get_by_text("Upload a file").click()
        page.locator('input[type="file"]').first.set_input_files(str(SAMPLE))
        page.get_by_text("Dataset in use: ratings.csv").wait_for()
        wait_idle(page)
        first = served_by(page)
        assert first in replicas
        page.locator('[data-testid="stSidebarNav"] a', has_text="Train").click()
        page.get_by_text("Dataset: ratings.csv").wait_for()
        for number in (1, 2):
            page.get_by_role("button", name="Train", exact=True).click()
            start_when_asked(page, page.get_by_text(f"run {number}: epoch 20/20"), timeout=120_000)
            wait_rows(page, number)
            wait_idle(page)
        link = page.url
        data, session = (re.search(rf"{name}=([0-9a-f]{{12}})", link).group(1) for name in ("data", "session"))
        assert served_by(page) == first, "every request of the session went to one replica"

        other = "r2" if first == "r1" else "r1"
        with fresh_page(_chromium, 60_000) as visitor:
            visitor.context.add_cookies([{"name": "mfp_replica", "value": other, "url": url}])
            visitor.goto(link)
            visitor.get_by_text("Dataset: ratings.csv").wait_for()
            wait_rows(visitor, 2)
            wait_idle(visitor)
            no_exception(visitor)
            assert served_by(visitor) == other
            assert visitor.evaluate(TABLE_CELLS).count("done") == 2
            full_page_screenshot(visitor, "replicas-link-on-the-other-replica.png")

        # a long third run (the python engine: about a second an epoch), killed with its replica
        page.goto(f"{url}/Train?data={data}&session={session}&engine=python&n_epochs=60")
        page.get_by_text("Dataset: ratings.csv").wait_for()
        wait_rows(page, 2)
        wait_idle(page)
        page.get_by_role("button", name="Train", exact=True).click()
        start_when_asked(page, page.get_by_text(re.compile(r"run 3: epoch \d+/60")))
        deadline = time.monotonic() + 120
        while curve_rows(database, 3) < 3:
            assert time.monotonic() < deadline, "the third run wrote no epochs"
            time.sleep(0.1)
        replicas[first].send_signal(signal.SIGKILL)
        replicas[first].wait(timeout=30)
        epochs = curve_rows(database, 3)
        assert 3 <= epochs < 60

        page.reload()
        page.get_by_text(f"run 3 was interrupted at epoch {epochs} of 60").wait_for()
        wait_rows(page, 3)
        wait_idle(page)
        no_exception(page)
        assert served_by(page) == other
        assert page.evaluate(TABLE_CELLS).count("done") == 2 and "interrupted" in page.evaluate(TABLE_CELLS)
        page.get_by_text(f"Its curve of those {epochs} epochs is kept below; retrain it").wait_for()
        full_page_screenshot(page, "replicas-after-a-replica-was-killed.png")
        survivor_link = page.url

    with fresh_page(_chromium, 60_000) as stranger:  # no cookie at all
        stranger.goto(survivor_link)
        stranger.get_by_text("Dataset: ratings.csv").wait_for()
        stranger.get_by_text(f"run 3 was interrupted at epoch {epochs} of 60").wait_for()
        wait_rows(stranger, 3)
        no_exception(stranger)
    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=5) as response:
        assert response.read() == b"ok"
