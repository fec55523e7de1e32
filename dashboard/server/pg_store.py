"""The PostgreSQL backend of the server's store, chosen by ``MFP_DATABASE_URL``
(:func:`dashboard.server.store.database`): what :mod:`dashboard.server.store` keeps in files, kept in
one database that every replica of the dashboard shares, so any replica opens any session's link.

Tables (all named ``mfp_*``, beside Optuna's own tables when the studies live in the same database):

- ``mfp_schema``: the schema's version. :meth:`PostgresStore.migrate` applies the steps of
  :data:`MIGRATIONS` past it, in one transaction under an advisory lock, so replicas starting together
  migrate once.
- ``mfp_datasets``: one row per fingerprint: display name, path, metadata (scale, load summary) as
  JSON, the ratings as the same ``.npz`` bytes the files backend writes and the titles as Parquet bytes
  (``bytea``); ``used`` is refreshed by every read and orders the eviction (least recently used first,
  the newest always kept, past ``MFP_STORE_MB``).
- ``mfp_runs``: one row per run key (``<session>/<number>``): the JSON record; ``mfp_curves``: the rows
  a running run appends epoch by epoch (deleted when its final record is written).
- ``mfp_sessions``: each session's index (the run keys it shows, a JSON list) and when it was last
  read; sessions unread for ``MFP_RUN_DAYS`` days are removed with their runs.
- ``mfp_replicas``: each server process's heartbeat (:meth:`PostgresStore.beat`), the lease that tells
  a reader whether a run recorded ``running`` by another replica is still trained or was cut short.

Every write is one transaction (a reader sees a whole record or the one before it; two replicas
writing different runs of one session both keep theirs). A failed write or read never fails a page:
it returns False (or nothing) and :meth:`PostgresStore.problem` gives the one sentence the pages
show, with the URL's secrets hidden (:func:`mfcore.tuning.redaction.redact`, ``scrub``).
"""

from __future__ import annotations

import contextlib
import io
import json
import threading

import numpy as np
import pandas as pd

from mfcore.tuning import redaction

SETTING = "MFP_DATABASE_URL"
MAX_CONNECTIONS = 16
"""Connections one server process opens at most (a page script or a job holds one for one
transaction; more wait their turn), so replicas x 16 stays within PostgreSQL's default 100."""
MAX_IDLE = 8
"""Connections kept open for reuse between transactions."""

MIGRATIONS = (
    """CREATE TABLE IF NOT EXISTS mfp_datasets (
           key text PRIMARY KEY, name text NOT NULL, path text NOT NULL, meta jsonb NOT NULL,
           ratings bytea NOT NULL, items bytea, size bigint NOT NULL, used timestamptz NOT NULL DEFAULT now());
       CREATE TABLE IF NOT EXISTS mfp_sessions (
           name text PRIMARY KEY, runs jsonb NOT NULL DEFAULT '[]', used timestamptz NOT NULL DEFAULT now());
       CREATE TABLE IF NOT EXISTS mfp_runs (
           key text PRIMARY KEY, session text NOT NULL, record jsonb NOT NULL,
           updated timestamptz NOT NULL DEFAULT now());
       CREATE INDEX IF NOT EXISTS mfp_runs_session ON mfp_runs (session);
       CREATE TABLE IF NOT EXISTS mfp_curves (
           key text NOT NULL, epoch integer NOT NULL, row jsonb NOT NULL, PRIMARY KEY (key, epoch));
       CREATE TABLE IF NOT EXISTS mfp_replicas (server text PRIMARY KEY, beat timestamptz NOT NULL);""",
)
"""Schema steps: step ``i`` takes the schema from version ``i`` to ``i + 1``. Append, never edit."""
_LOCK = 4_212_028  # the advisory lock key of a migration


def connection_url(url: str) -> str:
    """``url`` as libpq reads it: an SQLAlchemy driver suffix (``postgresql+psycopg://``) dropped."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme.split('+', 1)[0]}{sep}{rest}" if sep else url


class PostgresStore:
    """The store's functions (:mod:`dashboard.server.store`) on the PostgreSQL database at ``url``;
    the schema is created or migrated on first use."""

    def __init__(self, url: str):
        self.url = url
        self._idle: list = []
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self._failure = ""
        self._migrated = False

    # -- connections and failures -------------------------------------------------------------------
    def _sentence(self, exc: BaseException) -> str:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return (f"The server's database cannot be used ({SETTING}={redaction.redact(self.url)}: "
                f"{redaction.scrub(first, self.url)}), so this session keeps its dataset and runs in memory only "
                "and a reload or a copied link will not find them.")

    @contextlib.contextmanager
    def transaction(self):
        """A cursor inside one transaction (committed when the block ends, rolled back on an error),
        on a reused connection; the schema is migrated first if this process has not yet."""
        import psycopg
        if not self._migrated:
            self.migrate()
        with self._slots:
            try:
                connection = self._idle.pop()
            except IndexError:
                connection = psycopg.connect(connection_url(self.url), connect_timeout=10, autocommit=True)
            try:
                with connection.transaction(), connection.cursor() as cursor:
                    yield cursor
            finally:
                if connection.closed or connection.broken or len(self._idle) >= MAX_IDLE:
                    connection.close()
                else:
                    self._idle.append(connection)

    def _write(self, step) -> bool:
        """Run ``step(cursor)`` in one transaction; False (and :meth:`problem` set) when it fails."""
        import psycopg
        try:
            with self.transaction() as cursor:
                step(cursor)
        except psycopg.Error as exc:
            self._failure = self._sentence(exc)
            return False
        self._failure = ""
        return True

    def _read(self, step, default):
        """``step(cursor)`` in one transaction, ``default`` when the database cannot be read."""
        import psycopg
        try:
            with self.transaction() as cursor:
                return step(cursor)
        except psycopg.Error as exc:
            self._failure = self._sentence(exc)
            return default

    def problem(self) -> str:
        """One sentence when the last use of the database failed, else ``""``."""
        if self._failure:  # try again: a database that is back clears the sentence
            self._read(lambda cursor: cursor.execute("SELECT 1"), None)
        return self._failure

    def migrate(self) -> int:
        """Create the tables or bring them to the last version of :data:`MIGRATIONS`, once across
        replicas (an advisory lock held by the migrating transaction); returns the version."""
        import psycopg
        with (psycopg.connect(connection_url(self.url), connect_timeout=10, autocommit=True) as connection,
              connection.transaction(), connection.cursor() as cursor):
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
            cursor.execute("CREATE TABLE IF NOT EXISTS mfp_schema (version integer NOT NULL)")
            cursor.execute("SELECT version FROM mfp_schema")
            row = cursor.fetchone()
            version = row[0] if row else 0
            if row is None:
                cursor.execute("INSERT INTO mfp_schema VALUES (0)")
            for step in MIGRATIONS[version:]:
                cursor.execute(step)
            cursor.execute("UPDATE mfp_schema SET version = %s", (len(MIGRATIONS),))
        self._migrated = True
        return len(MIGRATIONS)

    # -- datasets -----------------------------------------------------------------------------------
    def save_dataset(self, key: str, name: str, path: str, arrays: dict, item_info, meta: dict,
                     max_bytes: int) -> bool:
        """Keep a dataset under ``key`` (a second save of the same key only refreshes its time), then
        evict past ``max_bytes``."""
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        items = None
        if item_info is not None:
            parquet = io.BytesIO()
            item_info.to_parquet(parquet, index=False)
            items = parquet.getvalue()
        ratings = buffer.getvalue()

        def step(cursor):
            cursor.execute("INSERT INTO mfp_datasets (key, name, path, meta, ratings, items, size) "
                           "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (key) DO UPDATE SET used = now()",
                           (key, name, path, json.dumps(meta), ratings, items, len(ratings) + len(items or b"")))
        return self._write(step) and (self.evict(max_bytes) is not None)

    def load_dataset(self, key: str) -> tuple[str, str, dict, pd.DataFrame | None, dict] | None:
        """(name, path, arrays, item info, meta) under ``key``, or None; the read refreshes its time."""
        def step(cursor):
            cursor.execute("UPDATE mfp_datasets SET used = now() WHERE key = %s "
                           "RETURNING name, path, ratings, items, meta", (key,))
            return cursor.fetchone()
        row = self._read(step, None)
        if row is None:
            return None
        name, path, ratings, items, meta = row
        with np.load(io.BytesIO(ratings), allow_pickle=False) as arrays:
            columns = {column: arrays[column] for column in arrays.files}
        item_info = pd.read_parquet(io.BytesIO(items)) if items is not None else None
        return name, path, columns, item_info, meta

    def evict(self, max_bytes: int) -> list[str]:
        """Remove least recently used datasets until their total is within ``max_bytes``, the most
        recent always kept; returns the removed keys."""
        def step(cursor):
            cursor.execute("LOCK TABLE mfp_datasets IN SHARE ROW EXCLUSIVE MODE")
            cursor.execute("DELETE FROM mfp_datasets WHERE key IN (SELECT key FROM (SELECT key, "
                           "sum(size) OVER (ORDER BY used DESC, key) AS total, "
                           "row_number() OVER (ORDER BY used DESC, key) AS rank FROM mfp_datasets) ranked "
                           "WHERE rank > 1 AND total > %s) RETURNING key", (max_bytes,))
            return sorted(row[0] for row in cursor.fetchall())
        return self._read(step, [])

    # -- runs ---------------------------------------------------------------------------------------
    def save_run(self, key: str, record: dict) -> bool:
        """Keep one run's record; a record no longer running drops its curve rows, in the same
        transaction."""
        def step(cursor):
            cursor.execute("INSERT INTO mfp_runs (key, session, record) VALUES (%s, %s, %s) ON CONFLICT (key) "
                           "DO UPDATE SET record = EXCLUDED.record, updated = now()",
                           (key, key.partition("/")[0], json.dumps(record)))
            if record.get("status") != "running":
                cursor.execute("DELETE FROM mfp_curves WHERE key = %s", (key,))
        return self._write(step)

    def append_epoch(self, key: str, row: list) -> bool:
        """Append one epoch's row to run ``key``'s curve."""
        def step(cursor):
            cursor.execute("INSERT INTO mfp_curves (key, epoch, row) VALUES (%s, (SELECT count(*) FROM "
                           "mfp_curves WHERE key = %s), %s)", (key, key, json.dumps(row)))
        return self._write(step)

    def load_curve(self, key: str) -> list[list]:
        def step(cursor):
            cursor.execute("SELECT row FROM mfp_curves WHERE key = %s ORDER BY epoch", (key,))
            return [row[0] for row in cursor.fetchall()]
        return self._read(step, [])

    def load_run(self, key: str) -> dict | None:
        def step(cursor):
            cursor.execute("SELECT record FROM mfp_runs WHERE key = %s", (key,))
            row = cursor.fetchone()
            return row[0] if row else None
        return self._read(step, None)

    def save_index(self, session: str, keys: list[str]) -> bool:
        def step(cursor):
            cursor.execute("INSERT INTO mfp_sessions (name, runs) VALUES (%s, %s) ON CONFLICT (name) "
                           "DO UPDATE SET runs = EXCLUDED.runs, used = now()", (session, json.dumps(list(keys))))
        return self._write(step)

    def load_index(self, session: str) -> list[str]:
        """The run keys ``session`` shows; refreshes the time of it and of the sessions it refers to."""
        def step(cursor):
            cursor.execute("SELECT runs FROM mfp_sessions WHERE name = %s", (session,))
            row = cursor.fetchone()
            keys = [key for key in (row[0] if row else []) if isinstance(key, str)]
            names = sorted({key.partition("/")[0] for key in keys} | {session})
            cursor.execute("UPDATE mfp_sessions SET used = now() WHERE name = ANY(%s)", (names,))
            return keys
        return self._read(step, [])

    def evict_runs(self, max_days: float) -> list[str]:
        """Remove the sessions unread for ``max_days`` days, with their runs and curves."""
        def step(cursor):
            cursor.execute("DELETE FROM mfp_sessions WHERE used < now() - make_interval(secs => %s) "
                           "RETURNING name", (86400.0 * max_days,))
            gone = sorted(row[0] for row in cursor.fetchall())
            cursor.execute("DELETE FROM mfp_curves WHERE split_part(key, '/', 1) = ANY(%s)", (gone,))
            cursor.execute("DELETE FROM mfp_runs WHERE session = ANY(%s)", (gone,))
            return gone
        return self._read(step, [])

    # -- replicas -----------------------------------------------------------------------------------
    def beat(self, server: str) -> bool:
        """Record that ``server`` is alive now."""
        def step(cursor):
            cursor.execute("INSERT INTO mfp_replicas (server, beat) VALUES (%s, now()) ON CONFLICT (server) "
                           "DO UPDATE SET beat = now()", (server,))
        return self._write(step)

    def beat_age(self, server: str) -> float | None:
        """Seconds since ``server``'s last heartbeat (database clock), None when it never beat."""
        def step(cursor):
            cursor.execute("SELECT extract(epoch FROM now() - beat) FROM mfp_replicas WHERE server = %s",
                           (server,))
            row = cursor.fetchone()
            return float(row[0]) if row else None
        return self._read(step, None)

    def forget_beats(self, older_than: float) -> bool:
        """Remove the heartbeats older than ``older_than`` seconds."""
        def step(cursor):
            cursor.execute("DELETE FROM mfp_replicas WHERE beat < now() - make_interval(secs => %s)",
                           (float(older_than),))
        return self._write(step)

    def close(self) -> None:
        """Close the idle connections."""
        while self._idle:
            with contextlib.suppress(Exception):
                self._idle.pop().close()
