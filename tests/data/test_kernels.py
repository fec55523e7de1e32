"""The loader's compiled shortcuts (:mod:`mfcore.data.kernels`) change nothing but speed: the same
Ratings, bit for bit, and the same errors as pyarrow's parse and the NumPy checks give."""

import hashlib

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mfcore.data import DataError, build, kernels, load_ratings, parse


@pytest.fixture
def kernels_on(monkeypatch):
    """Every input goes through the kernels, however small; returns the scan results seen."""
    monkeypatch.setattr(parse, "SCAN_MIN_BYTES", 0)
    monkeypatch.setattr(build, "KERNELS_MIN_ROWS", 0)
    scans = []
    original = kernels.scan_numeric

    def spy(*args, **kwargs):
        scans.append(original(*args, **kwargs))
        return scans[-1]

    monkeypatch.setattr(kernels, "scan_numeric", spy)
    return scans


def outcome(raw, **options):
    """What loading ``raw`` gives: its arrays, ids, scale and summary, or the error's message."""
    try:
        ratings = load_ratings(raw, **options)
    except DataError as exc:
        return f"DataError: {exc}"
    arrays = {name: getattr(ratings, name) for name in ("users", "items", "values", "user_ids", "item_ids")}
    arrays["timestamps"] = ratings.timestamps
    return ({name: (None if a is None else (a.dtype.str, a.tolist())) for name, a in arrays.items()},
            ratings.scale, ratings.summary)


ACCEPTED = [  # texts the scan reads itself
    b"1,2,3\n2,3,4\n",
    b"u,i,r\n1,2,3.5\n2,3,-4.25\n",
    b"1,2,3\r\n2,3,4\r\n",
    b"1,2,3\n2,3,4",
    b"1,2,3,100\n2,3,4,200\n",
    b"1::2::3::978300760\n2::3::4::978300761\n",
    b"1\t2\t3\n2\t3\t4\n",
    b"1 2 3\n2 3 4\n",
    b"userId,movieId,rating,timestamp\n1,2,3.5,1112486027\n2,3,4,1112484676\n",
    b"user,item,rating,note\n1,2,3,a;b\n2,3,4,\n",
    b"-5,2,3\n2,3,4\n",
    b"007,2,3\n2,3,4\n",
    b"1,2,-0\n2,3,4\n",
    b"1,2,0.1\n2,3,0.3333333333333333\n3,1,999999.999999\n",
    b"1,2,3\n1,2,4\n2,3,1\n",
    b"1,2,3\n2,3,4\n2,3,5\n",
]
REFUSED = [  # texts the scan leaves to pyarrow: a blank line, another field count, a quote, ...
    b"1,2,3\n\n2,3,4\n",
    b"1,2,3\n2,3,4\n\n",
    b"1,2,1e3\n2,3,4\n",
    b"1,2,3\n2,3\n",
    b"1,2,3\n2,3,4,5\n",
    b"1,2,2000000\n2,3,4\n",
    b"1,2,3\n2,3,\n",
    b"3000000000,2,3\n2,3,4\n",
    b'1,2,"3"\n2,3,4\n',
    b"user,item,rating,extra\n1,2,3,\xc3\xa9\n2,3,4,x\n",
    b"1,2,3.\n2,3,4\n",
    b"1 , 2 , 3\n2,3,4\n",
    b"1,2,3\n2,3,nan\n",
    b"1,2,3.5000000000000000000001\n2,3,4\n",
    b"1,2,3\r2,3,4\r",
    b"1,2,3\n2,x,4\n",
    b"1;2;3,5\n2;3;4\n",
]


@pytest.mark.parametrize("raw", ACCEPTED + REFUSED)
@pytest.mark.parametrize("duplicates", ["last", "mean", "error"])
def test_the_kernels_give_what_pyarrow_and_numpy_give(raw, duplicates, request):
    expected = outcome(raw, duplicates=duplicates)
    scans = request.getfixturevalue("kernels_on")
    assert outcome(raw, duplicates=duplicates) == expected
    if raw in ACCEPTED:
        assert scans and scans[0] is not None
    else:
        assert not scans or scans[0] is None


def test_scanned_decimals_are_pyarrows_float64_cast_to_float32():
    rng = np.random.default_rng(1)
    texts = []
    for _ in range(20_000):
        whole = int(rng.integers(1, 7))
        text = "-" * (rng.random() < 0.3) + "".join(map(str, rng.integers(0, 10, whole)))
        decimals = int(rng.integers(0, 16 - whole))
        texts.append(text + ("." + "".join(map(str, rng.integers(0, 10, decimals))) if decimals else ""))
    texts += ["0.1", "0.2", "0.3", "4.35", "9007199254740.992", "0.000000000000000000001", "5.000000000000001"]
    raw = "".join(f"1,2,{text}\n" for text in texts).encode()
    scanned, newlines = kernels.scan_numeric(raw, 0, ",", [0, 1, kernels.FLOAT], np.inf)
    table = pacsv.read_csv(pa.BufferReader(raw), read_options=pacsv.ReadOptions(column_names=["u", "i", "r"]),
                           convert_options=pacsv.ConvertOptions(column_types={"r": pa.float64()}))
    expected = table.column("r").to_numpy().astype(np.float32)
    assert newlines == len(texts)
    np.testing.assert_array_equal(scanned[2].view(np.uint32), expected.view(np.uint32))


def test_the_scan_cuts_the_text_into_parts_at_line_ends(monkeypatch):
    monkeypatch.setattr(kernels, "_workers", lambda: 4)
    lines = [f"{n},{n % 7},{n % 5}.5" for n in range(1001)]
    scanned, newlines = kernels.scan_numeric(("\n".join(lines)).encode(), 0, ",", [0, 1, 3], np.inf)
    assert newlines == 1000
    assert scanned[0].tolist() == list(range(1001))
    assert scanned[2].tolist() == [n % 5 + 0.5 for n in range(1001)]


def sorted_check(users, items, n_items):
    keys = np.sort(users.astype(np.int64) * n_items + items)
    return bool((keys[1:] == keys[:-1]).any())


@pytest.mark.parametrize("order", ["by user", "by item", "shuffled"])
@pytest.mark.parametrize("repeat", [False, True])
def test_repeated_pairs_are_found_in_any_order(order, repeat):
    rng = np.random.default_rng(2)
    n_users, n_items = 300, 200
    keys = rng.choice(n_users * n_items, 20_000, replace=False)
    if repeat:
        keys[-1] = keys[123]
    users, items = (keys // n_items).astype(np.int32), (keys % n_items).astype(np.int32)
    rows = {"by user": np.argsort(users, kind="stable"), "by item": np.argsort(items, kind="stable"),
            "shuffled": rng.permutation(len(keys))}[order]
    users, items = users[rows], items[rows]
    assert kernels.has_repeated_pair(users, items, n_users, n_items) is repeat
    assert sorted_check(users, items, n_items) is repeat


def test_codes_in_place_are_factorizes():
    rng = np.random.default_rng(3)
    ids = rng.integers(-50, 5000, 100_000).astype(np.int32)
    codes, uniques = pd.factorize(ids, sort=True)
    in_place = ids.copy()
    found = kernels.dense_codes_in_place(in_place, -50, 5051)
    np.testing.assert_array_equal(in_place, codes)
    np.testing.assert_array_equal(found, uniques)
    assert found.dtype == np.int64


def golden_text(header: bool, sep: str) -> bytes:
    """4,000 ratings with repeats, half-star ratings and timestamps, from integer arithmetic alone."""
    lines = ["user,item,rating,timestamp"] if header else []
    for n in range(4000):
        user, item = (n * 7919) % 61 + 1, (n * 31 + n // 5) % 53 + 1
        lines.append(sep.join(map(str, (user, item, ((n * 31) % 9 + 1) / 2, 1_000_000_000 + n * 37))))
    return ("\n".join(lines) + "\n").encode()


def digest(raw, duplicates) -> str:
    ratings = load_ratings(raw, duplicates=duplicates)
    hashed = hashlib.sha256()
    for array in (ratings.users, ratings.items, ratings.values, ratings.user_ids, ratings.item_ids,
                  ratings.timestamps):
        hashed.update(array.dtype.str.encode() + array.tobytes())
    hashed.update(repr((ratings.scale, ratings.summary.duplicates, ratings.summary.blank_lines)).encode())
    return hashed.hexdigest()[:16]


GOLDEN = {  # computed by the loader before the kernels existed (commit 70ce4e0)
    (True, ",", "last"): "03b31d4eda343666",
    (True, ",", "mean"): "e81011718ef2c2cc",
    (False, "::", "last"): "03b31d4eda343666",
    (False, "::", "mean"): "e81011718ef2c2cc",
}


@pytest.mark.parametrize("compiled", [False, True])
@pytest.mark.parametrize(("header", "sep", "duplicates"), list(GOLDEN))
def test_loads_are_bit_identical_to_the_loader_before_the_kernels(header, sep, duplicates, compiled, request):
    if compiled:
        request.getfixturevalue("kernels_on")
    assert digest(golden_text(header, sep), duplicates) == GOLDEN[header, sep, duplicates]


@pytest.mark.parametrize("compiled", [False, True])
def test_the_first_repeat_is_refused_on_the_same_line(compiled, request):
    if compiled:
        request.getfixturevalue("kernels_on")
    with pytest.raises(DataError, match=r"^line 673: duplicate rating for the same user and item\.$"):
        load_ratings(golden_text(True, ","), duplicates="error")


SMALL_ID = st.integers(0, 5000).map(str)
SMALL_RATING = st.one_of(st.integers(1, 5).map(str), st.builds(
    lambda whole, decimals: f"{whole}.{decimals}", st.integers(0, 5), st.text("0123456789", min_size=1, max_size=6)))
EDGE_FIELD = st.one_of(  # the scan's limits: int32, a 2**53 significand, 22 decimals, 1e6 ratings
    st.integers(-2**31 - 5, 2**31 + 5).map(str),
    st.builds(lambda whole, decimals, sign: f"{sign}{whole}.{decimals}", st.integers(0, 10**7),
              st.text("0123456789", min_size=1, max_size=24), st.sampled_from(["", "-"])))
ODD_FIELDS = ["", "nan", "1e3", "+1", " 1", "x", '"1"', "1.", ".5", "0x10", "\u0663"]


@st.composite
def numeric_texts(draw):
    """Delimited texts of 3 or 4 numeric fields a line (small numbers; in a fifth of them, numbers at the
    scan's limits too), an optional header and last line end, and in half of them one flaw (an odd
    field, a short line or a blank line): what the scan must read exactly as pyarrow does, or hand to
    pyarrow."""
    sep = draw(st.sampled_from([",", "\t", ";", " ", "|"]))
    width = draw(st.sampled_from([3, 4]))
    end = draw(st.sampled_from(["\n", "\r\n"]))
    columns = [SMALL_ID, SMALL_ID, SMALL_RATING, SMALL_ID][:width]
    if draw(st.integers(0, 4)) == 0:
        columns = [st.one_of(column, EDGE_FIELD) for column in columns]
    rows = draw(st.lists(st.tuples(*columns).map(list), min_size=4, max_size=40))
    flaw = draw(st.sampled_from([None, None, None, "field", "short", "blank"]))
    row = draw(st.integers(0, len(rows) - 1))
    if flaw == "field":
        rows[row][draw(st.integers(0, width - 1))] = draw(st.sampled_from(ODD_FIELDS))
    elif flaw == "short":
        rows[row] = rows[row][:-1]
    lines = [sep.join(fields) for fields in rows]
    if flaw == "blank":
        lines.insert(row, "")
    header = [sep.join(["user", "item", "rating", "timestamp"][:width])] if draw(st.booleans()) else []
    return (end.join(header + lines) + (end if draw(st.booleans()) else "")).encode()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=numeric_texts(), duplicates=st.sampled_from(["last", "mean", "error"]))
def test_any_numeric_text_loads_the_same_with_the_kernels(raw, duplicates):
    """Property (Hypothesis): whatever the text, forcing every input through the kernels gives the
    same Ratings or the same error as the pyarrow parse and the NumPy checks."""
    expected = outcome(raw, duplicates=duplicates)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(parse, "SCAN_MIN_BYTES", 0)
        patch.setattr(build, "KERNELS_MIN_ROWS", 0)
        assert outcome(raw, duplicates=duplicates) == expected
