"""The server's on-disk store of recently loaded datasets and of the sessions' runs, so that a page
reload or a shared link finds them again (Streamlit forgets ``st.session_state`` on reload).

Layout under :data:`ROOT` (a directory in the system temp dir; ``MFP_STORE_DIR`` overrides it):

- ``datasets/<fingerprint>/``: ``ratings.npz`` (codes, values, timestamps, id maps; plain arrays, read
  with ``allow_pickle=False``), ``items.parquet`` (titles and genres, when known) and ``meta.json``
  (display name, reproduction path, scale, load summary). The fingerprint is the first
  :data:`FINGERPRINT_CHARS` hex digits of the SHA-256 of the uploaded bytes and the load options, so
  the same file loaded the same way always gets the same short name in the URL.
- ``runs/<session>/<number>.json``: one file per run (settings, curve, status, final scores), and
  ``runs/<session>/index.json``: the list of run keys (``<session>/<number>``) the session shows, its
  own runs and the ones it was seeded with. Every file is written to a temporary file and renamed
  into place (``os.replace``), so a reader never sees half a file.

Runs are never overwritten by another session and never deleted by one (two tabs on one link must
not rewrite one whole list, last writer winning, nor a visitor training past ``MAX_RUNS`` erase the
owner's runs). Only the browser session that made a session name writes under it
(:mod:`dashboard.server.saved_runs` forks a linked session before its first write), a run file is written by
its own run only, and a session's index merely *refers* to runs of other sessions. Session folders
untouched for :data:`RUN_DAYS` days are removed (reading a session touches the folders it refers to).

A store that cannot be written (a read-only or full disk) never fails a page: every write catches the
``OSError``, and :func:`problem` gives the one sentence the pages show (naming ``MFP_STORE_DIR``)
while the session keeps its dataset and runs in memory only. A run's curve grows on disk epoch by
epoch (:func:`append_epoch`: one JSON line per epoch appended to ``runs/<session>/<number>.curve``,
one ``write`` each; a torn last line is dropped when read), so a server killed mid-run still has it.

Datasets are evicted least recently used first (a read refreshes a dataset's time) once their total
size passes :data:`MAX_BYTES` (1 GiB; ``MFP_STORE_MB`` overrides it); the newest one always stays.
Nothing here is pickled.

**Two backends, one interface.** The functions below are the store's interface (the pages and jobs call
nothing else). Each runs on the files described above, the default that needs nothing but Python, or,
when ``MFP_DATABASE_URL`` names a PostgreSQL database, on :class:`dashboard.server.pg_store.PostgresStore`
(:func:`database`), which keeps the same things in tables that several replicas of the dashboard share.
Both keep the same contract (``tests/dashboard/test_store_contract.py`` runs one set of tests on each).
Each server process beats a heartbeat in the same backend (:mod:`dashboard.server.lease`), which
tells a reader whether a run recorded ``running`` by another process is still being trained.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from mfcore.data import LoadSummary, Ratings

ROOT = Path(os.environ.get("MFP_STORE_DIR") or Path(tempfile.gettempdir()) / "factorization-playground")
SETTING = "MFP_STORE_DIR"
PROBE_SECONDS = 30.0
"""How long a probe of the store's writability (:func:`problem`) is trusted."""
_state = {"failure": "", "probed_at": -float("inf"), "probe": ""}
DATABASE_SETTING = "MFP_DATABASE_URL"
_databases: dict = {}


def database():
    """The PostgreSQL backend (:class:`dashboard.server.pg_store.PostgresStore`) of the URL in
    ``MFP_DATABASE_URL``, one per process; None when it is unset (the files backend)."""
    url = os.environ.get(DATABASE_SETTING, "").strip()
    if not url:
        return None
    if url not in _databases:
        from dashboard.server.pg_store import PostgresStore
        _databases.clear()
        _databases[url] = PostgresStore(url)
    return _databases[url]


def _sentence(exc: OSError) -> str:
    return (f"The server's store cannot be written ({SETTING}={ROOT}: {exc.strerror or type(exc).__name__}), "
            "so this session keeps its dataset and runs in memory only and a reload or a copied link will not "
            "find them.")


def _failed(exc: OSError) -> None:
    """Remember that a write failed (:func:`problem` says so until a write succeeds)."""
    _state["failure"] = _sentence(exc)


def _wrote() -> None:
    _state["failure"] = ""


def problem() -> str:
    """One sentence when the store cannot be written (the last write failed, or a probe, repeated at
    most every :data:`PROBE_SECONDS`, could not write 64 KiB under :data:`ROOT`; for the database: its
    last use failed), else ``""``."""
    if (db := database()) is not None:
        return db.problem()
    if _state["failure"]:
        return _state["failure"]
    if time.monotonic() - _state["probed_at"] > PROBE_SECONDS:
        _state["probed_at"], _state["probe"] = time.monotonic(), ""
        try:
            ROOT.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=ROOT) as probe:
                probe.write(b"\0" * 65536)
                probe.flush()  # a full disk refuses the blocks here (no fsync: a page load never waits)
        except OSError as exc:
            _state["probe"] = _sentence(exc)
    return _state["probe"]
MAX_BYTES = int(float(os.environ.get("MFP_STORE_MB", 1024)) * 2**20)
FINGERPRINT_CHARS = 12
_SAFE = set("0123456789abcdef")


def fingerprint(raw: bytes, options: tuple = ()) -> str:
    """Short content fingerprint of ``raw`` loaded with ``options``."""
    digest = hashlib.sha256(raw)
    digest.update(repr(options).encode())
    return digest.hexdigest()[:FINGERPRINT_CHARS]


def is_fingerprint(text: str) -> bool:
    """Whether ``text`` has the shape of a fingerprint (so it is safe as a directory name)."""
    return isinstance(text, str) and len(text) == FINGERPRINT_CHARS and set(text) <= _SAFE


def _dataset_dir(key: str) -> Path:
    return ROOT / "datasets" / key


def _id_array(ids: np.ndarray) -> np.ndarray:
    return ids if ids.dtype.kind in "iu" else np.asarray(ids, dtype=str)


def _arrays(ratings: Ratings) -> dict[str, np.ndarray]:
    arrays = {"users": ratings.users, "items": ratings.items, "values": ratings.values,
              "user_ids": _id_array(ratings.user_ids), "item_ids": _id_array(ratings.item_ids)}
    if ratings.timestamps is not None:
        arrays["timestamps"] = ratings.timestamps
    return arrays


def _meta(name: str, path: str, ratings: Ratings) -> dict:
    return {"name": name, "path": path, "scale": list(ratings.scale), "summary": asdict(ratings.summary)}


def save_dataset(key: str, name: str, path: str, ratings: Ratings) -> bool:
    """Keep ``ratings`` under ``key`` (written to a temporary directory, then renamed into place; in
    the database, one row); False when the store cannot be written (:func:`problem` says why)."""
    if (db := database()) is not None:
        return db.save_dataset(key, name, path, _arrays(ratings), ratings.item_info,
                               _meta(name, path, ratings), MAX_BYTES)
    try:
        _save_dataset(key, name, path, ratings)
    except OSError as exc:
        _failed(exc)
        return False
    _wrote()
    return True


def _save_dataset(key: str, name: str, path: str, ratings: Ratings) -> None:
    final = _dataset_dir(key)
    if final.is_dir():
        os.utime(final)
        return
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=final.parent))
    try:
        np.savez(staging / "ratings.npz", **_arrays(ratings))
        if ratings.item_info is not None:
            ratings.item_info.to_parquet(staging / "items.parquet", index=False)
        (staging / "meta.json").write_text(json.dumps(_meta(name, path, ratings)))
        try:
            staging.rename(final)
        except OSError:  # another session stored the same dataset first
            shutil.rmtree(staging, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    evict()


def load_dataset(key: str) -> tuple[str, str, Ratings] | None:
    """(name, path, ratings) stored under ``key``, or None when the store no longer has it."""
    if not is_fingerprint(key):
        return None
    if (db := database()) is not None:
        found = db.load_dataset(key)
        return None if found is None else _ratings_of(found[2], found[3], found[4])
    folder = _dataset_dir(key)
    try:
        meta = json.loads((folder / "meta.json").read_text())
        with np.load(folder / "ratings.npz", allow_pickle=False) as arrays:
            columns = {name: arrays[name] for name in arrays.files}
        items_file = folder / "items.parquet"
        item_info = pd.read_parquet(items_file) if items_file.is_file() else None
    except (OSError, ValueError, KeyError):
        return None
    with contextlib.suppress(OSError):  # a read-only store still serves what it has
        os.utime(folder)
    return _ratings_of(columns, item_info, meta)


def _ratings_of(columns: dict, item_info: pd.DataFrame | None, meta: dict) -> tuple[str, str, Ratings]:
    """(name, path, ratings) from the stored arrays, titles and metadata."""
    def ids(values):
        return values if values.dtype.kind in "iu" else values.astype(object)

    summary = meta["summary"]
    summary = LoadSummary(**{**summary, **{k: tuple(summary[k]) for k in ("ignored_columns", "warnings")}})
    ratings = Ratings(users=columns["users"], items=columns["items"], values=columns["values"],
                      user_ids=ids(columns["user_ids"]), item_ids=ids(columns["item_ids"]),
                      scale=tuple(meta["scale"]), timestamps=columns.get("timestamps"),
                      item_info=item_info, summary=summary)
    return meta["name"], meta["path"], ratings


def _size(folder: Path) -> int:
    return sum(entry.stat().st_size for entry in folder.iterdir() if entry.is_file())


def evict(max_bytes: int | None = None) -> list[str]:
    """Remove least recently used datasets until the total is within ``max_bytes`` (default
    :data:`MAX_BYTES`), always keeping the most recent one; returns the removed keys."""
    limit = MAX_BYTES if max_bytes is None else max_bytes
    if (db := database()) is not None:
        return db.evict(limit)
    root = ROOT / "datasets"
    if not root.is_dir():
        return []
    folders = [f for f in root.iterdir() if f.is_dir() and is_fingerprint(f.name)]
    folders.sort(key=lambda f: f.stat().st_mtime, reverse=True)
    sizes = [_size(f) for f in folders]
    removed, total = [], sum(sizes)
    for folder, size in zip(folders[:0:-1], sizes[:0:-1]):
        if total <= limit:
            break
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder.name)
        total -= size
    return removed


def new_session() -> str:
    """A fresh session name for the URL."""
    return hashlib.sha256(f"{time.time_ns()}{os.getpid()}{os.urandom(8).hex()}".encode()).hexdigest()[
        :FINGERPRINT_CHARS]


RUN_DAYS = float(os.environ.get("MFP_RUN_DAYS", 14))
"""Days a session's runs are kept after the last time the session (or one referring to it) was read."""


def run_key(session: str, number: int) -> str:
    """The store key of run ``number`` of ``session``: ``<session>/<number>``."""
    return f"{session}/{int(number):04d}"


def _run_path(key: str) -> Path | None:
    """The file of run ``key``, or None when ``key`` is not of the shape :func:`run_key` makes."""
    session, _, number = str(key).partition("/")
    if not (is_fingerprint(session) and number.isdigit() and len(number) <= 9):
        return None
    return ROOT / "runs" / session / f"{number}.json"


def _write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to a fresh temporary file beside ``path``, then rename it into place: a reader sees
    the old file or the new one, never a mix, and two writers of different files never collide."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, staging = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w") as file:
            file.write(text)
        os.replace(staging, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(staging)
        raise


def _write(path: Path, text: str) -> bool:
    """:func:`_write_atomic`, False (and :func:`problem` set) when the store cannot be written."""
    try:
        _write_atomic(path, text)
    except OSError as exc:
        _failed(exc)
        return False
    _wrote()
    return True


def save_run(key: str, record: dict) -> bool:
    """Keep one run's JSON record under ``key`` (:func:`run_key`); a record that is no longer running
    makes its curve file (:func:`append_epoch`) redundant, which is removed. False when the store
    cannot be written."""
    path = _run_path(key)
    if path is not None and (db := database()) is not None:
        return db.save_run(key, record)
    if path is None or not _write(path, json.dumps(record)):
        return False
    if record.get("status") != "running":
        with contextlib.suppress(OSError):
            path.with_suffix(".curve").unlink()
    return True


def append_epoch(key: str, row: list) -> bool:
    """Append one epoch's row to run ``key``'s curve file (one JSON line, one ``write`` on a file opened
    for appending, so a kill leaves at most a torn last line, which :func:`load_curve` drops). False
    when the store cannot be written."""
    path = _run_path(key)
    if path is None:
        return False
    if (db := database()) is not None:
        return db.append_epoch(key, row)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = os.open(path.with_suffix(".curve"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(handle, (json.dumps(row) + "\n").encode())
        finally:
            os.close(handle)
    except OSError as exc:
        _failed(exc)
        return False
    return True


def load_curve(key: str) -> list[list]:
    """The rows :func:`append_epoch` wrote for run ``key``, in order, up to the first torn or damaged
    line; empty when there are none."""
    path = _run_path(key)
    if path is not None and (db := database()) is not None:
        return db.load_curve(key)
    try:
        lines = path.with_suffix(".curve").read_text().split("\n") if path is not None else []
    except (OSError, ValueError):
        return []
    rows = []
    for line in lines:
        try:
            row = json.loads(line)
        except ValueError:
            break
        if not isinstance(row, list):
            break
        rows.append(row)
    return rows


def load_run(key: str) -> dict | None:
    """The record stored under ``key``, or None when there is none (or it is damaged)."""
    path = _run_path(key)
    if path is not None and (db := database()) is not None:
        return db.load_run(key)
    try:
        return json.loads(path.read_text()) if path is not None else None
    except (OSError, ValueError):
        return None


def save_index(session: str, keys: list[str]) -> bool:
    """Keep the list of run keys ``session`` shows (its own runs and those it refers to); False when
    the store cannot be written."""
    if is_fingerprint(session) and (db := database()) is not None:
        return db.save_index(session, keys)
    return is_fingerprint(session) and _write(ROOT / "runs" / session / "index.json", json.dumps(list(keys)))


def load_index(session: str) -> list[str]:
    """The run keys ``session`` shows, oldest first (empty when unknown); touches the folders they are
    in, so the runs a session refers to live as long as it is used."""
    if not is_fingerprint(session):
        return []
    if (db := database()) is not None:
        return [key for key in db.load_index(session) if _run_path(key) is not None]
    try:
        keys = json.loads((ROOT / "runs" / session / "index.json").read_text())
    except (OSError, ValueError):
        return []
    keys = [key for key in keys if isinstance(key, str) and _run_path(key) is not None]
    for folder in {ROOT / "runs" / key.partition("/")[0] for key in keys} | {ROOT / "runs" / session}:
        with contextlib.suppress(OSError):
            os.utime(folder)
    return keys


def evict_runs(max_days: float | None = None) -> list[str]:
    """Remove the run folders of sessions untouched for ``max_days`` (default :data:`RUN_DAYS`);
    returns their names."""
    days = RUN_DAYS if max_days is None else max_days
    if (db := database()) is not None:
        return db.evict_runs(days)
    root = ROOT / "runs"
    if not root.is_dir():
        return []
    cutoff = time.time() - 86400 * days
    removed = []
    for folder in root.iterdir():
        with contextlib.suppress(OSError):
            if folder.is_dir() and is_fingerprint(folder.name) and folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder.name)
    return removed

