"""Explanations a student reads, written once: the error schedules, the engines, what a positive is.

Sentences about measured numbers are not here: the pages generate those from the numbers. Every
user-derived string a page puts in Markdown goes through :func:`escape_markdown`, by construction: the
text elements (``dashboard.render.safe``) show a plain ``str`` as text and only :class:`Markdown` (a
literal template, :func:`md`) as markup.
"""

from __future__ import annotations

import html
import re
import string

from mfcore.models.params import POSITIVE_LEVEL
from mfcore.models.ranking import positive_threshold


class Markdown(str):
    """Markdown the project wrote (a literal template with its values escaped, see :func:`md`): the text
    elements show it as markup, where a plain ``str`` is shown as text. Joining keeps the type only
    through :meth:`join` and ``+``, which escape a plain ``str`` they are given."""

    __slots__ = ()

    def __add__(self, other: str) -> Markdown:
        return Markdown(str.__add__(self, inert_text(other)))

    def __radd__(self, other: str) -> Markdown:
        return Markdown(str.__add__(inert_text(other), self))

    def join(self, parts) -> Markdown:
        return Markdown(str.join(self, (inert_text(part) for part in parts)))


def inert_text(value) -> str:
    """``value`` for a Markdown text element: a :class:`Markdown` as it is, anything else escaped."""
    return value if isinstance(value, Markdown) else escape_markdown(value)


class _Fields(string.Formatter):
    def format_field(self, value, format_spec: str) -> str:
        if isinstance(value, Markdown):
            return Markdown(format(str(value), format_spec))
        return escape_markdown(format(value, format_spec))


_FIELDS = _Fields()


def md(template: str, /, *values, **named) -> Markdown:
    """``template`` (the project's Markdown, a string literal) with its ``{}`` fields filled as
    :meth:`str.format` fills them, every value escaped after its conversion and format spec (a
    :class:`Markdown` value is kept): ``md("**{}** trains {:,.0f} times faster", engine, ratio)``."""
    if isinstance(template, Markdown) and not values and not named:
        return template
    return Markdown(_FIELDS.vformat(str(template), values, named))


SCHEDULES = {
    "per-rating": "the standard (Koren, Surprise, LibMF): compute the error of one rating, move its "
                  "user's and item's biases and all K factors with it, go to the next rating.",
    "per-factor": "like per-rating, but after each single factor moves, the error is corrected for that "
                  "move (cheaply, without a new dot product), so the next factor sees a fresher error.",
    "per-epoch": "the naive loop from the question: compute every rating's error once at the start of "
                 "the epoch, then make all the moves with those stale errors. A user with 500 ratings "
                 "gets 500 pushes in the same direction before anyone checks whether the first ones "
                 "already fixed the error.",
    "funk": Markdown("Simon Funk's (Netflix Prize 2006): train one feature at a time. Each epoch trains only "
                     "the current feature (features take turns, *epochs per feature* each); the rest of every "
                     "prediction is cached per rating, so an epoch moves one number per user and item instead "
                     "of K."),
}
"""Each error schedule in one or two sentences: *how often is the error e = r - r̂ recomputed?*"""

SCHEDULE_MECHANISMS = Markdown(
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
_LINE_START = re.compile(r"^(\s*)([#>+=-]|\d+(?=[.)](?:\s|$)))", re.MULTILINE)


_AUTOLINK = re.compile(r"(?<=\\:)(?=//|[\w+-])|(?i:(?<=w)(?=ww\\\.))|(?=\\@[\w\\-]+(?:\.[\w\\-]+)+)")
WORD_JOINER = "\u2060"
"""An invisible character that breaks no line: put inside ``://``, ``www.`` and before an ``@`` that a
dotted domain follows (``a@b.c``, GFM's email autolink; ``NDCG@10`` is left as it is) it stops
GitHub-flavoured Markdown from turning a URL or an address into a link (its autolink literals are found
in the text after the backslash escapes are read, so an escape alone does not stop them); put after a
colon that a word follows it stops Streamlit's icons (``:material/home:``, which Streamlit rewrites in
the source before the escapes are read) and emoji shortcodes."""


def escape_markdown(text) -> str:
    r"""``text`` (any user-derived value: a title, an id, a file name, a URL value, an error message
    quoting a file) made inert in Streamlit Markdown, so that it renders as the characters it holds.

    Every character that starts Markdown or HTML or a Streamlit directive gets a backslash: links and
    images (``[ ]``), emphasis and code (``* ` ~`` and ``_`` at a word's edge; an underscore inside a
    word, as in ``rating_nan.csv``, never emphasizes and is left alone), HTML and entities
    (``< > &``), math (``$``), tables (``|``), colored text, emoji and icons (``:red[...]``,
    ``:smile:``, ``:material/...:``); a line that would start a heading, quote or list gets its marker
    escaped, and line breaks become spaces so one value cannot start a new block. CommonMark lets any
    ASCII punctuation be backslash-escaped, so the text reads the same. Autolinks (``http://``, ``www.``,
    ``a@b.c``) and icons (a colon before a word) get a :data:`WORD_JOINER` besides. Apply it to the user's
    part only, never to the app's own Markdown around it (:func:`md` does)."""
    text = str(text).replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    text = _MARKUP.sub(lambda match: "\\" + match.group(), text)
    text = _AUTOLINK.sub(WORD_JOINER, text)
    return _LINE_START.sub(lambda m: m.group(1) + (m.group(2) + "\\" if m.group(2).isdigit() else "\\" + m.group(2)),
                           text, count=1)


def escape_label(text) -> str:
    """``text`` for Plotly, which renders a subset of HTML (``<a href>``, ``<b>``, ``<span style>``, ``<br>``)
    and, with MathJax, ``$...$``, but no Markdown: ``& < > $`` become entities, which Plotly draws as the
    characters, and a newline becomes Plotly's line break ``<br>``."""
    text = html.escape(str(text), quote=False).replace("$", "&#36;")
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "<br>")


def positives(scale: tuple[float, float], level: float | None = POSITIVE_LEVEL) -> str:
    """Which ratings a ranking model takes as positives, in the words every page uses: "ratings >= 4
    (the positive level 0.75 of the rating scale 1 to 5)". The threshold is
    :func:`mfcore.models.ranking.positive_threshold` (``min + level * (max - min)`` of the data's scale),
    the one rule the models, the metrics and the teaching steppers apply; ``level`` None: every rating."""
    if level is None:
        return "every rating (no positive level)"
    low, high = (float(value) for value in scale)
    return (f"ratings >= {positive_threshold(scale, level):g} (the positive level {level:g} of the rating "
            f"scale {low:g} to {high:g})")
