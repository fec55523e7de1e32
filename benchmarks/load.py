"""Load test of the dashboard on loopback: N sessions train at once, a late session loads a page, a
soak of one session (many trainings and uploads) watches the server's memory, and a huge K on a
large upload must be refused by the memory guard.

    .venv/bin/python benchmarks/load.py               # every part, prints the Must-show figures
    .venv/bin/python benchmarks/load.py --part load   # or --part soak, --part guard
    .venv/bin/python benchmarks/load.py --part mixed  # 30 sessions: Train, Speed, Tune, Explore, a bomb

It starts its own ``streamlit run Home.py`` on a free loopback port (killed at the end), and drives it
with browser-less clients that speak Streamlit's websocket protocol (the protobuf ``BackMsg`` /
``ForwardMsg`` of the installed Streamlit): open a session, load a page, press a form's button with the
settings in the URL, upload a file through ``/_stcore/upload_file``. Everything is bounded: at most
``--sessions`` + 1 clients, every wait has a timeout, and a global ``--deadline`` stops the run.

Measured, per training session: time to the first point (the first progress line with a train RMSE),
the longest gap between two progress updates while it trains, completion, and the final scores from
the runs table (compared with the same settings trained alone first). Per page load: seconds from
opening the websocket to the script's end. The server's RSS is sampled from /proc every 0.2 s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.cookiejar
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import websockets
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MAIN_SCRIPT = "Home.py"
HOME = ""  # run_page("") runs the main script
FINISHED = ForwardMsg.ScriptFinishedStatus.Value("FINISHED_SUCCESSFULLY")
EPOCH_TEXT = re.compile(r"epoch (\d+)/(\d+), train RMSE ([0-9.]+)(?:, test RMSE ([0-9.]+))?")


def rss_bytes(pid: int) -> int:
    """Resident set size of process ``pid`` (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class Server:
    """``streamlit run`` of the main script on a free loopback port, in its own process group."""

    def __init__(self, env: dict | None = None):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile(prefix="load-streamlit-", suffix=".log", delete=False)  # noqa: SIM115 - the server writes it until stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", MAIN_SCRIPT, "--server.headless", "true",
             "--server.address", "127.0.0.1", "--server.port", str(self.port)],
            cwd=ROOT, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL,
            stderr=self.log, start_new_session=True)
        self.samples: list[tuple[float, int]] = []
        self.cookies = http.cookiejar.CookieJar()
        self.http = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def wait_ready(self, timeout: float = 60) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with contextlib.suppress(OSError):
                if self.http.open(f"{self.base}/_stcore/health", timeout=2).status == 200:
                    self.http.open(f"{self.base}/", timeout=10).read()  # sets the XSRF cookie
                    return
            if self.process.poll() is not None:
                raise RuntimeError(f"streamlit exited: {self.log_tail()}")
            time.sleep(0.2)
        raise TimeoutError("streamlit did not become healthy")

    def log_tail(self, chars: int = 3000) -> str:
        return Path(self.log.name).read_text(errors="replace")[-chars:]

    @property
    def rss(self) -> int:
        return rss_bytes(self.process.pid)

    async def sample_rss(self, every: float = 0.2) -> None:
        while True:
            self.samples.append((time.monotonic(), self.rss))
            await asyncio.sleep(every)

    def xsrf(self) -> str:
        return next((c.value for c in self.cookies if c.name == "_streamlit_xsrf"), "")

    def stop(self) -> None:
        """End the server and remove its log."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self.log.close()
        with contextlib.suppress(OSError):
            os.unlink(self.log.name)


class Session:
    """One browser-less client: a websocket session that runs pages and presses buttons."""

    def __init__(self, server: Server, name: str):
        self.server, self.name = server, name
        self.ws = None
        self.session_id = ""
        self.pages: dict[str, str] = {}  # page name -> script hash
        self.page_hash = ""
        self.main_hash = ""
        self.elements: dict[tuple, object] = {}
        self.progress: list[tuple[float, str]] = []
        self.errors: list[str] = []
        self.exceptions: list[str] = []
        self.finished = asyncio.Event()
        self.file_urls: dict[str, object] = {}
        self._reader = None

    async def open(self) -> None:
        self.ws = await websockets.connect(
            f"ws://127.0.0.1:{self.server.port}/_stcore/stream", subprotocols=["streamlit"],
            max_size=None, open_timeout=30, ping_interval=None)
        self._reader = asyncio.create_task(self._read())

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader

    async def _read(self) -> None:
        async for raw in self.ws:
            msg = ForwardMsg()
            msg.ParseFromString(raw)
            kind = msg.WhichOneof("type")
            if kind == "new_session":
                self.session_id = msg.new_session.initialize.session_id or self.session_id
                self.main_hash = msg.new_session.main_script_hash or self.main_hash
            elif kind == "navigation":
                self.pages.update({page.page_name: page.page_script_hash
                                   for page in msg.navigation.app_pages})
                self.page_hash = msg.navigation.page_script_hash
            elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                element = msg.delta.new_element
                self.elements[tuple(msg.metadata.delta_path)] = element
                which = element.WhichOneof("type")
                if which == "progress":
                    self.progress.append((time.monotonic(), element.progress.text))
                elif which == "alert" and element.alert.format == 1:  # ERROR
                    self.errors.append(element.alert.body)
                elif which == "exception":
                    self.exceptions.append(f"{element.exception.type}: {element.exception.message} "
                                           f"{list(element.exception.stack_trace)[-3:]}")
            elif kind == "script_finished":
                if msg.script_finished == FINISHED:
                    self.finished.set()
            elif kind == "file_urls_response":
                for urls in msg.file_urls_response.file_urls:
                    self.file_urls[msg.file_urls_response.response_id] = urls

    async def run_page(self, page: str, query: str = "", widgets: list | None = None,
                       timeout: float = 300) -> float:
        """Run ``page`` (its name, as in the sidebar) with ``query`` and ``widgets`` states; returns
        the seconds until its script finished."""
        self.finished.clear()
        self.elements = {}
        message = BackMsg()
        state = message.rerun_script
        state.query_string = query
        state.page_script_hash = self.pages.get(page, self.main_hash if page == HOME else "")
        state.page_name = "" if page in self.pages or page == HOME else page
        for widget in widgets or ():
            state.widget_states.widgets.append(widget)
        start = time.monotonic()
        await self.ws.send(message.SerializeToString())
        await asyncio.wait_for(self.finished.wait(), timeout)
        return time.monotonic() - start

    def widget_id(self, kind: str, label: str) -> str:
        for element in self.elements.values():
            if element.WhichOneof("type") == kind and getattr(element, kind).label == label:
                return getattr(element, kind).id
        raise LookupError(f"{self.name}: no {kind} labelled {label!r}")

    def runs_table(self):
        """The runs table shown on the Train page, as a DataFrame of its raw values (None if absent)."""
        for element in self.elements.values():
            if element.WhichOneof("type") in ("table", "dataframe"):
                frame = convert_arrow_bytes_to_pandas_df(getattr(element, element.WhichOneof("type")).arrow_data.data)
                if {"run", "status"} <= set(frame.columns):
                    return frame
        return None

    async def train(self, query: str, timeout: float = 600) -> dict:
        """Load the Train page with ``query`` settings, press Train, wait for the end; returns timings."""
        self.errors.clear()
        self.exceptions.clear()
        await self.run_page("Train", query)
        button = WidgetState(id=self.widget_id("button", "Train"), trigger_value=True)
        self.progress.clear()
        clicked = time.monotonic()
        total = await self.run_page("Train", query, [button], timeout)
        times = [at for at, _ in self.progress]
        first_point = next((at - clicked for at, text in self.progress if EPOCH_TEXT.search(text)), None)
        gaps = [b - a for a, b in zip([clicked, *times], times)]
        table = self.runs_table()
        last = table.iloc[-1].to_dict() if table is not None else {}
        return {"seconds": total, "first_point": first_point, "max_gap": max(gaps, default=total),
                # the final scores when the table shows them (an optional column), else its best test RMSE and epoch
                "status": last.get("status"), "final_rmse": last.get("final RMSE", last.get("best test RMSE")),
                "final_mae": last.get("final MAE", last.get("best epoch")), "errors": list(self.errors),
                "exceptions": list(self.exceptions)}

    async def upload(self, name: str, content: bytes) -> float:
        """Choose 'Upload a file' on Home and upload ``content``; returns seconds to the script end."""
        await self.run_page(HOME, "")
        radio = self.widget_id("radio", "Dataset")
        choose = WidgetState(id=radio, string_value="Upload a file")
        await self.run_page(HOME, "", [choose])
        uploader = next(e.file_uploader.id for e in self.elements.values()
                        if e.WhichOneof("type") == "file_uploader")
        request = BackMsg()
        request.file_urls_request.request_id = f"{self.name}-{name}"
        request.file_urls_request.file_names.append(name)
        request.file_urls_request.session_id = self.session_id
        await self.ws.send(request.SerializeToString())
        end = time.monotonic() + 30
        while request.file_urls_request.request_id not in self.file_urls:
            if time.monotonic() > end:
                raise TimeoutError("no upload URL")
            await asyncio.sleep(0.02)
        urls = self.file_urls.pop(request.file_urls_request.request_id)
        await asyncio.to_thread(self._put, urls.upload_url, name, content)
        state = WidgetState(id=uploader)
        info = state.file_uploader_state_value.uploaded_file_info.add()
        info.name, info.size, info.file_id = name, len(content), urls.file_id
        info.file_urls.CopyFrom(urls)
        seconds = await self.run_page(HOME, "", [choose, state])
        if not any(name in self.text(element) for element in self.elements.values()):
            self.errors.append(f"{name} is not shown as the dataset in use after its upload")
        return seconds

    @staticmethod
    def text(element) -> str:
        """The visible text of a heading, markdown or alert element ("" for others)."""
        kind = element.WhichOneof("type")
        if kind == "heading":
            return element.heading.body
        if kind in ("markdown", "alert"):
            return getattr(element, kind).body
        return ""

    def _put(self, url: str, name: str, content: bytes) -> None:
        boundary = "----loadtest"
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"UploadedFile\"; "
                f"filename=\"{name}\"\r\nContent-Type: text/csv\r\n\r\n").encode() + content + \
            f"\r\n--{boundary}--\r\n".encode()
        full = url if url.startswith("http") else urllib.parse.urljoin(self.server.base, url)
        request = urllib.request.Request(full, data=body, method="PUT", headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}", "X-Xsrftoken": self.server.xsrf(),
            **self.upload_headers()})
        self.server.http.open(request, timeout=60).read()

    def upload_headers(self) -> dict[str, str]:
        """Headers an upload adds (a session through a balancer names its replica)."""
        return {}


def settings_query(k: int, epochs: int, engine: str, seed: int) -> str:
    return urllib.parse.urlencode({"n_factors": k, "n_epochs": epochs, "engine": engine, "seed": seed})


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else float("nan")


async def load_part(server: Server, args) -> dict:
    """N sessions train at once (after one trains alone for the reference result); a late session
    loads the Train page a few times while they train."""
    query = settings_query(args.k, args.epochs, args.engine, 0)
    alone = Session(server, "alone")
    await alone.open()
    await alone.train(query)  # compiles / loads the JIT cache, and warms the server
    reference = await alone.train(query)
    await alone.close()

    sessions = [Session(server, f"s{n}") for n in range(args.sessions)]
    for session in sessions:
        await session.open()
        await session.run_page("Train", query)
    rss_before = server.rss
    tasks = [asyncio.create_task(session.train(query)) for session in sessions]
    await asyncio.sleep(args.late_after)
    loads = []
    for attempt in range(args.late_loads):
        late = Session(server, f"late{attempt}")
        opened = time.monotonic()
        await late.open()
        seconds = await late.run_page("Train", "")
        loads.append(time.monotonic() - opened)
        del seconds
        await late.close()
        if all(task.done() for task in tasks):
            break
        await asyncio.sleep(0.5)
    results = await asyncio.gather(*tasks)
    peak = max((rss for at, rss in server.samples), default=0)
    for session in sessions:
        await session.close()
    same = [r["final_rmse"] == reference["final_rmse"] and r["final_mae"] == reference["final_mae"]
            for r in results]
    return {"reference": reference, "results": results, "late_loads": loads, "same": same,
            "rss_before": rss_before, "rss_peak": peak, "leave": await leave_check(server, args)}


async def leave_check(server: Server, args) -> dict:
    """Start a long training, go to Home after a second, come back: the run must be stopped (its job
    cancelled after the epoch in progress), and the server idle again."""
    session = Session(server, "leaver")
    await session.open()
    query = settings_query(500, 200, args.engine, 0)  # the largest K and epochs the form allows
    await session.run_page("Train", query)
    button = WidgetState(id=session.widget_id("button", "Train"), trigger_value=True)
    message = BackMsg()
    message.rerun_script.query_string = query
    message.rerun_script.page_script_hash = session.pages["Train"]
    message.rerun_script.widget_states.widgets.append(button)
    session.finished.clear()
    await session.ws.send(message.SerializeToString())  # press Train, do not wait for the end
    await asyncio.sleep(1.5)
    left = time.monotonic()
    await session.run_page(HOME, "")
    await session.run_page("Train", query)
    back = time.monotonic() - left
    table = session.runs_table()
    status = table.iloc[-1]["status"] if table is not None else None
    epochs = table.iloc[-1]["epochs"] if table is not None else None
    await asyncio.sleep(1.0)
    cpu_before = cpu_seconds(server.process.pid)
    await asyncio.sleep(2.0)
    idle = (cpu_seconds(server.process.pid) - cpu_before) / 2.0
    await session.close()
    return {"status": status, "epochs": epochs, "seconds": back, "cpu_after": idle}


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def make_upload(n: int, ratings: int) -> bytes:
    from mfcore.data.synthetic import make_ratings
    frame = make_ratings(400, 600, ratings, seed=1000 + n)
    return frame.to_csv(index=False).encode()


async def soak_part(server: Server, args) -> dict:
    """One session: ``--soak-trainings`` trainings and ``--soak-uploads`` uploads, RSS after each."""
    session = Session(server, "soak")
    await session.open()
    await session.run_page(HOME, "")
    uploads = [make_upload(n, args.upload_ratings) for n in range(args.soak_uploads)]
    rss_after_training, problems = [], []
    every = max(1, args.soak_trainings // max(1, args.soak_uploads))
    done_uploads = 0
    for number in range(1, args.soak_trainings + 1):
        query = settings_query(args.soak_k, args.soak_epochs, args.engine, number % 3)
        result = await session.train(query)
        problems += result["errors"] + result["exceptions"]
        if result["status"] != "done":
            problems.append(f"training {number} ended {result['status']}")
        rss_after_training.append(server.rss)
        if number >= 10 and number % every == 0 and done_uploads < len(uploads):
            session.errors.clear()
            await session.upload(f"upload{done_uploads}.csv", uploads[done_uploads])
            problems += session.errors + session.exceptions
            done_uploads += 1
    await session.close()
    return {"rss": rss_after_training, "uploads": done_uploads, "problems": problems}


def big_upload(n_ratings: int, n_users: int, n_items: int) -> bytes:
    """A compact ``user,item,rating`` CSV of ``n_ratings`` random ratings (no header, integer ids)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(7)
    frame = pd.DataFrame({"user": rng.integers(0, n_users, n_ratings), "item": rng.integers(0, n_items, n_ratings),
                          "rating": rng.integers(1, 6, n_ratings)})
    return frame.to_csv(index=False, header=False).encode()


async def guard_part(server: Server, args) -> dict:
    """Upload a large file, then press Train with a huge K: it must be refused, with the estimate,
    before the server allocates anything for it."""
    content = await asyncio.to_thread(big_upload, args.big_ratings, args.big_users, args.big_items)
    session = Session(server, "guard")
    await session.open()
    await session.run_page(HOME, "")
    upload_seconds = await session.upload("big.csv", content)
    del content
    upload_problems = list(session.errors + session.exceptions)
    query = settings_query(args.big_k, 20, "numba", 0)
    await session.run_page("Train", query)
    session.errors.clear()
    before = server.rss
    button = WidgetState(id=session.widget_id("button", "Train"), trigger_value=True)
    start = time.monotonic()
    await session.run_page("Train", query, [button])
    refused_after = time.monotonic() - start
    peak = max((rss for at, rss in server.samples if at >= start), default=server.rss)
    await session.close()
    return {"upload_seconds": upload_seconds, "upload_problems": upload_problems, "errors": session.errors,
            "exceptions": session.exceptions, "rss_before": before, "rss_peak": peak,
            "seconds": refused_after}


def report_guard(guard: dict, args) -> None:
    print(f"\n== memory guard: K={args.big_k} on an upload of {args.big_ratings:,} ratings "
          f"({args.big_users:,} users x {args.big_items:,} items)")
    print(f"upload parsed and in use after {guard['upload_seconds']:.1f} s; problems: {guard['upload_problems']}")
    errors = guard["errors"]
    print(f"page says: {errors[0] if errors else '(no error shown)'}")
    grown = guard["rss_peak"] - guard["rss_before"]
    estimate = next((match.group(1) for e in errors if (match := re.search(r"\(([\d,]+) bytes\)", e))), None)
    print(f"MUST-SHOW guard: refused in {guard['seconds']:.2f} s naming the estimate: {estimate is not None} "
          f"({estimate} bytes); exceptions {len(guard['exceptions'])}; server RSS {mb(guard['rss_before'])} "
          f"before, {grown / 1e6:+.1f} MB at its peak while refusing")


def mb(n: float) -> str:
    return f"{n / 1e6:,.0f} MB"


def report_load(load: dict, args) -> None:
    results, reference = load["results"], load["reference"]
    print(f"\n== {args.sessions} sessions train at once (K={args.k}, {args.epochs} epochs, {args.engine}, "
          f"bundled sample; slots = the server's cores)")
    print(f"alone: {reference['seconds']:.2f} s, final RMSE {reference['final_rmse']}")
    for n, r in enumerate(results):
        first = f"{r['first_point']:.2f} s" if r["first_point"] is not None else "none"
        print(f"session {n}: {r['status']}, {r['seconds']:.2f} s, first point {first}, longest gap between "
              f"progress updates {r['max_gap']:.2f} s, final RMSE {r['final_rmse']}, same as alone: "
              f"{load['same'][n]}, errors {r['errors'][:1]}, exceptions {r['exceptions'][:1]}")
    loads = load["late_loads"]
    print(f"late page loads while they train: {', '.join(f'{s:.2f}' for s in loads)} s "
          f"(max {max(loads, default=float('nan')):.2f} s)")
    print(f"server RSS: {mb(load['rss_before'])} before, peak {mb(load['rss_peak'])}")
    leave = load["leave"]
    print(f"leaving a page mid-training: the run is {leave['status']} ({leave['epochs']} epochs) when the "
          f"session comes back {leave['seconds']:.2f} s later; server CPU afterwards "
          f"{leave['cpu_after']:.0%} of a core")
    print("MUST-SHOW load: all completed with the same result as alone: "
          f"{all(r['status'] == 'done' for r in results) and all(load['same'])}; "
          f"late page load max {max(loads, default=float('nan')):.2f} s (< 3 s: "
          f"{bool(loads) and max(loads) < 3}); longest progress gap "
          f"{max(r['max_gap'] for r in results):.2f} s (<= 1 s: {max(r['max_gap'] for r in results) <= 1.0}); "
          f"median time to first point {median([r['first_point'] for r in results]):.2f} s")


def report_soak(soak: dict, args) -> None:
    rss = soak["rss"]
    print(f"\n== soak: one session, {len(rss)} trainings (K={args.soak_k}, {args.soak_epochs} epochs) and "
          f"{soak['uploads']} uploads of {args.upload_ratings:,} ratings")
    marks = [0, 9, 19, 29, 39, len(rss) - 1]
    print("RSS after training " + ", ".join(f"{i + 1}: {mb(rss[i])}" for i in marks if i < len(rss)))
    growth = rss[-1] - rss[min(9, len(rss) - 1)]
    print(f"problems shown: {len(soak['problems'])} {soak['problems'][:3]}")
    print(f"MUST-SHOW soak: RSS growth after the first 10 trainings {growth / 1e6:+.1f} MB (< 50 MB: "
          f"{growth < 50e6})")


@contextlib.asynccontextmanager
async def serving(env: dict | None = None):
    """A :class:`Server` started and healthy, its RSS sampled while the block runs, stopped after it."""
    server = Server(env)
    sampler = None
    try:
        await asyncio.to_thread(server.wait_ready)
        sampler = asyncio.create_task(server.sample_rss())
        yield server
    finally:
        if sampler is not None:
            sampler.cancel()
        server.stop()


async def main_async(args) -> None:
    if args.part == "mixed":  # issue 18's mixed load, in benchmarks/load_mixed.py
        import load_mixed
        args.sessions = args.mixed_sessions
        return await load_mixed.main_async(args)
    if args.part in ("load", "all"):
        async with serving() as server:
            load = await asyncio.wait_for(load_part(server, args), args.deadline)
            report_load(load, args)
            if any(r["exceptions"] for r in load["results"]):
                print("server log tail:\n" + server.log_tail())
    for part, run, report in (("soak", soak_part, report_soak), ("guard", guard_part, report_guard)):
        if args.part in (part, "all"):
            async with serving() as server:  # a fresh server for each part: each starts from a clean process
                report(await asyncio.wait_for(run(server, args), args.deadline), args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=("load", "soak", "guard", "all", "mixed"), default="all")
    parser.add_argument("--mixed-sessions", type=int, default=30, help="sessions of --part mixed")
    parser.add_argument("--sessions", type=int, default=6, help="sessions training at once (at most 12)")
    parser.add_argument("--k", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--engine", default="numba")
    parser.add_argument("--late-after", type=float, default=1.0, help="seconds before the late page loads")
    parser.add_argument("--late-loads", type=int, default=3)
    parser.add_argument("--soak-trainings", type=int, default=50)
    parser.add_argument("--soak-uploads", type=int, default=20)
    parser.add_argument("--soak-k", type=int, default=50)
    parser.add_argument("--soak-epochs", type=int, default=10)
    parser.add_argument("--upload-ratings", type=int, default=20_000)
    parser.add_argument("--big-ratings", type=int, default=10_000_000)
    parser.add_argument("--big-users", type=int, default=200_000)
    parser.add_argument("--big-items", type=int, default=40_000)
    parser.add_argument("--big-k", type=int, default=500)
    parser.add_argument("--deadline", type=float, default=600, help="seconds each part may take at most")
    import load_mixed
    load_mixed.add_arguments(parser)
    args = parser.parse_args()
    args.sessions = max(1, min(args.sessions, 12))
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
