"""Which server processes are alive: each beats a heartbeat in the store's backend (a file's time under
``<MFP_STORE_DIR>/servers/``, or a row of the database's ``mfp_replicas``) every
:data:`HEARTBEAT_SECONDS`, and a server silent for :data:`LEASE_SECONDS` is gone. A run recorded
``running`` by another server is shown as still training while that server beats, and as
``interrupted`` once its lease expired (:meth:`dashboard.server.run_record.Run.from_record`), so a
replica that died never leaves a run running forever.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path

from dashboard.server import store

HEARTBEAT_SECONDS = float(os.environ.get("MFP_HEARTBEAT_SECONDS", 2))
"""Seconds between two heartbeats of a server process (:func:`start_heartbeat`)."""
LEASE_SECONDS = 4 * HEARTBEAT_SECONDS
"""A server whose last heartbeat is older than this is gone: the runs it recorded ``running`` were
interrupted (four beats missed: a busy machine delays one beat, not four)."""
FORGET_SECONDS = 86400.0
"""Heartbeats older than this (servers long gone) are removed when a server starts beating."""
_beating: dict = {}


def _beat_file(server: str) -> Path:
    return store.ROOT / "servers" / server


def beat(server: str) -> bool:
    """Record one heartbeat of ``server`` (a file's time under ``servers/``, or a database row)."""
    if (db := store.database()) is not None:
        return db.beat(server)
    try:
        _beat_file(server).parent.mkdir(parents=True, exist_ok=True)
        _beat_file(server).touch()
    except OSError:
        return False
    return True


def beat_age(server: str) -> float | None:
    """Seconds since ``server``'s last heartbeat, None when it never beat (or cannot be read)."""
    if not store.is_fingerprint(server):
        return None
    if (db := store.database()) is not None:
        return db.beat_age(server)
    try:
        return max(0.0, time.time() - _beat_file(server).stat().st_mtime)
    except OSError:
        return None


def forget(older_than: float) -> None:
    """Remove the heartbeats older than ``older_than`` seconds."""
    if (db := store.database()) is not None:
        db.forget_beats(older_than)
        return
    with contextlib.suppress(OSError):
        for path in (store.ROOT / "servers").iterdir():
            with contextlib.suppress(OSError):
                if time.time() - path.stat().st_mtime > older_than:
                    path.unlink()


def start_heartbeat(server: str) -> None:
    """Beat for ``server`` now and then every :data:`HEARTBEAT_SECONDS` from a daemon thread, for as long
    as the process lives (once per process: a later call does nothing)."""
    if _beating.get("thread") is not None:
        return
    beat(server)
    forget(FORGET_SECONDS)

    def loop() -> None:
        while True:
            time.sleep(HEARTBEAT_SECONDS)
            beat(server)
    _beating["thread"] = threading.Thread(target=loop, name="store-heartbeat", daemon=True)
    _beating["thread"].start()


def _fresh(age: float | None) -> bool:
    """Whether a heartbeat ``age`` seconds old (None: none) is within :data:`LEASE_SECONDS`."""
    return age is not None and age < LEASE_SECONDS


def beating(server: str) -> bool:
    """Whether ``server``'s last heartbeat is within its lease, read once without waiting (a watcher
    that reads again later; :func:`server_alive` waits for proof)."""
    return _fresh(beat_age(server))


def server_alive(server: str, patience: float | None = None) -> bool:
    """Whether ``server`` still beats: its last heartbeat is younger than :data:`LEASE_SECONDS`. A beat
    younger than that is watched for up to ``patience`` seconds (default: until the lease would
    expire): the next beat proves it alive, none proves it gone. So a reader right after a replica was
    killed waits at most one lease, and never shows a dead replica's run as being trained."""
    age = beat_age(server)
    if not _fresh(age):
        return False
    deadline = time.monotonic() + (LEASE_SECONDS - age if patience is None else patience)
    while time.monotonic() < deadline:
        time.sleep(min(0.25, HEARTBEAT_SECONDS / 4))
        newer = beat_age(server)
        if newer is None:
            return False
        if newer < age:
            return True
        age = newer
        if age >= LEASE_SECONDS:
            return False
    return age < LEASE_SECONDS
