"""Where a Tune search's study lives: its own SQLite file under ``MFCORE_DATA_DIR``
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

SETTING = "MFCORE_DATA_DIR"


def create(name: str, seed: int, identity: dict, direction: str) -> tuple[str | optuna.storages.BaseStorage,
                                                                          optuna.Study, str]:
    """``(storage, study, problem)`` for the new study ``name``: its SQLite file, else memory, with
    ``problem`` the sentence saying why (``""`` when the file could be written)."""
    try:
        storage = tuning.default_storage(name)
        study = tuning.create_study(name, storage, seed, worker=0, identity=identity, direction=direction)
        return storage, study, ""
    except StorageError as exc:
        reason = str(exc).rsplit(": ", 1)[-1].rstrip(".") or "it cannot be written"
    memory = optuna.storages.InMemoryStorage()
    study = tuning.create_study(name, memory, seed, worker=0, identity=identity, direction=direction)
    where = os.environ.get(SETTING) or f"{data_dir()} (unset: the working directory's)"
    return memory, study, (f"The study folder cannot be written ({SETTING}={where}: {reason}), so this search "
                           "is kept in memory only: it works for this session, and its link works while this "
                           "server runs, but it is lost when the server restarts.")
