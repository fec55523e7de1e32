"""Mixed load test (issue 18): 30 sessions on loopback use Train, Speed, Tune and Explore at once, and
one of them uploads a decompression bomb; every page must load in < 3 s, every run must end with the
result it has alone, and the server's RSS must stay bounded.

    .venv/bin/python benchmarks/load_mixed.py                 # 30 sessions, prints the numbers
    .venv/bin/python benchmarks/load.py --part mixed          # the same, from the main load test

Built on :mod:`load` (the server and the websocket client). Each kind of session is first run alone
(its reference result, and the JIT warm-up); then the 30 sessions start a fraction of a second apart,
so most page loads happen while earlier sessions train, time engines, search or explore:

- Train: K and epochs small, seed ``n % 3``; its result is the final test RMSE and MAE of its run.
- Speed: times the numba engine for one epoch; it must complete without an error.
- Tune: a 4-trial search (K <= 32, <= 10 epochs, seed 0); its result is the sentence on the best
  trial's test RMSE (the search is seeded, so it repeats itself alone or not).
- Explore: trains a small model, then opens Explore; its result is a digest of every table shown.
- Bomb: uploads a ``.gz`` of duplicate rows (``1,1,5``) that inflates to more than 1 GB, made here in
  memory as concatenated gzip members (each ~10 MB inflated); it must be refused with one error.

A watchdog kills the server if its RSS passes ``--rss-limit`` (default 4 GB): the machine is shared,
and before bounded decompression a 2 MB bomb took the server to 14 GB. ``--no-bomb`` leaves the bomb
out (to measure the other sessions on a server without the bounded decompression).

A "page load" is the seconds from sending a page's run to its script's end, for a page opened with no
action (the training, timing or search a button starts is not a page load; it is timed apart).

``--url http://HOST:PORT`` runs the same sessions through a deployment that is already running (nginx
and its replicas, deploy/README.md) instead of a server of its own: each session keeps the
``mfp_replica`` cookie nginx gives its websocket (so its upload reaches its replica), the replicas'
memory is read from the processes listening on ``--replica-ports`` (each replica's peak RSS is
reported; the watchdog stops the replica that passes the limit), and the report says how many
sessions each replica served. ``--write`` keeps the numbers in ``benchmarks/results/load_replicas.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import hashlib
import contextlib
import http.cookiejar
import os
import re
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import websockets  # noqa: E402
from load import HOME, Server, Session, mb, rss_bytes, serving, settings_query  # noqa: E402
from streamlit.proto.WidgetStates_pb2 import WidgetState  # noqa: E402

KINDS = ("train", "speed", "tune", "explore")
REPLICA_COOKIE = "mfp_replica"


def listening_pid(port: int) -> int:
    """The process listening on loopback TCP ``port`` (``ss -ltnp``), 0 when none is found."""
    out = subprocess.run(["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True).stdout
    found = re.search(r"pid=(\d+)", out)
    return int(found.group(1)) if found else 0


class Front:
    """A running deployment at ``url`` (nginx in front of replicas listening on ``ports``), with the
    parts of :class:`load.Server` the sessions and the report use."""

    def __init__(self, url: str, ports: list[int]):
        parts = urllib.parse.urlsplit(url)
        self.base, self.host, self.port = url.rstrip("/"), parts.hostname, parts.port or 80
        self.replicas = {port: listening_pid(port) for port in ports}
        self.samples: list[tuple[float, int]] = []
        self.replica_samples: dict[int, list[int]] = {port: [] for port in ports}
        self.cookies = http.cookiejar.CookieJar()
        self.http = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))
        self.process = self  # the watchdog polls it

    def poll(self):
        return None if all(pid and rss_bytes(pid) for pid in self.replicas.values()) else 1

    def wait_ready(self, timeout: float = 60) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with contextlib.suppress(OSError):
                if self.http.open(f"{self.base}/_stcore/health", timeout=2).status == 200:
                    self.http.open(f"{self.base}/", timeout=10).read()  # the XSRF cookie
                    return
            time.sleep(0.2)
        raise TimeoutError(f"{self.base} is not healthy")

    @property
    def rss(self) -> int:
        """The largest replica's RSS (the bound is per replica)."""
        return max((rss_bytes(pid) for pid in self.replicas.values()), default=0)

    async def sample_rss(self, every: float = 0.2) -> None:
        while True:
            for port, pid in self.replicas.items():
                self.replica_samples[port].append(rss_bytes(pid))
            self.samples.append((time.monotonic(), self.rss))
            await asyncio.sleep(every)

    def xsrf(self) -> str:
        return next((c.value for c in self.cookies if c.name == "_streamlit_xsrf"), "")

    def log_tail(self, chars: int = 3000) -> str:
        return ""

    def stop(self) -> None:
        """The watchdog's end: stop the replicas past the limit (the deployment restarts them)."""
        for pid in self.replicas.values():
            if pid and rss_bytes(pid) > WATCHDOG_LIMIT[0]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)


WATCHDOG_LIMIT = [4e9]


class StickySession(Session):
    """A :class:`load.Session` through nginx: it keeps the replica cookie its websocket got."""

    replica = ""

    async def open(self) -> None:
        self.ws = await websockets.connect(
            f"ws://{self.server.host}:{self.server.port}/_stcore/stream", subprotocols=["streamlit"],
            max_size=None, open_timeout=30, ping_interval=None)
        for header in self.ws.response.headers.get_all("Set-Cookie"):
            name, _, value = header.split(";", 1)[0].partition("=")
            if name.strip() == REPLICA_COOKIE:
                self.replica = value.strip()
        self._reader = asyncio.create_task(self._read())

    def upload_headers(self) -> dict[str, str]:
        """Its replica's cookie (and the XSRF cookie, which the explicit header would otherwise hide)."""
        return {"Cookie": f"_streamlit_xsrf={self.server.xsrf()}; {REPLICA_COOKIE}={self.replica}"}


def new_session(server, name: str) -> Session:
    return StickySession(server, name) if isinstance(server, Front) else Session(server, name)


@contextlib.asynccontextmanager
async def fronting(url: str, ports: list[int]):
    """A :class:`Front` for the deployment at ``url``, healthy, its replicas' RSS sampled meanwhile."""
    front = Front(url, ports)
    await asyncio.to_thread(front.wait_ready)
    sampler = asyncio.create_task(front.sample_rss())
    try:
        yield front
    finally:
        sampler.cancel()
BOMB_MEMBER_BYTES = 10_000_000


def bomb(inflated: int = 1_100_000_000) -> bytes:
    """A ``.gz`` of ``user,item,rating`` and then only ``1,1,5`` lines inflating to ``inflated`` bytes:
    one gzip member of ~10 MB of rows, compressed once and repeated (a gzip file may be a series of
    members), so building it takes a second and little memory."""
    rows = b"1,1,5\n" * (BOMB_MEMBER_BYTES // 6)
    member = gzip.compress(rows, compresslevel=9, mtime=0)
    head = gzip.compress(b"user,item,rating\n", mtime=0)
    return head + member * (inflated // len(rows) + 1)


def double(session: Session, kind: str, label: str, value: float) -> WidgetState:
    return WidgetState(id=session.widget_id(kind, label), double_value=value)


def press(session: Session, label: str) -> WidgetState:
    return WidgetState(id=session.widget_id("button", label), trigger_value=True)


def tables_digest(session: Session) -> str:
    """A digest of every table and dataframe the page shows (their Arrow bytes, in page order)."""
    digest = hashlib.sha256()
    for path in sorted(session.elements):
        element = session.elements[path]
        kind = element.WhichOneof("type")
        if kind in ("table", "dataframe", "arrow_data_frame"):
            digest.update(getattr(element, kind).arrow_data.data)
    return digest.hexdigest()[:16]


def texts(session: Session) -> list[str]:
    return [Session.text(element) for element in session.elements.values() if Session.text(element)]


T0 = time.monotonic()


async def load_page(session: Session, page: str, query: str = "") -> float:
    at = time.monotonic() - T0
    seconds = await session.run_page(page, query, timeout=120)
    session.page_loads.append((page, seconds))
    session.load_times.append((at, page, seconds))
    return seconds


async def do_train(session: Session, n: int) -> dict:
    query = settings_query(20, 20, "numba", n % 3)
    await load_page(session, "Train", query)
    result = await session.train(query)
    return {"result": (result["final_rmse"], result["final_mae"]), "status": result["status"],
            "seconds": result["seconds"]}


async def do_speed(session: Session, n: int) -> dict:
    query = settings_query(20, 20, "numba", 0)
    await load_page(session, "Speed", query)
    states = [WidgetState(id=session.widget_id("multiselect", "Engines")),
              WidgetState(id=session.widget_id("slider", "Epochs to time")),
              double(session, "number_input", "Time budget per engine (s)", 0.5),
              press(session, "Time engines")]
    states[0].string_array_value.data.append("numba")
    states[1].double_array_value.data.append(1)
    start = time.monotonic()
    await session.run_page("Speed", query, states, timeout=300)
    done = any("numba" in text and "updates" in text.lower() for text in texts(session)) or any(
        session.elements[p].WhichOneof("type") in ("table", "dataframe") for p in session.elements)
    return {"result": None, "status": "done" if done and not session.errors else "failed",
            "seconds": time.monotonic() - start}


TUNE_K = {"low": 8, "high": 32}
"""Tune's K range (``--tune-k N`` fixes K): each K a trial meets for the first time is a JIT compile."""


async def do_tune(session: Session, n: int) -> dict:
    await load_page(session, "Tune")
    states = [double(session, "number_input", "Factors K (log): high", TUNE_K["high"]),
              double(session, "number_input", "Factors K (log): low", TUNE_K["low"]),
              double(session, "number_input", "Max epochs: high", 10),
              double(session, "number_input", "Max epochs: low", 5),
              double(session, "number_input", "Trials or seconds", 4),
              press(session, "Start search")]
    start = time.monotonic()
    await session.run_page("Tune", "", states, timeout=300)
    best = next((text for text in texts(session) if text.startswith("Best trial")), None)
    return {"result": best, "status": "done" if best else "failed", "seconds": time.monotonic() - start}


async def do_explore(session: Session, n: int) -> dict:
    query = settings_query(10, 10, "numba", 0)
    await session.run_page("Train", query)
    trained = await session.train(query)
    await load_page(session, "Explore")
    return {"result": tables_digest(session), "status": trained["status"], "seconds": trained["seconds"]}


ACTIONS = {"train": do_train, "speed": do_speed, "tune": do_tune, "explore": do_explore}


async def one(server: Server, name: str, kind: str, n: int, delay: float) -> dict:
    await asyncio.sleep(delay)
    session = new_session(server, name)
    session.page_loads, session.load_times = [], []
    await session.open()
    try:
        outcome = await ACTIONS[kind](session, n)
    except Exception as exc:  # noqa: BLE001 - a timeout or a missing widget is this session's failure
        outcome = {"result": None, "status": f"error {type(exc).__name__}: {exc}", "seconds": None}
    outcome.update(kind=kind, n=n, loads=session.page_loads, times=session.load_times, errors=list(session.errors),
                   exceptions=list(session.exceptions), replica=getattr(session, "replica", ""))
    await session.close()
    return outcome


async def bomb_session(server: Server, content: bytes, delay: float) -> dict:
    await asyncio.sleep(delay)
    session = new_session(server, "bomb")
    await session.open()
    await session.run_page(HOME, "")
    before = server.rss
    start = time.monotonic()
    try:
        seconds = await session.upload("bomb.csv.gz", content)
        status = "answered"
    except Exception as exc:  # noqa: BLE001 - a timeout is the finding
        seconds, status = time.monotonic() - start, f"error {type(exc).__name__}"
    peak = max((rss for at, rss in server.samples if at >= start), default=server.rss)
    errors = [e for e in session.errors if "is not shown as the dataset in use" not in e]
    await session.close()
    return {"seconds": seconds, "status": status, "errors": errors, "exceptions": session.exceptions,
            "rss_before": before, "rss_peak": peak}


async def watchdog(server: Server, limit: int, record: dict) -> None:
    """Kill the server (its process group) once its RSS passes ``limit`` bytes; say so in ``record``."""
    while server.process.poll() is None:
        rss = server.rss
        if rss > limit:
            record["killed_at"] = rss
            server.stop()
            return
        await asyncio.sleep(0.1)


async def mixed_part(server: Server, args) -> dict:
    """References alone, then ``args.sessions`` sessions (kinds in turn) and the bomb, staggered."""
    if args.tune_k:
        TUNE_K.update(low=args.tune_k, high=args.tune_k)
    kinds = tuple(args.kinds.split(","))
    references = {}
    for kind in kinds:
        for n in ([0, 1, 2] if kind == "train" else [0]):
            outcome = await one(server, f"alone-{kind}-{n}", kind, n, 0)
            references[(kind, n % 3 if kind == "train" else 0)] = outcome
    content = await asyncio.to_thread(bomb) if args.bomb else b""
    rss_before = server.rss
    started = time.monotonic()
    guard = {}
    watching = asyncio.create_task(watchdog(server, args.rss_limit, guard))
    tasks = [asyncio.create_task(one(server, f"s{n}", kinds[n % len(kinds)], n, n * args.stagger))
             for n in range(args.sessions - (1 if args.bomb else 0))]
    bomb_task = asyncio.create_task(bomb_session(server, content, args.sessions / 2 * args.stagger)) \
        if args.bomb else None
    outcomes = await asyncio.gather(*tasks)
    bombed = await bomb_task if bomb_task is not None else None
    watching.cancel()
    wall = time.monotonic() - started
    peak = max((rss for at, rss in server.samples if at >= started), default=0)
    for outcome in outcomes:
        kind = outcome["kind"]
        reference = references[(kind, outcome["n"] % 3 if kind == "train" else 0)]
        outcome["same"] = outcome["result"] == reference["result"]
    return {"references": references, "outcomes": outcomes, "bomb": bombed, "bomb_bytes": len(content),
            "rss_before": rss_before, "rss_peak": peak, "wall": wall, "killed_at": guard.get("killed_at")}


def report_mixed(mixed: dict, args) -> None:
    outcomes, bombed = mixed["outcomes"], mixed["bomb"]
    print(f"\n== mixed: {args.sessions} sessions ({args.kinds.replace(',', ', ')} in turn"
          f"{', one uploading a bomb' if args.bomb else ''}), "
          f"started {args.stagger:g} s apart, {os.cpu_count()} cores, wall {mixed['wall']:.1f} s")
    for kind in args.kinds.split(","):
        mine = [o for o in outcomes if o["kind"] == kind]
        loads = [s for o in mine for _, s in o["loads"]]
        alone = [s for (k, _), o in mixed["references"].items() if k == kind for _, s in o["loads"]]
        work = [o["seconds"] for o in mine if o["seconds"] is not None]
        print(f"{kind:8} x{len(mine)}: completed {sum(o['status'] == 'done' for o in mine)}, same result as "
              f"alone {sum(o['same'] for o in mine)}/{len(mine)}; page load max {max(loads, default=0):.2f} s "
              f"(alone {max(alone, default=0):.2f} s); work seconds max {max(work, default=0):.1f}; "
              f"errors {sum(len(o['errors']) for o in mine)}, exceptions {sum(len(o['exceptions']) for o in mine)}")
        for o in mine:
            if o["status"] != "done" or not o["same"] or o["errors"] or o["exceptions"]:
                print(f"   session {o['n']}: {o['status']}, result {o['result']}, errors {o['errors'][:1]}, "
                      f"exceptions {o['exceptions'][:1]}")
    loads = [s for o in outcomes for _, s in o["loads"]]
    slow = sorted((at, o["kind"], page, s) for o in outcomes for at, page, s in o["times"] if s >= 3)
    if slow:
        print("loads >= 3 s (start second, kind, page, seconds): "
              + "; ".join(f"{at:.1f} {kind} {page} {s:.2f}" for at, kind, page, s in slow))
    if bombed is not None:
        print(f"bomb: {mb(mixed['bomb_bytes'])} .gz inflating to > 1 GB: {bombed['status']} after "
              f"{bombed['seconds']:.1f} s, page says {bombed['errors'][:1]}, exceptions "
              f"{len(bombed['exceptions'])}, server RSS {mb(bombed['rss_before'])} before, peak "
              f"{mb(bombed['rss_peak'])} during it")
    if mixed["killed_at"]:
        print(f"WATCHDOG: the server was killed at RSS {mb(mixed['killed_at'])} (limit {mb(args.rss_limit)})")
    print(f"server RSS: {mb(mixed['rss_before'])} before the sessions, peak {mb(mixed['rss_peak'])}")
    slow = sum(s >= 3 for s in loads)
    print(f"MUST-SHOW mixed: every page < 3 s: {slow == 0} (max {max(loads, default=0):.2f} s, {slow} of "
          f"{len(loads)} loads >= 3 s); every run completed with its result alone: "
          f"{all(o['status'] == 'done' and o['same'] for o in outcomes)}; bomb refused with one error: "
          f"{bombed is not None and len(bombed['errors']) == 1 and not bombed['exceptions']}; server RSS "
          f"peak {mb(mixed['rss_peak'])} (bounded below the {mb(args.rss_limit)} watchdog: "
          f"{not mixed['killed_at']})")


def report_replicas(mixed: dict, server: Front, args) -> None:
    """Each replica's sessions and peak RSS; with ``--write``, the results file."""
    served = {}
    for outcome in mixed["outcomes"]:
        served[outcome["replica"]] = served.get(outcome["replica"], 0) + 1
    peaks = {port: max(samples, default=0) for port, samples in server.replica_samples.items()}
    print(f"through {args.url}: sessions per replica {dict(sorted(served.items()))}; peak RSS per replica "
          + ", ".join(f"port {port}: {mb(peak)}" for port, peak in peaks.items()))
    if not args.write:
        return
    import results
    outcomes = mixed["outcomes"]
    loads = [s for o in outcomes for _, s in o["loads"]]
    rows = []
    for kind in args.kinds.split(","):
        mine = [o for o in outcomes if o["kind"] == kind]
        kind_loads = [s for o in mine for _, s in o["loads"]]
        rows.append([kind, len(mine), sum(o["status"] == "done" for o in mine), sum(o["same"] for o in mine),
                     f"{max(kind_loads, default=0):.2f}", sum(s >= 3 for s in kind_loads)])
    rows.append(["all", len(outcomes), sum(o["status"] == "done" for o in outcomes),
                 sum(o["same"] for o in outcomes), f"{max(loads, default=0):.2f}", sum(s >= 3 for s in loads)])
    bombs = " (one of them the bomb upload, not in the rows)" if args.bomb else ""
    notes = (f"{args.sessions} sessions{bombs} started {args.stagger:g} s apart through nginx and {len(peaks)} "
             f"replicas on one machine sharing PostgreSQL; sessions per replica {dict(sorted(served.items()))}; "
             "peak RSS per replica " + ", ".join(mb(peak) for peak in peaks.values())
             + f"; wall {mixed['wall']:.1f} s.")
    table = results.table("Mixed load through nginx and replicas", [
        "sessions", "count", "completed", "same result as alone", "slowest page load (s)", "loads >= 3 s"],
        rows, notes)
    data = {"served": served, "peaks": peaks, "wall": mixed["wall"], "loads": loads}
    print(f"wrote {results.write('load_replicas', [table], data)}")


async def main_async(args) -> None:
    if args.url:
        WATCHDOG_LIMIT[0] = args.rss_limit
        ports = [int(port) for port in args.replica_ports.split(",") if port]
        async with fronting(args.url, ports) as front:
            mixed = await asyncio.wait_for(mixed_part(front, args), args.deadline)
            report_mixed(mixed, args)
            report_replicas(mixed, front, args)
        return
    async with serving() as server:
        report_mixed(await asyncio.wait_for(mixed_part(server, args), args.deadline), args)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stagger", type=float, default=0.3, help="seconds between two sessions' starts")
    parser.add_argument("--rss-limit", type=float, default=4e9, help="kill the server past this RSS (bytes)")
    parser.add_argument("--no-bomb", dest="bomb", action="store_false", help="leave the bomb upload out")
    parser.add_argument("--kinds", default=",".join(KINDS), help="session kinds, in turn (default: all)")
    parser.add_argument("--tune-k", type=int, default=None, help="Tune searches this K only (default 8..32)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--deadline", type=float, default=900)
    parser.add_argument("--url", default="", help="run through this running deployment (nginx) instead")
    parser.add_argument("--replica-ports", default="8501,8502", help="with --url: the replicas' ports")
    parser.add_argument("--write", action="store_true", help="with --url: write results/load_replicas.json")
    add_arguments(parser)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
