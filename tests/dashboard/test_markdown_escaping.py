"""Issue 18: user-derived strings (file names, dataset names, ids, titles, URL values, ids of uploaded
model files) never render as Markdown or HTML. A dataset whose name, ids and titles are hostile is
shown on every page through AppTest; the raw Markdown every element sends must hold them escaped
(dashboard.render.texts.escape_markdown), and the Explore map's Plotly labels HTML-escaped."""

from __future__ import annotations

import json
import re

import pytest
from apptest_helpers import ROOT, home, no_exception, upload
from streamlit.testing.v1 import AppTest

from dashboard.server import datasets
from dashboard.logic.session_runs import Run
from dashboard.render.texts import escape_label, escape_markdown
from mfcore import SGDFactorizer, random_split
from mfcore.models.persist import model_bytes

HOSTILE = ["[click](http://x)", "![img](http://x/t.png)", "<b>x</b>", "**bold**", "$x$"]
RAW = ["[click](", "![img](", "<b>", "**bold**", "$x$", "](http"]  # none of these may reach Markdown
NAME = " ".join(HOSTILE) + ".csv"


def hostile_csv() -> bytes:
    """Users and items whose ids are the hostile strings (quoted), and one plain user and item."""
    ids = [*HOSTILE, "plain"]
    rows = [f'"{user}","{item}",{(n + m) % 5 + 1}' for n, user in enumerate(ids) for m, item in enumerate(ids)
            if (n + m) % 3]  # a third unrated: every user has items left to recommend
    return ("user,item,rating\n" + "\n".join(rows) + "\n").encode()


def hostile_items() -> bytes:
    ids = [*HOSTILE, "plain"]
    return ("item,title\n" + "\n".join(f'"{item}","{item} {HOSTILE[n % 5]}"' for n, item in enumerate(ids))
            + "\n").encode()


def test_escape_markdown_keeps_the_text_and_defuses_the_markup():
    assert escape_markdown("[click](http://x)") == "\\[click\\](http\\:\u2060//x)"
    assert escape_markdown("<b>x</b> & $x$") == r"\<b\>x\</b\> \& \$x\$"
    assert escape_markdown("**bold** _it_ rating_nan.csv") == r"\*\*bold\*\* \_it\_ rating_nan.csv"
    assert escape_markdown("a\nb") == "a b" and escape_markdown("# title") == r"\# title"
    assert escape_label("<a href='x'>t</a> $x$") == "&lt;a href='x'&gt;t&lt;/a&gt; &#36;x&#36;"


def bodies(app: AppTest) -> list[str]:
    """The raw Markdown of every text element and every radio option, expander and status label."""
    texts = [element.value for kind in ("markdown", "caption", "error", "warning", "info", "success",
                                        "subheader", "header", "title") for element in getattr(app, kind)]
    texts += [option for radio in app.radio for option in radio.options]
    texts += [element.label for element in app.get("expandable")]
    return [str(text) for text in texts]


def assert_escaped(app: AppTest, must_show: str | None = None) -> None:
    no_exception(app)
    sent = bodies(app)
    unescaped = [re.sub(r"\\.", "\x00", text) for text in sent]  # what is left of each after its escapes
    leaked = [(marker, text) for text, bare in zip(sent, unescaped) for marker in RAW if marker in bare]
    assert not leaked, leaked
    if must_show is not None:
        assert any(must_show in text for text in sent), (must_show, sent)


@pytest.fixture(scope="module")
def dataset():
    return datasets.load(NAME, NAME, hostile_csv(), items=hostile_items())


def on_page(page: str, dataset, **state) -> AppTest:
    app = AppTest.from_file(str(ROOT / page), default_timeout=60)
    app.session_state["dataset"] = dataset
    for key, value in state.items():
        app.session_state[key] = value
    return app


def test_the_dataset_name_on_every_page_is_escaped(dataset):
    shown = escape_markdown(NAME)
    for page in ("Home.py", "pages/1_Train.py", "pages/2_Speed.py", "pages/3_Update_rule.py",
                 "pages/4_Error_schedules.py", "pages/5_Tune.py", "pages/6_Explore.py"):
        app = on_page(page, dataset).run()
        assert_escaped(app, None if page.endswith(("Explore.py", "Update_rule.py")) else shown)


def test_home_escapes_the_link_value_file_names_and_header_names():
    app = AppTest.from_file(str(ROOT / "Home.py"), default_timeout=60)
    app.query_params["data"] = "[click](http://x)"
    app.run()
    assert_escaped(app, escape_markdown("[click](http://x)"))
    app = upload(home(), "<b>x</b>.csv", b"user,item,rating,**bold**\n1,2,3,a\n2,1,4,b\n")
    assert_escaped(app, escape_markdown("'**bold**'"))
    app = upload(app, "[click](http:__x).csv", b"user,item,rating\n1,2,abc\n")
    assert len(app.error) == 1
    assert_escaped(app, escape_markdown("[click](http:__x).csv"))


def test_train_escapes_ignored_link_settings(dataset):
    app = on_page("pages/1_Train.py", dataset)
    app.query_params["n_factors"] = "[click](http://x)"
    app.query_params["engine"] = "<b>x</b>"
    app.run()
    assert_escaped(app, "Ignored link settings")


def test_update_rule_escapes_user_and_item_ids(dataset):
    app = on_page("pages/3_Update_rule.py", dataset).run()
    for _ in range(3):
        app = next(b for b in app.button if b.label == "Next update").click().run()
    assert_escaped(app, "**Step ")


def test_explore_escapes_titles_ids_explanations_and_map_labels(dataset):
    train, test = random_split(dataset.ratings, 0.2, seed=0)
    model = SGDFactorizer(n_factors=3, n_epochs=3, engine="numpy").fit(train, test)
    settings = {"n_factors": 3, "lr": 0.01, "reg": 0.05, "n_epochs": 3, "engine": "numpy", "test_size": 0.2,
                "seed": 0, "biased": True}
    runs = [Run(1, settings, dataset.name, dataset.path, model, test, status="done", history=list(model.history_))]
    app = on_page("pages/6_Explore.py", dataset, runs=runs).run()
    assert_escaped(app, "The top recommendation, ")
    labels = [str(text) for chart in app.get("plotly_chart") for trace in json.loads(chart.proto.spec)["data"]
              for key in ("text", "hovertext") for text in (trace.get(key) or [])]
    assert not any("<b>x</b>" in text for text in labels)  # Plotly would render the tag
    assert any(escape_label("<b>x</b>") in text for text in labels), "the map labels are there, escaped"
    # a model file with hostile ids, uploaded under a hostile name
    app = on_page("pages/6_Explore.py", dataset).run()
    app.radio(key="explore_source").set_value("Upload a model file").run()
    app.get("file_uploader")[0].set_value(("**bold**.npz", model_bytes(model, train, test), "application/octet-stream"))
    app = app.run()
    assert_escaped(app, escape_markdown("**bold**.npz"))
    app.get("file_uploader")[0].set_value(("<b>x</b>.npz", b"PK\x03\x04 not a zip", "application/octet-stream"))
    app = app.run()
    assert len(app.error) == 1
    assert_escaped(app, escape_markdown("<b>x</b>.npz"))
