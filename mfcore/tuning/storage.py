"""Where studies live: one SQLite file per study under :func:`data_dir` by default, any SQLAlchemy URL
otherwise; who may join a study, and with which sampler seed.

Several workers (processes, machines) may share one study. Three things keep such a study honest:

- **Its identity.** The first worker records the dataset's fingerprint, the seed and the search
  space in the study's user attributes (:data:`IDENTITY`); a worker arriving with other data, seed or
  ranges is refused (:class:`StudyMismatch`), because its trials would be mixed with the others' and
  the best trial could be another dataset's.
- **Its own sampler seed per worker.** Workers seeded alike draw the same configurations (TPE's
  random start-up trials first of all). The worker that creates the study is worker 0, so a search
  alone repeats itself; every worker that joins an existing study takes a fresh random worker id,
  and its sampler seed is derived from the study's seed, the study's name and that id
  (:func:`sampler_seed`).
- **Heartbeats.** A trial's worker writes a heartbeat every :data:`HEARTBEAT_SECONDS`; a trial whose
  heartbeat is older than :data:`GRACE_SECONDS` (its worker was killed) is marked failed by the next
  live worker's epoch, trial start or report (:func:`fail_stale`), and retried once (Optuna's
  ``RetryHeartbeatStaleTrialCallback``, which replaced ``RetryFailedTrialCallback``). Without it a
  ``kill -9`` leaves a trial RUNNING forever, counted in every total.

Storage URLs may carry a password: every message that names one uses :func:`redact`, and any
other text that may quote one (a driver's error) goes through :func:`mfcore.tuning.redaction.scrub`.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import sqlite3
import time
import warnings
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import optuna

from . import redaction
from .pruning import DEFAULT_PRUNER, make_pruner

HEARTBEAT_SECONDS = 5
"""Seconds between two heartbeats of a running trial (Optuna's ``RDBStorage(heartbeat_interval=)``,
written by a thread of the trial's worker, so even a long epoch beats: the kernels release the GIL)."""
GRACE_SECONDS = 20
"""A running trial whose last heartbeat is older than this (Optuna's ``grace_period``: four missed
beats) is its dead worker's: marked failed and retried. Any live worker of the study checks after
every epoch (at most every :data:`HEARTBEAT_SECONDS`), at every trial start and before its report, so
a killed worker's trial is failed within ``GRACE_SECONDS + HEARTBEAT_SECONDS`` plus one epoch."""
MAX_RETRY = 1
"""How many times a trial failed by a dead worker is run again (by whichever worker is next)."""
IDENTITY = ("dataset", "seed", "space")
"""The study user attributes a joining worker must match."""


class StorageError(ValueError):
    """The storage cannot be opened or created (a bad URL, a file that is not a database, a data
    directory that is a file): one sentence naming the URL with its password hidden."""


class StudyMismatch(ValueError):
    """A worker's dataset, seed or search space differ from those its study was created with."""


def data_dir() -> Path:
    """Where default studies live: ``$MFCORE_DATA_DIR``, else ``mfcore-data`` in the working
    directory (visible, safe to delete)."""
    return Path(os.environ.get("MFCORE_DATA_DIR", "mfcore-data"))


_STUDY_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


def redact(url: str) -> str:
    """``url`` with its user-info, query, fragment and a non-numeric port shown as ``***``, for any
    text (the rule: :mod:`mfcore.tuning.redaction`)."""
    return redaction.redact(url)


def _parse(url: str):
    """SQLAlchemy's URL object of ``url``; :class:`StorageError`, one sentence naming the redacted URL
    and what is wrong, when it is not one. The error is raised outside any ``except``, so no
    exception carrying the text is chained to it."""
    from sqlalchemy.engine import make_url
    parts = redaction.split_url(url)
    problem, parsed = "", None
    if "@" in parts["userinfo"]:
        problem = "its user name or password holds a raw '@' (write it as %40)"
    elif parts["ambiguous"]:
        problem = "a '?' or '#' comes before its last '@' (in a password, write them as %3F and %23)"
    else:
        try:
            parsed = make_url(url)
        except Exception:  # noqa: BLE001 - any text that is no URL: the sentence below
            problem = (f"its port is not a number up to {redaction.MAX_PORT}"
                       if parts["scheme"] and redaction.is_secret_port(parts["port"]) else
                       "not a SQLAlchemy URL (e.g. sqlite:///path.sqlite3 or postgresql://user@host/db)")
    if parsed is None:
        raise StorageError(f"cannot open storage {redact(url)}: {problem}.")
    return parsed


def default_storage(study_name: str) -> str:
    """The SQLite URL of ``study_name``'s own file, ``<data_dir>/studies/<study_name>.sqlite3``.
    Raises :class:`StorageError` when the folder cannot be made (e.g. ``MFCORE_DATA_DIR`` is a file)."""
    if not _STUDY_NAME.match(study_name):
        raise ValueError(f"study name {study_name!r} must be 1-100 letters, digits, '_', '.' or '-'.")
    folder = data_dir() / "studies"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"cannot make the study folder {folder} (is MFCORE_DATA_DIR={data_dir()} a "
                           f"file, or not writable?): {exc.strerror or exc}.") from None
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


def open_storage(url: str, heartbeat: tuple[int, int] | None = (HEARTBEAT_SECONDS, GRACE_SECONDS)
                 ) -> optuna.storages.BaseStorage:
    """Optuna's relational storage for the SQLAlchemy ``url`` (a SQLite file made fast, see above),
    with heartbeats ``(interval, grace)`` in seconds (None: none; never for an in-memory SQLite
    database, which only one connection sees). A storage object (e.g. Optuna's in-memory storage) is
    returned as it is. Raises :class:`StorageError`, one sentence with the password hidden, when it
    cannot be opened."""
    import sqlalchemy.exc
    if isinstance(url, optuna.storages.BaseStorage):
        return url
    parsed = _parse(url)
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise StorageError(f"cannot open storage {redact(url)}: its port is not a number from 1 to 65535.")
    kwargs: dict = {}
    in_memory = parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:")
    if parsed.get_backend_name() == "sqlite" and not in_memory:
        kwargs["engine_kwargs"] = {"creator": _sqlite_connector(parsed.database)}
    if heartbeat is not None and not in_memory:
        kwargs.update(heartbeat_interval=int(heartbeat[0]), grace_period=int(heartbeat[1]),
                      heartbeat_stale_trial_callback=_retry_stale())
    failure = ""
    for attempt in range(5):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return optuna.storages.RDBStorage(url, **kwargs)
        except sqlalchemy.exc.DBAPIError as exc:
            # another process or thread created the same tables or types at the same moment
            racing = isinstance(exc, sqlalchemy.exc.IntegrityError) or "already exists" in str(exc)
            failure = _first_line(exc.orig or exc)
            if attempt == 4 or not racing:
                break
        except Exception as exc:  # noqa: BLE001 - a driver, a dialect or the file system: one sentence
            failure = _first_line(exc)
            break
        time.sleep(0.2 * (attempt + 1))
    raise StorageError(f"cannot open storage {redact(url)}: {redaction.scrub(failure, url)}")


def _retry_stale():
    """Optuna's callback that queues a stale trial's parameters again, up to :data:`MAX_RETRY` times,
    so the trial a dead worker held is still run (by whichever worker is next)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def sampler_seed(seed: int, study_name: str, worker: int) -> int:
    """The TPE seed of ``worker`` on ``study_name``: ``seed`` itself for worker 0 (the study's
    creator, so a search alone repeats itself), else a 32-bit number drawn from
    ``SeedSequence([seed, crc32(study_name), worker])``: distinct workers, distinct draws."""
    if worker == 0:
        return int(seed)
    entropy = [int(seed) & 0xFFFFFFFF, zlib.crc32(study_name.encode()), int(worker) & 0xFFFFFFFFFFFFFFFF]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])


def identity(dataset: str, seed: int, space: dict) -> dict:
    """The user attributes that say what a study searches: the dataset fingerprint, the seed and the
    search space (each range as ``[low, high, log]``), JSON-ready."""
    return {"dataset": dataset, "seed": int(seed),
            "space": {name: [rng.low, rng.high, rng.log] for name, rng in sorted(space.items())}}


def _check_identity(study: optuna.Study, wanted: dict) -> None:
    """Record ``wanted`` on a study that has no identity yet; refuse one that has another."""
    have = study.user_attrs
    if not all(key in have for key in IDENTITY):
        for key in IDENTITY:
            study.set_user_attr(key, wanted[key])
        have = optuna.load_study(study_name=study.study_name, storage=study._storage).user_attrs
    different = [key for key in IDENTITY if json.dumps(have.get(key), sort_keys=True)
                 != json.dumps(wanted[key], sort_keys=True)]
    if different:
        raise StudyMismatch(
            f"study {study.study_name!r} was created with another {' and '.join(different)} "
            f"(dataset {str(have.get('dataset'))[:12]}, seed {have.get('seed')}), so its trials cannot "
            "be mixed with this search's: choose another study name.")


def join_study(study_name: str, storage: str | None = None, seed: int = 0, pruner: str = DEFAULT_PRUNER,
               max_epochs: int = 100, worker: int | None = None, identity: dict | None = None,
               heartbeat: tuple[int, int] | None = (HEARTBEAT_SECONDS, GRACE_SECONDS),
               direction: str = "minimize") -> tuple[optuna.Study, int]:
    """Create the study ``study_name`` in ``storage`` (a SQLAlchemy URL; None: :func:`default_storage`)
    or join it, minimising (an RMSE; ``direction="maximize"``: a ranking model's NDCG,
    :mod:`mfcore.tuning.ranking`). Returns the study and this worker's id: 0 for its creator, a random
    63-bit id for a joiner (``worker`` forces one). The TPE sampler is seeded by
    :func:`sampler_seed`. ``identity`` (:func:`identity`) is recorded by the first worker and checked
    against every later one (:class:`StudyMismatch`)."""
    url = storage if storage is not None else default_storage(study_name)
    backend = open_storage(url, heartbeat)
    created = False
    try:
        wanted = (optuna.study.StudyDirection.MAXIMIZE if direction == "maximize"
                  else optuna.study.StudyDirection.MINIMIZE)
        backend.create_new_study([wanted], study_name)
        created = True
    except optuna.exceptions.DuplicatedStudyError:
        pass
    if worker is None:
        worker = 0 if created else secrets.randbits(63) or 1
    sampler = optuna.samplers.TPESampler(seed=sampler_seed(seed, study_name, worker), n_startup_trials=10,
                                         multivariate=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study = optuna.load_study(study_name=study_name, storage=backend, sampler=sampler,
                                  pruner=make_pruner(pruner, max_epochs))
    if study.direction.name.lower() != direction:
        raise StudyMismatch(f"study {study_name!r} {'maximises' if direction == 'minimize' else 'minimises'}, "
                            "so it is not a study of this search: choose another study name.")
    if identity is not None:
        _check_identity(study, identity)
    return study, worker


def create_study(study_name: str, storage: str | None = None, seed: int = 0,
                 pruner: str = DEFAULT_PRUNER, max_epochs: int = 100, worker: int | None = None,
                 identity: dict | None = None,
                 heartbeat: tuple[int, int] | None = (HEARTBEAT_SECONDS, GRACE_SECONDS),
                 direction: str = "minimize") -> optuna.Study:
    """:func:`join_study` without the worker id."""
    return join_study(study_name, storage, seed, pruner, max_epochs, worker, identity, heartbeat, direction)[0]


def fail_stale(study: optuna.Study) -> None:
    """Mark failed (and queue for retry) the running trials whose worker stopped beating: Optuna does
    it when a trial starts; call it before reporting, so a finished search counts no dead trial."""
    from optuna.storages._heartbeat import is_heartbeat_enabled
    if is_heartbeat_enabled(study._storage):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)
