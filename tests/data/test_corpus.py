"""The corpus of malformed and odd files in tests/data/: every bad file is refused the same way by
``load_ratings`` (DataError), the CLI (exit 2, one ``error:`` line, nothing else on stderr) and the Home
page (one ``st.error``, the previous dataset kept); every odd but valid file loads."""

import time
import warnings

import pytest
from apptest_helpers import TOY, home, no_exception, upload
from paths import CORPUS as DATA

from mfcore import DataError, load_ratings
from mfcore.cli import main

BAD = sorted((DATA / "bad").iterdir())
ODD = sorted((DATA / "odd").iterdir())


def test_the_corpus_is_big_enough():
    assert len(BAD) >= 30 and len(ODD) >= 10


@pytest.mark.parametrize("path", BAD, ids=[p.name for p in BAD])
def test_bad_file_raises_data_error(path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(DataError) as error:
            load_ratings(path)
    assert "\n" not in str(error.value) and len(str(error.value)) < 300


@pytest.mark.parametrize("path", BAD, ids=[p.name for p in BAD])
def test_bad_file_through_the_cli(path, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        status = main(["train", str(path), "--epochs", "1"])
    out, err = capsys.readouterr()
    assert status == 2 and out == ""
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and "Warning" not in err


def test_bad_files_on_the_home_page_keep_the_previous_dataset():
    app = upload(home(), "toy.csv", TOY)
    assert not app.error
    for path in BAD:
        app = upload(app, path.name, path.read_bytes())
        no_exception(app)
        assert len(app.error) == 1, (path.name, [e.value for e in app.error])
        message = app.error[0].value
        assert path.name in message and "\n" not in message and "Still using toy.csv" in message
        assert app.session_state["dataset"].name == "toy.csv"


@pytest.mark.parametrize("path", ODD, ids=[p.name for p in ODD])
def test_odd_file_loads(path):
    ratings = load_ratings(path)
    assert (len(ratings), ratings.n_users, ratings.n_items) == (3, 2, 2)


def test_odd_files_say_what_was_skipped_merged_or_ignored():
    def said(name):
        ratings = load_ratings(DATA / "odd" / name)
        return " ".join(ratings.summary.sentences(len(ratings), ratings.n_items))

    assert "Skipped 5 blank lines" in said("blank_lines.csv")
    assert "Merged 1 repeated (user, item) rating" in said("duplicates.csv")
    assert "Ignored the column 'comment'" in said("extra_named_columns.csv")
    assert "Every rating is 4" in said("constant.csv")
    assert load_ratings(DATA / "odd" / "semicolon_decimal_comma.csv").scale == (0.5, 4.5)


def test_a_line_of_500000_fields_is_refused_within_a_second():
    raw = b"user,item,rating\n" + b",".join([b"1"] * 500_000) + b"\n"
    assert len(raw) > 1_000_000
    start = time.perf_counter()
    with pytest.raises(DataError, match=r"^line 2: expected 3 fields .* found 500000"):
        load_ratings(raw)
    assert time.perf_counter() - start < 1.0


def test_shifted_columns_are_refused_not_shifted():
    with pytest.raises(DataError, match=r"^line 2: expected 3 fields .* found 4"):
        load_ratings(b"user,item,rating\n1,10,4,5\n2,11,3\n")


@pytest.mark.parametrize("text, line", [
    (b"user,item,rating\n1,10,4\n2,11,abc\n", 3),
    (b"1,10,4\n2,11,abc\n", 2),
    (b"\n\nuser,item,rating\n1,10,4\n\n2,11,abc\n", 6),
    (b"user,item,rating\r\n1,10,4\r\n2,11,4\r\n3,12,4,4\r\n", 4),
])
def test_line_numbers_count_the_header_and_blank_lines(text, line):
    with pytest.raises(DataError, match=rf"^line {line}: "):
        load_ratings(text)


BLOCK = b"".join(b"%d,%d,4,10\n" % (n % 100, n // 100) for n in range(10_000))  # distinct pairs


@pytest.mark.parametrize("last, check", [
    (b"7,8,3.5,10\n", lambda r: float(r.values[(r.user_codes(7) == r.users) & (r.item_codes(8) == r.items)][0]) == 3.5),
    (b"bob,8,4,10\n", lambda r: "bob" in set(r.user_ids) and r.n_users == 101),
    (b"7,8,4,2020-01-02\n", lambda r: 1577923200 in set(r.timestamps)),
    (b"7,8,great,10\n", "rating 'great' is not a number"),
])
def test_a_value_unlike_the_first_block_is_read_again_not_lost(last, check):
    """The parser guesses column types from its first 8 MiB block; a later row that breaks the guess
    must still load correctly or be refused with its own line number."""
    body = BLOCK * 90  # 90 x 10,000 lines, > 8 MiB; repeats merge (last wins)
    assert len(body) > 8 << 20
    raw = b"user,item,rating,timestamp\n" + body + last
    if callable(check):
        ratings = load_ratings(raw)
        assert ratings.summary.duplicates == 890_000 + (last.startswith(b"7,8"))
        assert check(ratings)
    else:
        with pytest.raises(DataError, match=rf"^line {900_002}: {check}"):
            load_ratings(raw)
