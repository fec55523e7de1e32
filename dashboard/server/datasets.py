"""The session's dataset, shared by every page and named in the URL so that it survives a reload.

A loaded dataset is kept in the server's on-disk store (:mod:`dashboard.server.store`) under a short content
fingerprint, and the page URL carries it as ``?data=<fingerprint>``; the session's runs are named by
``?session=<name>``. A fresh session (a reload, a shared link) reads both from the URL. A link whose
dataset the server no longer has falls back to the bundled sample and says so (:func:`missing`).

A session name read from the URL is *linked*, not owned: the browser session shows its runs but
writes none under it. Its first run forks it (:func:`session_name` with ``create``: a new name,
seeded with the linked session's runs by :mod:`dashboard.server.saved_runs`), so two tabs, a duplicated tab
or a copied link never write the same session, and a visitor never changes the owner's runs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from mfcore import DataError, Ratings, load_ratings
from mfcore.evaluation.resources import MemoryGuardError, check_dataset_memory, memory_cap_bytes

from dashboard.server import store
from dashboard.render import safe
from dashboard.render.texts import Markdown, md

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data" / "ratings.csv"
SAMPLE_SNIPPET_PATH = "sample_data/ratings.csv"
KEY = "dataset"
MISSING_KEY = "dataset_missing"
SESSION_KEY = "runs_session"
OWNED_KEY = "runs_session_owned"
DATA_PARAM = "data"
SESSION_PARAM = "session"
URL_PARAMS = (DATA_PARAM, SESSION_PARAM)


@dataclass(frozen=True)
class Dataset:
    """A loaded dataset: a display ``name``, the ``path`` a reproduction script should read, its
    ``key`` (content fingerprint in the store and the URL; ``""`` for the bundled sample) and the
    ``ratings``."""

    name: str
    path: str
    key: str
    ratings: Ratings

    @property
    def caption(self) -> Markdown:
        """The line each page opens with: what the data is, and where to change it (Markdown: the name
        is escaped)."""
        return md("Dataset: {}, {:,} ratings ({:,} users x {:,} items). Change it on Home.", self.name,
                  len(self.ratings), self.ratings.n_users, self.ratings.n_items)


@st.cache_resource(show_spinner=False, max_entries=1)
def _sample_ratings() -> Ratings:
    """The bundled sample, one object shared by every session: its id lookups are built before it
    is shared (:meth:`mfcore.Ratings.indexed`), so nothing about it changes afterwards."""
    return load_ratings(SAMPLE).indexed()


def load(name: str, path: str, raw: bytes, columns: dict | None = None, duplicates: str = "last",
         items: bytes | None = None, report=None, guard: bool = True) -> Dataset:
    """Load ``raw`` bytes (with an optional items file), from the store when the same bytes were
    loaded the same way before; raises :class:`mfcore.DataError` with a one-line message.
    ``report(text)`` is told what happens, step by step. With ``guard``, ratings over the memory cap
    are refused (:func:`check_size`)."""
    say = report or (lambda text: None)
    options = (tuple(sorted((columns or {}).items())), duplicates,
               store.fingerprint(items) if items is not None else "")
    key = store.fingerprint(raw, options)
    in_use = st.session_state.get(KEY)
    if in_use is not None and in_use.key == key:  # a rerun with the same upload: nothing to do
        return in_use
    stored = store.load_dataset(key)
    if stored is not None:
        say(f"Found {name} ({len(raw) / 1e6:,.1f} MB) in the server's store as {key}.")
        if guard:
            check_size(stored[2])
        return Dataset(name, path, key, stored[2])
    say(f"Parsing {name}: {len(raw) / 1e6:,.1f} MB...")
    start = time.perf_counter()
    # an archive may unpack to at most the server's cap per upload, checked while it inflates
    ratings = load_ratings(raw, columns=columns or None, duplicates=duplicates, items=items,
                           max_unpacked_bytes=memory_cap_bytes())
    if guard:
        check_size(ratings)
    say(f"Parsed {len(ratings):,} ratings in {time.perf_counter() - start:.2f} s; storing them as {key}.")
    store.save_dataset(key, name, path, ratings)
    return Dataset(name, path, key, ratings)


def upload_limit_bytes() -> int:
    """The most bytes one uploaded file may have: Streamlit's ``server.maxUploadSize`` (MB)."""
    return int(st.get_option("server.maxUploadSize")) * 1024 * 1024


def movielens_offer() -> dict[str, str]:
    """``{name: label}`` of the MovieLens archives Home offers (:data:`mfcore.datasets.MOVIELENS`),
    each label with its size and what it holds."""
    from mfcore.datasets import MOVIELENS

    return {name: f"MovieLens {name} ({archive.size / 1e6:,.1f} MB): {archive.about}"
            for name, archive in MOVIELENS.items()}


def download_movielens(name: str, progress=None) -> Dataset:
    """MovieLens ``name`` as the session's kind of dataset: the archive from
    :func:`mfcore.datasets.movielens_path` (its pinned SHA-256, the user's cache folder), fetched as a
    job of the shared scheduler, then loaded like an uploaded zip (:func:`load`: the memory cap while
    it inflates, the memory guard on the ratings; titles and genres from its items file).
    Bounded like an upload: an archive larger than :func:`upload_limit_bytes` is refused before any
    byte is fetched, and the download stops at the job's work limit
    (:data:`dashboard.server.jobs.MAX_SECONDS`). ``progress(fraction, text)`` is told how it goes.
    Raises :class:`mfcore.DataError` (:class:`mfcore.datasets.DatasetError` when offline, on an HTTP
    error or a checksum that differs) with one sentence."""
    from mfcore.datasets import MOVIELENS, DatasetError, movielens_path

    from dashboard.server import jobs

    say = progress or (lambda fraction, text: None)
    if name not in MOVIELENS:
        raise DatasetError(f"unknown MovieLens data set {name!r}: use one of {', '.join(MOVIELENS)}.")
    archive = MOVIELENS[name]
    limit = upload_limit_bytes()
    if archive.size > limit:
        raise DatasetError(f"MovieLens {name} is {archive.size / 1e6:,.0f} MB, over this server's limit of "
                           f"{limit / 1e6:,.0f} MB per file: pick a smaller one.")
    received = [0]

    def steps(job):
        def count(size: int, total: int) -> None:
            received[0] = size
            if job.cancelled:
                raise DatasetError(f"the download of {archive.file} was stopped; nothing was kept.")
            if job.elapsed > job.max_seconds:
                raise DatasetError(f"the download of {archive.file} took longer than this server's work limit "
                                   f"of {job.max_seconds:g} s; nothing was kept: try again later.")

        yield movielens_path(name, progress=count)

    job = jobs.submit(steps, f"download MovieLens {name}", engines=("numba",), n_threads=1)

    def poll(job: jobs.Job) -> None:
        if job.state == jobs.QUEUED:
            say(0.0, job.status_line())
        else:
            say(min(received[0] / archive.size, 1.0),
                f"Downloading {archive.file}: {received[0] / 1e6:,.1f} of {archive.size / 1e6:,.1f} MB")

    jobs.follow(job, poll)
    if job.state == jobs.FAILED:
        raise DataError(f"{jobs.failure(job)}." if isinstance(job.error, ValueError) else
                        f"the download of {archive.file} failed: {jobs.failure(job)}.")
    if not job.results:
        raise DataError(f"the download of {archive.file} was stopped before it started; nothing was kept.")
    path = job.results[-1]
    say(1.0, f"Loading {archive.file}...")
    return load(f"MovieLens {name} ({archive.file})", str(path), path.read_bytes())


def check_size(ratings: Ratings) -> None:
    """Refuse a parsed dataset that would take more memory than the cap
    (:func:`mfcore.evaluation.resources.check_dataset_memory`), as a :class:`mfcore.DataError` naming the numbers."""
    try:
        check_dataset_memory(len(ratings), ratings.n_users, ratings.n_items, ratings.timestamps is not None)
    except MemoryGuardError as exc:
        raise DataError(str(exc)) from None


def sample() -> Dataset:
    """The bundled sample."""
    return Dataset("bundled sample (sample_data/ratings.csv)", SAMPLE_SNIPPET_PATH, "", _sample_ratings())


def current() -> Dataset:
    """The session's dataset. A new session takes the one its URL names (``?data=``), else the
    bundled sample; the URL is kept naming the session's dataset and runs on every page."""
    if KEY not in st.session_state:
        params = st.query_params
        st.session_state[SESSION_KEY] = params.get(SESSION_PARAM, "") if store.is_fingerprint(
            params.get(SESSION_PARAM, "")) else ""
        wanted = params.get(DATA_PARAM, "")
        stored = store.load_dataset(wanted) if wanted else None
        if stored is not None:
            st.session_state[KEY] = Dataset(stored[0], stored[1], wanted, stored[2])
        else:
            if wanted:
                st.session_state[MISSING_KEY] = wanted
            st.session_state[KEY] = sample()
    sync_url()
    return st.session_state[KEY]


def store_warning() -> None:
    """One ``st.warning`` sentence, naming ``MFP_STORE_DIR``, when the server's store cannot be written
    (:func:`dashboard.server.store.problem`): the session then keeps its dataset and runs in memory."""
    problem = store.problem()
    if problem:
        safe.warning(st, "{}", problem)


def missing() -> str:
    """The fingerprint a link asked for that the server no longer has, or ``""``."""
    return st.session_state.get(MISSING_KEY, "")


def use(dataset: Dataset) -> None:
    """Make ``dataset`` the one every page works on (and name it in the URL)."""
    st.session_state[KEY] = dataset
    if dataset.key:
        st.session_state.pop(MISSING_KEY, None)
    sync_url()


def session_name(create: bool = False) -> str:
    """The name under which this session's runs are stored or read. With ``create`` (before a write):
    a name this browser session owns, made on first need; a name that came with the URL is replaced
    by a new one (the fork; the URL follows)."""
    if create and not (st.session_state.get(SESSION_KEY) and st.session_state.get(OWNED_KEY)):
        st.session_state[SESSION_KEY] = store.new_session()
        st.session_state[OWNED_KEY] = True
        sync_url()
    return st.session_state.get(SESSION_KEY, "")


def url_params() -> dict[str, str]:
    """The query parameters that name this session's dataset and runs."""
    dataset = st.session_state.get(KEY)
    wanted = {DATA_PARAM: dataset.key if dataset is not None else "",
              SESSION_PARAM: st.session_state.get(SESSION_KEY, "")}
    if not wanted[DATA_PARAM] and missing():
        wanted[DATA_PARAM] = missing()  # keep the link as it was until another dataset is chosen
    return {name: value for name, value in wanted.items() if value}


def sync_url() -> None:
    """Write :func:`url_params` into the page URL, leaving other parameters alone."""
    wanted = url_params()
    for name in URL_PARAMS:
        if name in wanted and st.query_params.get(name) != wanted[name]:
            st.query_params[name] = wanted[name]
        elif name not in wanted and name in st.query_params:
            del st.query_params[name]
