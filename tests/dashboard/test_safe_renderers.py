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
from dashboard.render.texts import WORD_JOINER, Markdown, escape_markdown

RENDERERS = {"table", "plotly_chart", "download_button", "metric", "html", "altair_chart", "vega_lite_chart",
             "pyplot", "bokeh_chart", "pydeck_chart", "graphviz_chart", "iframe",
             "markdown", "caption", "info", "warning", "error", "success", "title", "header", "subheader", "toast",
             "radio"}
"""Streamlit calls that render markup or fetch from an address: only dashboard/render/safe.py makes them (``write``
of a string is ``markdown``: ``st.write`` is one too)."""
TEXT_ELEMENTS = {"markdown", "caption", "info", "warning", "error", "success", "title", "header", "subheader", "toast"}
"""safe's text elements: ``safe.X(container, template, *values)``, the template the page's own Markdown."""
LABELS = {"help", "label", "text"}
"""Keywords whose text Streamlit renders as Markdown in every widget (a tooltip, a label, a progress text), besides
a widget's first argument, its label."""
WIDGETS = {"button", "checkbox", "toggle", "selectbox", "multiselect", "slider", "select_slider", "number_input",
           "text_input", "text_area", "file_uploader", "expander", "status", "spinner", "progress", "page_link",
           "form_submit_button", "popover", "link_button", "pills", "segmented_control", "color_picker",
           "date_input", "time_input", "tabs", "update", "radio", "download_button", "metric"}
FORBIDDEN_NAMES = {"unsafe_allow_html", "LinkColumn", "ImageColumn", "components"}
SOURCES = [ROOT / "Home.py", *sorted((ROOT / "pages").glob("*.py")), *sorted((ROOT / "dashboard").rglob("*.py"))]
SAFE = ROOT / "dashboard" / "render" / "safe.py"
TEXTS = ROOT / "dashboard" / "render" / "texts.py"


def literal(node: ast.AST) -> bool:
    """Whether ``node`` is Markdown written in the source: a string literal (adjacent literals are one), or a
    choice between two."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    return isinstance(node, ast.IfExp) and literal(node.body) and literal(node.orelse)


def is_md(node: ast.AST) -> bool:
    """Whether ``node`` is a call of ``md`` (texts.md, safe.md): Markdown built from a literal template."""
    return isinstance(node, ast.Call) and (getattr(node.func, "attr", None) or getattr(node.func, "id", None)) == "md"


def leftmost(node: ast.AST) -> ast.AST:
    """The first operand of a ``+`` chain (the node itself otherwise): Markdown + a str escapes the str."""
    while isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        node = node.left
    return node


def built(node: ast.AST) -> bool:
    """Whether ``node`` builds a string from values in place (an f-string, ``+``, ``%``, ``.format``): inside a
    label or a template that is a value the escaper never sees."""
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(part, ast.FormattedValue) for part in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
        return not (literal(node.left) and literal(node.right))
    if isinstance(node, ast.IfExp):
        return built(node.body) or built(node.orelse)
    return isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "format"


def direct_calls(path: Path) -> list[str]:
    """``file:line problem`` of every renderer call in ``path`` not made on a module of the project (a module's
    own function named like one, e.g. ``search.table``, is data, not a renderer); of every template of safe's text
    elements and of :func:`md` that is not a literal; of every label, tooltip or progress text built in place
    (an f-string, ``+``, ``%`` or ``.format`` instead of :func:`md`); of every :class:`Markdown` made outside
    texts.py."""
    tree = ast.parse(path.read_text())
    modules = {alias.asname or alias.name.split(".")[0] for node in ast.walk(tree)
               if isinstance(node, (ast.Import, ast.ImportFrom)) for alias in node.names} - {"st", "streamlit"}
    where = path.relative_to(ROOT)
    found = []
    for node in ast.walk(tree):
        call = node if isinstance(node, ast.Call) else None
        method = getattr(call.func, "attr", None) if call is not None else None
        receiver = call.func.value if call is not None and isinstance(call.func, ast.Attribute) else None
        on_module = isinstance(receiver, ast.Name) and receiver.id in modules | {"log", "logger"}
        if method in RENDERERS and not on_module:
            found.append(f"{where}:{node.lineno} .{method}(")
        if method == "write" and isinstance(receiver, ast.Name) and receiver.id in ("st", "streamlit"):
            found.append(f"{where}:{node.lineno} .write(")
        if method in TEXT_ELEMENTS and isinstance(receiver, ast.Name) and receiver.id == "safe":
            template = call.args[1] if len(call.args) > 1 else None
            if template is None or not (literal(template) or is_md(leftmost(template))):
                found.append(f"{where}:{node.lineno} safe.{method}( template not a literal")
        if call is not None and is_md(call) and path != TEXTS and not (call.args and literal(call.args[0])):
            found.append(f"{where}:{node.lineno} md( template not a literal")
        if method in WIDGETS and not on_module:
            labels = call.args[1:2] if method == "progress" else call.args[:1] if method != "page_link" else []
            labels += [keyword.value for keyword in call.keywords if keyword.arg in LABELS]
            found += [f"{where}:{node.lineno} .{method}( label built in place" for label in labels if built(label)]
        if (call is not None and getattr(call.func, "id", getattr(call.func, "attr", None)) == "Markdown"
                and path != TEXTS):
            found.append(f"{where}:{node.lineno} Markdown( outside texts.py")
        names = ({node.attr} if isinstance(node, ast.Attribute) else {node.id} if isinstance(node, ast.Name)
                 else {keyword.arg for keyword in node.keywords} if isinstance(node, ast.Call) else set())
        found += [f"{where}:{node.lineno} {name}" for name in names & FORBIDDEN_NAMES]
    return found


def test_no_page_or_module_calls_a_markup_renderer_directly():
    found = [call for path in SOURCES if path != SAFE for call in direct_calls(path)]
    assert not found, found


def test_the_source_check_finds_a_direct_call(tmp_path):
    page = tmp_path / "page.py"
    page.write_text("import streamlit as st\nfrom dashboard.logic import search\nfrom dashboard.render import safe\n"
                    "search.table(1)\nst.table(frame)\ncolumns[0].plotly_chart(figure)\n"
                    "st.markdown('x', unsafe_allow_html=True)\nst.subheader(f'{name}')\nslot.info('constant')\n"
                    "st.write(name)\nsafe.caption(st, f'{name}')\nsafe.caption(st, name)\n"
                    "safe.caption(st, 'Rated by {}', name)\nsafe.caption(st, safe.md('**{}**', name) + rest)\n"
                    "safe.md(name)\nst.button(f'Retrain {label}')\nst.expander('Run ' + label)\n"
                    "st.button(safe.md('Retrain {}', label), help='constant')\nbar.progress(0.5, text=f'{label}')\n"
                    "safe.radio(st, 'Model', labels)\nst.radio('Model', labels)\nsafe.Markdown(name)\n")
    page = page.rename(ROOT / "tests" / "dashboard" / "_direct_call_probe.py")
    try:
        assert [call.split(" ", 1)[1] for call in direct_calls(page)] == [
            ".table(", ".plotly_chart(", ".markdown(", "unsafe_allow_html", ".subheader(", ".info(", ".write(",
            "safe.caption( template not a literal", "safe.caption( template not a literal",
            "md( template not a literal", ".button( label built in place", ".expander( label built in place",
            ".progress( label built in place", ".radio(", "Markdown( outside texts.py"]
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
    "https://evil.example/x", "www.evil.example", "WWW.EVIL.EXAMPLE", "mail@evil.example", "mailto:a@b.c",
    ":material/home:", ":streamlit:", ":+1:", "x:blue[y]"])
def test_markdown_escaping_leaves_no_autolink(raw):
    shown = escape_markdown(raw)
    bare = re.sub(r"\\.", "", shown)  # what is left once the escaped characters are dropped
    assert not re.search(r"(?i)https?://|www\.|\w@\w", shown.replace(WORD_JOINER, "\x00")), shown
    assert not re.search(r"[<>\[\]*`$|]", bare), shown
    assert not re.search(r":[\w+-]", shown), shown  # icons, emoji, directives: Streamlit reads them in the source


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


@pytest.mark.parametrize("raw", [payload for _, payload in payloads()] + [
    "<img src=x onerror=alert(1)>", "[x](javascript:alert(1))", "$\\href{https://evil.example}{x}$", ":blue[x]",
    "<svg><a href='https://evil.example'>x</a></svg>", "\u202eevil\u200b", "a\r\nb", ":material/home:",
    "x" * 5000])
def test_a_text_element_shows_its_values_as_text_and_keeps_its_own_markdown(raw):
    class Container:
        def caption(self, body, **kwargs):
            self.body, self.kwargs = body, kwargs

    box = Container()
    safe.caption(box, "**{}** rated {:,} items: {}", raw, 1234, safe.md("*{}*", raw))
    assert box.body == f"**{escape_markdown(raw)}** rated 1,234 items: *{escape_markdown(raw)}*"
    assert box.body.startswith("**") and isinstance(box.body, Markdown)
    assert safe.md("a: ") + raw == "a: " + escape_markdown(raw)  # a str added to Markdown is text
    assert safe.md(" ").join([raw, safe.md("**b**")]) == escape_markdown(raw) + " **b**"
    safe.subheader(box := type("Box", (), {"subheader": Container.caption})(), "User {}", raw)
    assert box.kwargs == {"anchor": False}  # a heading holding a value gets no link made from it


def test_radio_options_are_shown_as_text():
    class Container:
        def radio(self, label, options, format_func, **kwargs):
            return [format_func(option) for option in options]

    shown = safe.radio(Container(), "Model", ["run 1", "**run** [2](https://evil.example)"], format_func=str.upper)
    assert shown == ["RUN 1", escape_markdown("**RUN** [2](HTTPS://EVIL.EXAMPLE)")]
