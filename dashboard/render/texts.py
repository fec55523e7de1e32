"""Explanations a student reads, written once: the error schedules and the engines.

Sentences about measured numbers are not here: the pages generate those from the numbers. Every
user-derived string a page puts in Markdown goes through :func:`escape_markdown`.
"""

import html
import re

SCHEDULES = {
    "per-rating": "the standard (Koren, Surprise, LibMF): compute the error of one rating, move its "
                  "user's and item's biases and all K factors with it, go to the next rating.",
    "per-factor": "like per-rating, but after each single factor moves, the error is corrected for that "
                  "move (cheaply, without a new dot product), so the next factor sees a fresher error.",
    "per-epoch": "the naive loop from the question: compute every rating's error once at the start of "
                 "the epoch, then make all the moves with those stale errors. A user with 500 ratings "
                 "gets 500 pushes in the same direction before anyone checks whether the first ones "
                 "already fixed the error.",
    "funk": "Simon Funk's (Netflix Prize 2006): train one feature at a time. Each epoch trains only the "
            "current feature (features take turns, *epochs per feature* each); the rest of every "
            "prediction is cached per rating, so an epoch moves one number per user and item instead "
            "of K.",
}
"""Each error schedule in one or two sentences: *how often is the error e = r - r̂ recomputed?*"""

SCHEDULE_MECHANISMS = (
    "**Why they differ.** Fresh errors (per-rating, per-factor) make every move correct the mistake as "
    "it stands now. Per-factor's step for one factor waits for the correction of the previous one, so "
    "its K-loop cannot run as one vector operation. Stale errors (per-epoch) make all of a user's or an "
    "item's moves from one old error: with many ratings per row that adds up to a step many times "
    "larger than the learning rate says, so it needs a smaller learning rate to stay stable. Funk's "
    "schedule moves only one feature per epoch, so each epoch can improve the fit less.")
"""How the schedules work, independent of any run's numbers (the page adds the measured comparison)."""

ENGINES = {
    "python": "The readable reference: one Python loop over the ratings and NumPy calls on K-length "
              "rows, so every rating pays the interpreter's overhead several times over.",
    "numpy": "Vectorized mini-batches: the gradients of a whole batch are computed with array "
             "operations and added with scatter-adds, then applied. A different algorithm from "
             "per-rating SGD (a batch's ratings all see the factors from before the batch).",
    "cython": "The same per-rating loop written in Cython and compiled to C by a C compiler on first "
              "use (typed float32 arrays, no bounds checks): it answers whether hand-compiling the loop "
              "beats Numba's just-in-time compilation.",
    "numba": "The per-rating loop compiled to machine code by Numba: float32 throughout, ratings laid "
             "out in visiting order so memory is read as a stream, the K-loop turned into vector "
             "instructions (packed fused multiply-adds).",
    "numba-parallel": "The default engine. Block-stratified SGD (DSGD/FPSGD, as in LibMF): users and "
                      "items are cut into blocks so that threads train blocks that share no user and "
                      "no item, without locks; the ratings are shuffled and grouped into blocks once "
                      "per fit, and each epoch only draws a new order of the blocks instead of "
                      "reshuffling every rating.",
}
"""Why each engine is as fast or as slow as it is, in plain words."""


_MARKUP = re.compile(r"[\\`*\[\]<>$~|:@&{}]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])|(?i:(?<=www)\.)")
_LINE_START = re.compile(r"^(\s*)([#>+=-]|\d+(?=[.)]))", re.MULTILINE)


def escape_markdown(text) -> str:
    r"""``text`` (any user-derived value: a title, an id, a file name, a URL value, an error message
    quoting a file) made inert in Streamlit Markdown, so that it renders as the characters it holds.

    Every character that starts Markdown or HTML or a Streamlit directive gets a backslash: links and
    images (``[ ]``), emphasis and code (``* ` ~`` and ``_`` at a word's edge; an underscore inside a
    word, as in ``rating_nan.csv``, never emphasizes and is left alone), HTML and entities
    (``< > &``), math (``$``), tables (``|``), colored text, emoji and icons (``:red[...]``,
    ``:smile:``, ``:material/...:``) and autolinks (``http://``, ``a@b``, ``www.``); a line that would
    start a heading, quote or list gets its marker escaped, and line breaks become spaces so one value
    cannot start a new block. CommonMark lets any ASCII punctuation be backslash-escaped, so the text
    reads the same. Apply it to the user's part only, never to the app's own Markdown around it."""
    text = str(text).replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    text = _MARKUP.sub(lambda match: "\\" + match.group(), text)
    return _LINE_START.sub(lambda m: m.group(1) + (m.group(2) + "\\" if m.group(2).isdigit() else "\\" + m.group(2)),
                           text, count=1)


def table_style(frame, formats: dict | None = None):
    """``frame`` styled for ``st.table``, whose cells render Markdown: every text cell through
    :func:`escape_markdown` (a title reads as the characters it holds, ">=" stays ">="), numbers in
    ``formats`` (``{column: format string or callable}``), a missing value as "–" (a lone "-" renders
    as a list bullet), no index."""
    shown = dict(formats or {})
    text = {name: escape_markdown for name in frame.columns if name not in shown and frame[name].dtype.kind == "O"}
    return frame.style.format({**text, **shown}, na_rep="–").hide(axis="index")


def escape_label(text) -> str:
    """``text`` for a Plotly label or hover text, which render a subset of HTML (``<a href>``,
    ``<b>``, ``<br>``) but not Markdown: the HTML-significant characters become entities."""
    return html.escape(str(text), quote=True)
