"""Load and validate rating files into a compact :class:`Ratings` table.

Accepted sources: a path (a file or a MovieLens folder), raw ``bytes``, a binary file object or a
:class:`pandas.DataFrame`. Accepted contents:

- CSV / TSV / semicolon / pipe / whitespace separated text, with or without a header row, UTF-8 or
  Latin-1, optionally gzip-compressed (``.gz``);
- MovieLens 100K ``u.data`` (tab), 1M/10M ``ratings.dat`` (``::``), 20M/25M/latest ``ratings.csv``;
- a ``.zip`` holding one ratings file, or a MovieLens layout recognised by its file names
  (``ratings.csv`` + ``movies.csv``, ``ratings.dat`` + ``movies.dat``, ``u.data`` + ``u.item``), whose
  titles and genres come along.

Columns are user, item, rating and an optional timestamp. A header is recognised by its names
(``user``/``userId``/``user_id``, ``item``/``movieId``/``item_id``/``movie``/``product``,
``rating``/``score``/``stars``, ``timestamp``/``time``/``date``); other columns a header names are
ignored by name. Without a header the first columns are taken in that order. Ids may be numbers or
strings; they are mapped to contiguous ``int32`` codes (sorted by id) with a two-way map. Ratings
become ``float32``.

Rules; each broken one raises :class:`DataError` naming the 1-based line (the header counts as line 1):

- every row has exactly as many fields as the first row: never an implicit index, never shifted
  columns. Blank lines are skipped and counted;
- a rating is a finite number with ``|rating| <= MAX_ABS_RATING`` (1e6: far beyond any rating scale,
  and squared errors of such values still fit in float32). With ``;`` as the separator a decimal
  comma (``3,5``) is read as 3.5;
- the file holds at least ``MIN_USERS`` (2) users and ``MIN_ITEMS`` (2) items: with one user or one
  item there is nothing to factorize. Constant ratings load, with a warning in :attr:`Ratings.summary`.

Parsing uses pyarrow's streaming CSV reader (8 MiB blocks): the cost is linear in the bytes, and a
malformed row stops it at once (a 1 MB line of 500,000 fields is refused in milliseconds). A big text
of plain numbers is first scanned by a compiled kernel (:mod:`.kernels`) into the same arrays; any
line it does not accept hands the whole text to pyarrow.

Duplicate (user, item) pairs: by default the **last** occurrence in the file wins (a re-rating
replaces the earlier one); ``duplicates="mean"`` averages them, ``duplicates="error"`` refuses them.

Item metadata: ``load_ratings(..., items=PATH_OR_BYTES)`` joins titles and genres by item id (see
:mod:`mfcore.data.items`). Nothing is written to disk while loading; nothing is unpickled.

The package owns everything about ratings before a model sees them; it imports nothing else of mfcore.

- :mod:`.ratings`: the :class:`Ratings` table and :class:`LoadSummary`;
- :mod:`.loader`: :func:`load_ratings`, :func:`from_arrays` (the entry points);
- :mod:`.archive`: bytes from paths, folders, ``.gz``/``.zip`` archives; binaries refused;
- :mod:`.sniff`: encoding, separator, header and column roles from the first lines;
- :mod:`.parse`: the pyarrow CSV parse and line numbers for errors;
- :mod:`.build`: validation, id encoding, the duplicates policy;
- :mod:`.kernels`: Numba shortcuts for big inputs (numeric scan, ids to codes, repeated pairs);
- :mod:`.items`: titles and genres from an items file;
- :mod:`.cache`: a binary cache of parsed files (and :func:`cache_dir`, mfcore's cache folder);
- :mod:`.synthetic`: the seeded generator of the bundled sample data (ratings, or counts);
- :mod:`.coerce`: :func:`as_ratings`, what a model's ``fit`` is given (scipy.sparse, DataFrame,
  arrays) as :class:`Ratings`;
- :mod:`.errors`: :class:`DataError`.
"""

from .._lazy import lazy_exports

# the parser's modules (pandas, pyarrow) load on first use: training from the binary cache needs neither
__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "DataError": ".errors", "Ratings": ".ratings", "LoadSummary": ".ratings", "load_ratings": ".loader",
    "from_arrays": ".loader", "sniff_columns": ".sniff", "ColumnGuess": ".sniff", "DUPLICATE_POLICIES": ".build",
    "MAX_ABS_RATING": ".build", "MIN_USERS": ".build", "MIN_ITEMS": ".build", "as_ratings": ".coerce"})
