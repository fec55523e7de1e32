"""Helpers for the AppTest page tests."""

import re

from paths import ROOT
from streamlit.testing.v1 import AppTest

TOY = (ROOT / "sample_data" / "toy.csv").read_bytes()
BAD = b"user,item,rating\n1,10,4\n2,10,abc\n"


def home() -> AppTest:
    """The app at its home page, run once."""
    app = AppTest.from_file(str(ROOT / "Home.py"), default_timeout=60)
    return app.run()


def button(app: AppTest, label: str):
    return next(b for b in app.button if b.label == label)


def upload(app: AppTest, name: str, content: bytes) -> AppTest:
    """Choose 'Upload a file' on Home and upload ``content`` as ``name``."""
    if app.radio(key="home_source").value != "Upload a file":
        app.radio(key="home_source").set_value("Upload a file").run()
    app.get("file_uploader")[0].set_value((name, content, "text/csv"))
    return app.run()


def plain(text: str) -> str:
    """Markdown-escaped ``text`` (dashboard.render.texts.escape_markdown) as a reader sees it: the
    backslashes before punctuation and the word joiners dropped."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", str(text)).replace("\u2060", "")


def shown_table(element):
    """The frame an ``st.table`` element shows (``safe.table`` escapes its text), as a reader sees it."""
    frame = element.value.copy()
    frame.columns = frame.columns.map(plain)
    frame.index = frame.index.map(lambda label: plain(label) if isinstance(label, str) else label)
    for column in frame.columns:
        if frame[column].dtype == object:
            frame[column] = frame[column].map(lambda value: plain(value) if isinstance(value, str) else value)
    return frame


def no_exception(app: AppTest) -> None:
    assert not app.exception, [e.value for e in app.exception]


def train_page() -> AppTest:
    """The Train page, opened from Home."""
    return home().switch_page("pages/1_Train.py").run()


def train_kind(app: AppTest, kind: str, **widgets) -> AppTest:
    """Pick model ``kind`` on Train, set its form's ``widgets`` (by setting name) and press Train."""
    from dashboard.logic import settings

    app.radio(key="train_kind").set_value(kind).run()
    for name, value in widgets.items():
        widget = getattr(app, "slider" if name in settings.SLIDERS else "number_input")
        widget(key=f"train_{kind}_{name}").set_value(value)
    return button(app, "Train").click().run()
