"""Every renderer that interprets markup is reached through dashboard/render/safe.py, and what safe.py
hands Streamlit holds no markup from the data: the source is read for direct calls (a new call site
cannot forget), and the helpers are checked on payloads of every kind (tests/hostile.py)."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from hostile import payloads
from paths import ROOT

from dashboard.render import safe
from dashboard.render.texts import WORD_JOINER, escape_markdown

RENDERERS = {"table", "plotly_chart", "download_button", "metric", "html", "altair_chart", "vega_lite_chart",
             "pyplot", "bokeh_chart", "pydeck_chart", "graphviz_chart", "iframe"}
"""Streamlit calls that render markup or fetch from an address: only dashboard/render/safe.py makes them."""
HEADINGS = {"title", "header", "subheader"}
"""Headings get a link to themselves whose address is made from their text: one that holds a value (an
f-string) passes ``anchor=False``, so no link on the page is made from the data."""
FORBIDDEN_NAMES = {"unsafe_allow_html", "LinkColumn", "ImageColumn", "components"}
SOURCES = [ROOT / "Home.py", *sorted((ROOT / "pages").glob("*.py")), *sorted((ROOT / "dashboard").rglob("*.py"))]
SAFE = ROOT / "dashboard" / "render" / "safe.py"


def direct_calls(path: Path) -> list[str]:
    """``file:line call`` of every renderer call in ``path`` not made on a module of the project (a module's
    own function named like one, e.g. ``search.table``, is data, not a renderer)."""
    tree = ast.parse(path.read_text())
    modules = {alias.asname or alias.name.split(".")[0] for node in ast.walk(tree)
               if isinstance(node, (ast.Import, ast.ImportFrom)) for alias in node.names} - {"st", "streamlit"}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in RENDERERS:
            receiver = node.func.value
            if not (isinstance(receiver, ast.Name) and receiver.id in modules):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} .{node.func.attr}(")
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in HEADINGS
                and node.args and isinstance(node.args[0], ast.JoinedStr)
                and not any(k.arg == "anchor" and getattr(k.value, "value", None) is False for k in node.keywords)):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno} .{node.func.attr}( with a link to itself")
        names = ({node.attr} if isinstance(node, ast.Attribute) else {node.id} if isinstance(node, ast.Name)
                 else {keyword.arg for keyword in node.keywords} if isinstance(node, ast.Call) else set())
        found += [f"{path.relative_to(ROOT)}:{node.lineno} {name}" for name in names & FORBIDDEN_NAMES]
    return found


def test_no_page_or_module_calls_a_markup_renderer_directly():
    found = [call for path in SOURCES if path != SAFE for call in direct_calls(path)]
    assert not found, found


def test_the_source_check_finds_a_direct_call(tmp_path):
    page = tmp_path / "page.py"
    page.write_text("import streamlit as st\nfrom dashboard.logic import search\nsearch.table(1)\n"
                    "st.table(frame)\ncolumns[0].plotly_chart(figure)\nst.markdown('x', unsafe_allow_html=True)\n"
                    "st.subheader(f'{name}')\nst.subheader(f'{name}', anchor=False)\n")
    page = page.rename(ROOT / "tests" / "dashboard" / "_direct_call_probe.py")
    try:
        assert [call.split(" ", 1)[1] for call in direct_calls(page)] == [
            ".table(", ".plotly_chart(", "unsafe_allow_html", ".subheader( with a link to itself"]
    finally:
        page.unlink()


TAG = re.compile(r"<\s*/?\s*[A-Za-z]")


def strings(value, key=""):
    """Every ``(key, string)`` in a figure's dict."""
    if isinstance(value, str):
        yield key, value
    elif isinstance(value, dict):
        for name, item in value.items():
            yield from strings(item, name)
    elif isinstance(value, (list, tuple, np.ndarray)):
        for item in (value.ravel().tolist() if isinstance(value, np.ndarray) else value):
            yield from strings(item, key)


def hostile_figure(texts: list[str]) -> go.Figure:
    figure = go.Figure(go.Heatmap(z=np.ones((len(texts), len(texts))), x=texts, y=texts))
    figure.add_trace(go.Scatter(x=[1, 2], y=[1, 2], text=texts[:2], hovertext=texts[:2], name=texts[0],
                                customdata=np.array(texts[:2], dtype=object),
                                hovertemplate="%{text} " + texts[1] + "<extra>" + texts[2] + "</extra>",
                                marker={"colorbar": {"title": {"text": texts[3]}}}))
    figure.add_annotation(text=texts[4], x=1, y=1)
    figure.update_layout(title=texts[5], xaxis_title=texts[6],
                         yaxis={"tickvals": [0, 1], "ticktext": texts[7:9], "tickformat": ".2f"},
                         legend_title_text=texts[9])
    return figure


def test_a_figure_keeps_no_tag_and_no_math_from_its_texts():
    texts = [payload for _, payload in payloads()] + ["line one\nline two"]
    before = hostile_figure(texts).to_dict()
    after = safe.inert_figure(hostile_figure(texts)).to_dict()
    assert any(TAG.search(text) for _, text in strings(before))
    for key, text in strings(after):
        kept = re.sub(r"<br>", "", text)
        if key.endswith("template"):
            kept = re.sub(r"</?extra>", "", kept)
        assert not TAG.search(kept) and "$" not in kept, (key, text)
    assert after["layout"]["yaxis"]["tickformat"] == ".2f"  # a format is not text
    template = after["data"][1]["hovertemplate"]
    assert template.startswith("%{text} ") and template.count("<extra>") == 1 and template.endswith("</extra>")
    assert "line one<br>line two" in after["data"][0]["x"]
    assert after["data"][0]["x"][4] == "&lt;b&gt;T005Q&lt;/b&gt;"  # Plotly draws the entities as the characters


def test_a_table_shows_every_text_cell_index_and_header_escaped():
    texts = [payload for _, payload in payloads()]
    frame = pd.DataFrame({texts[0]: texts, "n": np.arange(len(texts), dtype=float)}, index=texts)
    shown = safe.inert_frame(frame)
    assert list(shown.columns) == [escape_markdown(texts[0]), "n"]
    assert list(shown.index) == list(shown[escape_markdown(texts[0])]) == [escape_markdown(t) for t in texts]
    assert shown["n"].tolist() == frame["n"].tolist()
    assert isinstance(safe.inert_frame(frame.reset_index(drop=True)).index, pd.RangeIndex)  # left out by st.table

    class Container:
        def table(self, styler):
            self.html = styler.to_html()

    container = Container()
    safe.table(container, frame, formats={"n": "{:.3f}"}, hide_index=True)
    assert "2.000" in container.html and escape_markdown(texts[0]) in container.html


@pytest.mark.parametrize("raw", [payload for _, payload in payloads()] + [
    "https://evil.example/x", "www.evil.example", "WWW.EVIL.EXAMPLE", "mail@evil.example", "mailto:a@b.c"])
def test_markdown_escaping_leaves_no_autolink(raw):
    shown = escape_markdown(raw)
    bare = re.sub(r"\\.", "", shown)  # what is left once the escaped characters are dropped
    assert not re.search(r"(?i)https?://|www\.|\w@\w", shown.replace(WORD_JOINER, "\x00")), shown
    assert not re.search(r"[<>\[\]*`$|]", bare), shown


@pytest.mark.parametrize(("name", "expected"), [
    ("**f**:red[fn].csv", "f_red_fn_.csv"), ("../../etc/passwd", "etc_passwd"), ("run 1.csv", "run_1.csv"),
    ("élève\n<b>.npz", "eleve_b_.npz"), ("....", "download"), ("x" * 300 + ".npz", "x" * 96 + ".npz")])
def test_download_names_are_portable(name, expected):
    assert safe.file_name(name) == expected


def test_the_map_figure_reaches_streamlit_escaped():
    from dashboard.logic.map_views import map_figure

    labels = np.array(["<b>T1</b>", "[x](https://evil.example)", "$x$"], dtype=object)
    figure = map_figure(labels, np.zeros((3, 2)), np.array(["<i>g</i>", "<i>g</i>", "a"], dtype=object), "genre",
                        [0, 1], 0.5, "items")
    sent = json.dumps(safe.inert_figure(figure).to_dict(), default=str)
    assert "<b>T1</b>" not in sent and "<i>g</i>" not in sent and "$x$" not in sent
    assert "&lt;b&gt;T1&lt;/b&gt;" in sent and "&lt;i&gt;g&lt;/i&gt; (2)" in sent
