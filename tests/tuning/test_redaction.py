"""No secret of a storage URL (its user-info, its query, a non-numeric port) reaches output, logs or an
exception, for any text given as the URL: the hand-made corpus of malformed URLs below and URLs that
Hypothesis builds from random pieces (raw '@', ':', '/', '?', '#', '%' and spaces inside secrets, no
scheme, one slash, bad ports), through :func:`mfcore.tuning.redact`, :func:`mfcore.tuning.open_storage`
and ``python -m mfcore tune --storage``."""

import logging
import re
import traceback

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mfcore import tuning
from mfcore.cli import main
from mfcore.tuning import redaction

SECRET = "Qz7PaSSw0rdX"
CORPUS = [
    f"tuner:{SECRET}@host",
    f"tuner:{SECRET}@host/db",
    f"postgresql+psycopg:/tuner:{SECRET}@127.0.0.1:1/db",
    f"postgresql://tuner:{SECRET}@127.0.0.1:1/db",
    "postgresql://tuner:Qz7P@SSw0rdX@127.0.0.1:1/db",
    "postgresql://tuner:Qz7P@SS@w0rdX@127.0.0.1:1/db",
    f"postgresql://tuner@127.0.0.1:1/db?password={SECRET}",
    f"postgresql://127.0.0.1:1/db?sslmode=require&password={SECRET}&x=1",
    f"postgresql://tuner:{SECRET}@127.0.0.1:notaport/db",
    f"postgresql://tuner:{SECRET}@127.0.0.1:{SECRET}/db",
    f"postgresql://tuner:{SECRET}",
    f"postgresql://tuner:{SECRET}/db",
    f"postgresql://{SECRET}@127.0.0.1:1/db",
    "postgresql://tuner:Qz7P%40SSw0rdX@127.0.0.1:1/db",
    "postgresql://tuner:Qz7P/SS?w0#rdX@127.0.0.1:1/db",
    f"postgresql://tuner:{SECRET}@[::1]:1/db",
    f"mysql+pymysql://tuner:{SECRET}@127.0.0.1:1/db#{SECRET}",
    f"sqlite:///:memory:?password={SECRET}",
    f"://tuner:{SECRET}@",
    f"{SECRET}@",
    f"tuner:{SECRET}",
    f"postgresql://tuner:{SECRET}@127.0.0.1:1/db\nsecond line",
    f"nosuchdialect://tuner:{SECRET}@127.0.0.1:1/db",
    f"postgresql://tuner: {SECRET} @127.0.0.1:1/db",
]


def pieces(secret: str) -> list[str]:
    """What must not appear: the secret, and every part of it between separators that has at least
    ``redaction.MIN_PIECE`` characters (a password's tail after a raw '@' included)."""
    parts = [part for part in re.split(r"[@:/?#% &=]", secret) if len(part) >= redaction.MIN_PIECE]
    return [secret, *parts]


def leaks(text: str, secret: str) -> list[str]:
    return [piece for piece in pieces(secret) if piece in text]


def check_open(url: str, secret: str, caplog) -> None:
    """open_storage refuses or opens ``url``; the message, its traceback and the logs hold no piece."""
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        try:
            tuning.open_storage(url, heartbeat=None)
        except tuning.StorageError as exc:
            shown = "".join(traceback.format_exception(exc))
            assert exc.__context__ is None and exc.__cause__ is None  # nothing chained carries the text
            assert not leaks(shown, secret), (url, shown)
            assert str(exc).startswith("cannot open storage ") and "\n" not in str(exc)
    assert not leaks(caplog.text, secret), (url, caplog.text)


@pytest.mark.parametrize("url", CORPUS)
def test_the_corpus_leaks_no_secret(url, caplog, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert not leaks(tuning.redact(url), "Qz7P@SSw0rdX" if "Qz7P@" in url else SECRET)
    check_open(url, "Qz7P@SS@w0rdX" if "@SS@" in url else "Qz7P@SSw0rdX" if "Qz7P@" in url else SECRET, caplog)


def test_the_rule_keeps_what_is_not_secret():
    assert tuning.redact("postgresql://bob:s3cret@db.example:5432/x?sslmode=require") == \
        "postgresql://***@db.example:5432/x?***"
    assert tuning.redact("tuner:PASS@host") == tuning.redact("tuner:PASS") == "***"
    assert tuning.redact("postgresql+psycopg:/tuner:PASS@h/db") == "postgresql+psycopg:/***@h/db"
    assert tuning.redact("postgresql://h:notaport/db") == "postgresql://h:***/db"
    assert tuning.redact("sqlite:////tmp/a/b.sqlite3") == "sqlite:////tmp/a/b.sqlite3"
    assert redaction.scrub("host 'word@127.0.0.1' unknown", "postgresql://u:P@SSword@127.0.0.1/db") == \
        "host '***@127.0.0.1' unknown"


@pytest.mark.parametrize("url, sentence", [
    ("postgresql://tuner:P@SSword@127.0.0.1:1/db", "raw '@' (write it as %40)"),
    ("postgresql://tuner:x@127.0.0.1:notaport/db", "its port is not a number up to 65535."),
    ("tuner:PASSword@host", "not a SQLAlchemy URL"),
    ("postgresql://tuner:PA?SS@127.0.0.1:1/db", "a '?' or '#' comes before its last '@'"),
])
def test_a_malformed_url_is_one_sentence_saying_what_is_wrong(url, sentence):
    with pytest.raises(tuning.StorageError, match=re.escape(sentence)):
        tuning.open_storage(url)


def test_the_command_line_leaks_no_secret(capsys, caplog, tmp_path, monkeypatch):
    monkeypatch.setenv("MFCORE_DATA_DIR", str(tmp_path))
    data = tmp_path / "r.csv"
    data.write_text("user,item,rating\n" + "".join(f"{u},{i},{(u + i) % 5 + 1}\n" for u in range(8) for i in range(6)))
    for url in CORPUS:
        secret = "Qz7P@SS@w0rdX" if "@SS@" in url else "Qz7P@SSw0rdX" if "Qz7P@" in url else SECRET
        with caplog.at_level(logging.DEBUG):
            status = main(["tune", str(data), "--trials", "1", "--storage", url])
        out, err = capsys.readouterr()
        assert status == 0 if url.startswith("sqlite") else (
            status == 2 and err.startswith("error: ") and err.count("\n") == 1), (url, err)
        assert not leaks(out + err + caplog.text, secret), (url, out, err)
        caplog.clear()


def secret_text(separators: str = "@:/?#% &="):
    """A secret of 1-4 words (each starting ``Qz7``, so none occurs by chance) joined by separators."""
    return st.lists(st.tuples(st.text(alphabet="abcXYZ019-_.~!$*+,;", min_size=2, max_size=8),
                              st.sampled_from(separators)), min_size=1, max_size=4).map(
        lambda parts: "Qz7" + "".join(f"{word}{sep}Qz7" for word, sep in parts) + "end")


@st.composite
def malformed_urls(draw):
    """A URL-ish text holding ``secret`` as a password, a user-info, a query value or a port, around
    scheme, slash and port variants that parse, that SQLAlchemy rejects, and that it misparses."""
    place = draw(st.sampled_from(["password", "userinfo", "query", "fragment", "port"]))
    # a port place ends at '/' and an '@' after it makes what precedes it the user-info: not there
    secret = draw(secret_text(":% &=" if place == "port" else "@:/?#% &="))
    scheme = draw(st.sampled_from(["postgresql://", "postgresql+psycopg:/", "postgresql+psycopg://", "",
                                   "mysql://", "sqlite:///", "x:", "://", "postgresql:///"]))
    host = draw(st.sampled_from(["127.0.0.1", "db.example", "[::1]", "", "h@st"]))
    port = draw(st.sampled_from(["", ":1", ":notaport", ":", ":99999"]))
    user = draw(st.sampled_from(["tuner", "", "a:b"]))
    if place == "password":
        text = f"{scheme}{user}:{secret}@{host}{port}/db"
    elif place == "userinfo":
        text = f"{scheme}{secret}@{host}{port}/db"
    elif place == "query":
        key = draw(st.sampled_from(["password", "sslpassword", "token", ""]))
        text = f"{scheme}{user}@{host}{port}/db?sslmode=x&{key}={secret}&y=1"
    elif place == "fragment":
        text = f"{scheme}{host}{port}/db#{secret}"
    else:  # after three slashes there is no host, so no port: a path
        text = f"{scheme.replace(':///', '://')}{host}:{secret}/db"
    return text, secret


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=malformed_urls())
def test_generated_urls_leak_no_secret(caplog, case, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a SQLite URL with a relative path makes its file here
    url, secret = case
    assert not leaks(tuning.redact(url), secret), (url, tuning.redact(url))
    assert not leaks(redaction.scrub(f"driver said: {url} ({secret})", url), secret)
    check_open(url, secret, caplog)
