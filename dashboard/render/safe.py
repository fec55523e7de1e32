"""The one way from the pages to Streamlit's renderers that interpret markup in what they show.

Streamlit renders Markdown (links, images, emphasis, colour directives, LaTeX) in ``st.table``'s cells,
index and header, in widget labels, ``st.metric`` and tab labels; Plotly renders a subset of HTML (``<a
href>``, ``<b>``, ``<span style>``, ``<br>``) in every text of a figure: axis and tick labels, hover text,
legend names, titles, annotations. A page never calls those renderers itself (``tests/dashboard/
test_safe_renderers.py`` fails on a call to ``table``, ``plotly_chart``, ``download_button``, ``metric``,
``html`` or an HTML-enabled Markdown anywhere else); it calls the functions here, which make every
string they are given inert first:

- :func:`table`: every cell, index and column label through
  :func:`dashboard.render.texts.escape_markdown`, then the page's formats and styles;
- :func:`plotly_chart`: every string of the figure, data and layout, through
  :func:`dashboard.render.texts.escape_label` (``& < > $`` as entities, which Plotly draws as the
  characters; a newline ``"\\n"`` becomes Plotly's line break). The exceptions are Plotly's formats
  (keys ending in ``format``, such as ``tickformat``), never text, and its templates (keys ending in
  ``template``), whose ``%{...}`` fields and ``<extra>`` tag are kept while everything else is
  escaped. So a figure's own code writes plain text with ``"\\n"`` for a new line, and a title, id or
  genre it holds cannot become a tag;
- :func:`download_button`: the label as Markdown-escaped text and the file name cut to a portable
  set of characters (:func:`file_name`);
- Markdown text elements (:func:`markdown`, :func:`caption`, :func:`info`, :func:`warning`,
  :func:`error`, :func:`success`, :func:`title`, :func:`header`, :func:`subheader`, :func:`toast`) and
  :func:`radio`'s options. A text element takes a *template*, the page's own Markdown written in its
  source (the source check requires a string literal), and *values* to put in its ``{}`` fields, as
  :meth:`str.format` does: each value is shown as the characters it holds
  (:func:`dashboard.render.texts.escape_markdown`, after its format spec and conversion are applied),
  unless it is :class:`Markdown` already. A function that builds a sentence with markup returns
  :func:`md`'s :class:`Markdown` (its template a literal as well); any plain ``str`` is text. So the
  only Markdown that reaches Streamlit is written in the project's source, and no value can add any.
  A widget label, ``help`` tooltip or progress text that holds a value is :func:`md` too.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.render.texts import escape_label, escape_markdown, inert_text, md

_KEPT_IN_TEMPLATES = re.compile(r"&lt;(/?extra)&gt;")


def inert_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells, index and column labels are Markdown-escaped."""
    def text(value):
        return escape_markdown(value) if isinstance(value, str) else value

    def texts(values) -> bool:
        return values.dtype == object or pd.api.types.is_string_dtype(values)

    escaped = frame.copy()
    for column in escaped.columns:
        if texts(escaped[column]):
            escaped[column] = escaped[column].map(text)
    if texts(escaped.index):  # a range or numbers stay as they are (Streamlit leaves a range index out)
        escaped.index = escaped.index.map(text)
    escaped.columns = escaped.columns.map(text)
    return escaped


def table(container, frame: pd.DataFrame, formats: dict | str | None = None, na_rep: str | None = None,
          hide_index: bool = False, style: Callable | None = None, style_axis: int = 0) -> None:
    """``frame`` as a static table in ``container`` (``st`` or a column), its text inert. ``formats``
    (a format string, or one per column by the column's name), ``na_rep``, ``hide_index`` and ``style``
    (a function given to ``Styler.apply`` along ``style_axis``) are pandas Styler's."""
    escaped = inert_frame(frame.reset_index(drop=True) if hide_index else frame)
    styler = escaped.style
    if formats is not None or na_rep is not None:
        if isinstance(formats, dict):
            formats = {escape_markdown(name): text for name, text in formats.items()}
        styler = styler.format(formats, na_rep=na_rep)
    if style is not None:
        styler = styler.apply(style, axis=style_axis)
    if hide_index:
        styler = styler.hide(axis="index")
    container.table(styler)


def _inert_text(text: str, key: str) -> str:
    if key.endswith("format"):
        return text
    escaped = escape_label(text)
    if key.endswith("template"):
        escaped = _KEPT_IN_TEMPLATES.sub(r"<\1>", escaped)
    return escaped


def _inert(value, key: str = ""):
    if isinstance(value, str):
        return _inert_text(value, key)
    if isinstance(value, dict):
        return {name: _inert(item, name) for name, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_inert(item, key) for item in value)
    if isinstance(value, np.ndarray) and value.dtype.kind in "OUS":
        return np.array([_inert(item, key) for item in value.ravel().tolist()], dtype=object).reshape(value.shape)
    return value


def inert_figure(figure: go.Figure) -> go.Figure:
    """A copy of ``figure`` whose every text is inert (module docstring)."""
    return go.Figure(_inert(figure.to_dict()))


def plotly_chart(container, figure: go.Figure, **kwargs):
    """``container.plotly_chart`` of :func:`inert_figure` (``kwargs`` are Streamlit's); returns what
    Streamlit returns (the selection event with ``on_select``)."""
    return container.plotly_chart(inert_figure(figure), **kwargs)


_UNSAFE_IN_NAMES = re.compile(r"[^A-Za-z0-9._-]+")
MAX_NAME = 100
"""Characters of a download's file name at most (before its extension is kept)."""


def file_name(text: str) -> str:
    """``text`` as a download's file name: accents dropped, every run of characters other than letters,
    digits, ``.``, ``_`` and ``-`` one ``_``, no leading dot, at most :data:`MAX_NAME` characters with
    the extension kept; ``download`` when nothing is left."""
    plain = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    name = _UNSAFE_IN_NAMES.sub("_", plain).strip("._") or "download"
    if len(name) > MAX_NAME:
        stem, dot, extension = name.rpartition(".")
        extension = extension[:10] if dot and stem else ""
        name = name[:MAX_NAME - len(extension) - 1].rstrip("._") + ("." + extension if extension else "")
    return name


def download_button(container, label: str, data, name: str, **kwargs):
    """``container.download_button`` with ``label`` shown as text and ``name`` made a portable file name
    (:func:`file_name`); ``kwargs`` are Streamlit's. Returns what Streamlit returns."""
    return container.download_button(escape_markdown(label), data, file_name=file_name(name), **kwargs)


def metric(container, label: str, value, **kwargs):
    """``container.metric`` with ``label`` and ``value`` shown as text (both render Markdown)."""
    return container.metric(escape_markdown(label), escape_markdown(value), **kwargs)


def _text(method: str, heading: bool = False):
    def show(container, template: str, /, *values, **named):
        kwargs = {name: named.pop(name) for name in list(named) if name in _STREAMLIT_KWARGS}
        if heading and (values or named):
            kwargs.setdefault("anchor", False)  # a heading's link to itself would be made from the values
        return getattr(container, method)(md(template, *values, **named), **kwargs)

    show.__name__ = method
    show.__doc__ = (f"``container.{method}`` of :func:`md` ``(template, *values, **named)``; Streamlit's own "
                    f"keywords ({', '.join(sorted(_STREAMLIT_KWARGS))}) go to Streamlit.")
    return show


_STREAMLIT_KWARGS = {"help", "icon", "width", "anchor", "divider", "unsafe_allow_html", "duration", "text_alignment"}
markdown, caption, title, header, subheader = (_text("markdown"), _text("caption"), _text("title", True),
                                               _text("header", True), _text("subheader", True))
info, warning, error, success, toast = (_text("info"), _text("warning"), _text("error"), _text("success"),
                                        _text("toast"))


def radio(container, label: str, options, /, format_func: Callable = str, **kwargs):
    """``container.radio`` whose option labels (``format_func`` of each option) are shown as text;
    ``label`` is the page's own (a literal or :func:`md`); ``kwargs`` are Streamlit's."""
    return container.radio(label, options, format_func=lambda option: inert_text(format_func(option)), **kwargs)
