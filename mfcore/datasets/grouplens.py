"""MovieLens from GroupLens: download once, check the pinned SHA-256, cache, load with titles and genres.

``movielens(name)`` for a name of :data:`MOVIELENS` (``"100k"``, ``"1m"``, ``"20m"``, ``"25m"``,
``"latest-small"``): the archive ``ml-NAME.zip`` is looked for in ``<cache>/datasets/`` (the cache
folder of :func:`mfcore.data.cache.cache_dir`: ``$MFCORE_CACHE_DIR``, else ``$XDG_CACHE_HOME/mfcore``,
else ``~/.cache/mfcore``); a file there whose SHA-256 is the pinned one is used as it is. Otherwise it is
downloaded from ``base_url`` (GroupLens's ``https://files.grouplens.org/datasets/movielens/``, or
``$MFCORE_MOVIELENS_URL``) into a temporary file beside it, hashed while it streams, and renamed into
place only when its SHA-256 is the pinned one, so a cut or altered download never stays in the cache.
The archive is then read by :func:`mfcore.data.load_ratings`, which recognises the MovieLens layouts
(``u.data`` + ``u.item``, ``ratings.dat`` + ``movies.dat``, ``ratings.csv`` + ``movies.csv``) and joins
the titles and genres.

Pins: the SHA-256 and byte sizes are those TensorFlow Datasets publishes for the same GroupLens URLs
(``tensorflow_datasets/url_checksums/movielens.txt``, tensorflow/datasets commit 1c076ac3); they were
not recomputed here (GroupLens was out of reach where this was written). ``latest-small`` is a moving
snapshot: when GroupLens replaces it, the pin no longer matches and loading says so. ``ml-10m`` is
not offered: no published SHA-256 was found for it.

Failures are :class:`DatasetError` (a :class:`~mfcore.data.DataError`), one sentence each: an unknown
name, no network (offline, a name that does not resolve, a refused connection, a timeout), an HTTP
error, a checksum that differs, a download larger than the pinned size.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ..data.errors import DataError

__all__ = ["DatasetError", "GROUPLENS_URL", "MOVIELENS", "movielens", "movielens_path"]

GROUPLENS_URL = "https://files.grouplens.org/datasets/movielens/"
CHUNK = 1 << 20


class DatasetError(DataError):
    """A dataset cannot be had: offline, an HTTP error, a checksum that differs, an unknown name."""


@dataclass(frozen=True)
class Archive:
    """One GroupLens archive: its file name, pinned SHA-256 and size in bytes, and what it holds."""

    file: str
    sha256: str
    size: int
    about: str


MOVIELENS = {
    "100k": Archive("ml-100k.zip", "50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229", 4_924_029,
                    "100,000 ratings (1-5) of 1,682 movies by 943 users, 1998"),
    "1m": Archive("ml-1m.zip", "a6898adb50b9ca05aa231689da44c217cb524e7ebd39d264c56e2832f2c54e20", 5_917_549,
                  "1,000,209 ratings (1-5) of 3,706 movies by 6,040 users, 2003"),
    "20m": Archive("ml-20m.zip", "96f243c338a8665f6bcc89c53edf6ee39162a846940de6b7c8c48aeada765ff3", 198_702_078,
                   "20,000,263 ratings (0.5-5) of 26,744 movies by 138,493 users, 2015"),
    "25m": Archive("ml-25m.zip", "8b21cfb7eb1706b4ec0aac894368d90acf26ebdfb6aced3ebd4ad5bd1eb9c6aa", 261_978_986,
                   "25,000,095 ratings (0.5-5) of 59,047 movies by 162,541 users, 2019"),
    "latest-small": Archive("ml-latest-small.zip",
                            "696d65a3dfceac7c45750ad32df2c259311949efec81f0f144fdfb91ebc9e436", 978_202,
                            "about 100,000 ratings (0.5-5) of 9,000 movies by 600 users (a moving snapshot)"),
}
"""The archives offered, by the name :func:`movielens` takes."""


def movielens(name: str = "100k", *, base_url: str | None = None, cache: str | os.PathLike | None = None,
              timeout: float = 60.0):
    """The MovieLens data set ``name`` as :class:`~mfcore.data.Ratings` with titles and genres,
    downloaded once (module docstring); ``base_url`` and ``cache`` replace GroupLens's address and the
    cache folder. Raises :class:`DatasetError` with one sentence."""
    from ..data import load_ratings
    return load_ratings(movielens_path(name, base_url=base_url, cache=cache, timeout=timeout))


def movielens_path(name: str = "100k", *, base_url: str | None = None, cache: str | os.PathLike | None = None,
                   timeout: float = 60.0, progress=None) -> Path:
    """The checked archive of ``name`` in the cache, downloaded first when it is not there yet.
    ``progress(received, size)`` (bytes so far, the pinned size) is called after each chunk of a
    download; an exception it raises stops the download and is raised here (nothing is kept)."""
    if name not in MOVIELENS:
        raise DatasetError(f"unknown MovieLens data set {name!r}: use one of {', '.join(MOVIELENS)}.")
    archive = MOVIELENS[name]
    folder = Path(cache) if cache is not None else _cache_folder()
    path = folder / archive.file
    if path.is_file() and _sha256(path) == archive.sha256:
        return path
    url = (base_url or os.environ.get("MFCORE_MOVIELENS_URL") or GROUPLENS_URL).rstrip("/") + "/" + archive.file
    folder.mkdir(parents=True, exist_ok=True)
    _download(url, path, archive, timeout, progress)
    return path


def _cache_folder() -> Path:
    from ..data.cache import cache_dir
    return cache_dir() / "datasets"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _download(url: str, path: Path, archive: Archive, timeout: float, progress=None) -> None:
    """Stream ``url`` into a temporary file beside ``path``, hashing it; rename it onto ``path`` only
    when its SHA-256 is the pinned one."""
    digest, size = hashlib.sha256(), 0
    handle, temporary = tempfile.mkstemp(prefix=archive.file + ".", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out, _open(url, timeout, path) as response:
            while block := _read(response, url, path):
                size += len(block)
                if size > archive.size:
                    raise DatasetError(f"{url} sent more than the {archive.size:,} bytes {archive.file} has: the "
                                       "file on the server is not the pinned one; nothing was kept.")
                digest.update(block)
                out.write(block)
                if progress is not None:
                    progress(size, archive.size)
        if digest.hexdigest() != archive.sha256:
            raise DatasetError(f"the SHA-256 of {archive.file} from {url} is {digest.hexdigest()}, not the pinned "
                               f"{archive.sha256}: the download is damaged or the file changed; nothing was kept.")
        os.replace(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)


def _open(url: str, timeout: float, path: Path):
    try:
        return urllib.request.urlopen(url, timeout=timeout)  # noqa: S310 - an https or test URL, checked by hash
    except urllib.error.HTTPError as exc:
        raise DatasetError(f"the server answered {exc.code} {exc.reason} for {url}: nothing was downloaded.") from None
    except (urllib.error.URLError, OSError) as exc:
        raise DatasetError(_offline(url, exc, path)) from None


def _read(response, url: str, path: Path) -> bytes:
    try:
        return response.read(CHUNK)
    except OSError as exc:
        raise DatasetError(_offline(url, exc, path)) from None


def _offline(url: str, exc: BaseException, path: Path) -> str:
    reason = getattr(exc, "reason", exc)
    return (f"cannot reach {url} ({reason}): this machine seems to be offline; try again when online, or "
            f"download the file by hand to {path}.")
