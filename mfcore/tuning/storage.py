"""Where studies live: one SQLite file per study under :func:`data_dir` by default, any SQLAlchemy URL
otherwise.
"""

from __future__ import annotations

import os
import re
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import optuna

from .pruning import DEFAULT_PRUNER, make_pruner


def data_dir() -> Path:
    """Where default studies live: ``$MFCORE_DATA_DIR``, else ``mfcore-data`` in the working
    directory (visible, safe to delete)."""
    return Path(os.environ.get("MFCORE_DATA_DIR", "mfcore-data"))


_STUDY_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


def default_storage(study_name: str) -> str:
    """The SQLite URL of ``study_name``'s own file, ``<data_dir>/studies/<study_name>.sqlite3``."""
    if not _STUDY_NAME.match(study_name):
        raise ValueError(f"study name {study_name!r} must be 1-100 letters, digits, '_', '.' or '-'.")
    folder = data_dir() / "studies"
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(folder / study_name).resolve()}.sqlite3"


def _sqlite_connector(path: str) -> Callable[[], sqlite3.Connection]:
    """Connections to the SQLite file ``path`` with write-ahead logging and no fsync per commit (a
    trial reports every epoch, and a synchronous commit each time costs more than the epoch; a power
    cut may lose the last trials, never corrupt the file), waiting up to 60 s for other processes'
    writes."""
    def connect() -> sqlite3.Connection:
        connection = sqlite3.connect(path, timeout=60, check_same_thread=False)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=OFF")
        return connection
    return connect


def open_storage(url: str) -> optuna.storages.BaseStorage:
    """Optuna's relational storage for the SQLAlchemy ``url`` (a SQLite file made fast, see above)."""
    import sqlalchemy.exc
    from sqlalchemy.engine import make_url
    parsed = make_url(url)
    kwargs = {}
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        kwargs = {"engine_kwargs": {"creator": _sqlite_connector(parsed.database)}}
    for attempt in range(5):
        try:
            return optuna.storages.RDBStorage(url, **kwargs)
        except sqlalchemy.exc.DBAPIError as exc:
            # another process or thread created the same tables or types at the same moment
            racing = isinstance(exc, sqlalchemy.exc.IntegrityError) or "already exists" in str(exc)
            if attempt == 4 or not racing:
                raise
            time.sleep(0.2 * (attempt + 1))


def create_study(study_name: str, storage: str | None = None, seed: int = 0,
                 pruner: str = DEFAULT_PRUNER, max_epochs: int = 100) -> optuna.Study:
    """Create or load (``load_if_exists``) the study ``study_name`` in ``storage`` (a SQLAlchemy URL;
    None: :func:`default_storage`), minimising, with a TPE sampler seeded by ``seed``."""
    url = storage or default_storage(study_name)
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=10, multivariate=True)
    return optuna.create_study(study_name=study_name, storage=open_storage(url), sampler=sampler,
                               pruner=make_pruner(pruner, max_epochs), direction="minimize",
                               load_if_exists=True)
