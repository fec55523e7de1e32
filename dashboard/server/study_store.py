"""Where a Tune search's study lives: in the shared database when ``MFP_DATABASE_URL`` is set (Optuna's
own tables beside the store's, so every replica opens it and ``python -m mfcore tune --storage URL
--study NAME`` workers on other machines join it), else its own SQLite file under ``MFCORE_DATA_DIR``
(:func:`mfcore.tuning.default_storage`), or, when that folder cannot be written (read-only, full, a
file), Optuna's in-memory storage for this server process, with one sentence naming the setting. An
in-memory study is followed and reopened by its link while this server runs (the search's job is
kept live, :data:`dashboard.logic.search._LIVE`); it is lost with the server.
"""

from __future__ import annotations

import os

import optuna

from mfcore import tuning
from mfcore.tuning.storage import StorageError, data_dir

from dashboard.server import store

SETTING = "MFCORE_DATA_DIR"


def shared_url() -> str:
    """The database URL every replica's studies live in (``MFP_DATABASE_URL``), ``""`` when unset."""
    return os.environ.get(store.DATABASE_SETTING, "").strip()


def find(name: str) -> str | None:
    """The storage URL of the existing study ``name`` (a ``?study=`` link), None when there is none."""
    url = shared_url()
    if url:
        try:
            names = optuna.get_all_study_names(tuning.open_storage(url, heartbeat=None))
        except (StorageError, RuntimeError, ValueError):
            return None
        return url if name in names else None
    if not (data_dir() / "studies" / f"{name}.sqlite3").is_file():
        return None
    return tuning.default_storage(name)


def create(name: str, seed: int, identity: dict, direction: str) -> tuple[str | optuna.storages.BaseStorage,
                                                                          optuna.Study, str]:
    """``(storage, study, problem)`` for the new study ``name``: the shared database, else its SQLite
    file; memory when that cannot be used, with ``problem`` the sentence saying why (``""`` otherwise)."""
    try:
        storage = shared_url() or tuning.default_storage(name)
        study = tuning.create_study(name, storage, seed, worker=0, identity=identity, direction=direction)
        return storage, study, ""
    except StorageError as exc:
        reason = str(exc).rsplit(": ", 1)[-1].rstrip(".") or "it cannot be written"
        if shared_url():  # the sentence already names the URL with its secrets hidden
            return _memory(name, seed, identity, direction, f"The study database cannot be used ({exc})")
    where = os.environ.get(SETTING) or f"{data_dir()} (unset: the working directory's)"
    return _memory(name, seed, identity, direction,
                   f"The study folder cannot be written ({SETTING}={where}: {reason})")


def _memory(name: str, seed: int, identity: dict, direction: str, why: str):
    memory = optuna.storages.InMemoryStorage()
    study = tuning.create_study(name, memory, seed, worker=0, identity=identity, direction=direction)
    return memory, study, (f"{why.rstrip('.')}, so this search "
                           "is kept in memory only: it works for this session, and its link works while this "
                           "server runs, but it is lost when the server restarts.")
