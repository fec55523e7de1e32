"""Helpers for the AppTest page tests."""


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


def no_exception(app: AppTest) -> None:
    assert not app.exception, [e.value for e in app.exception]
