"""Engine docstrings (reStructuredText) shown as Markdown on the Speed page."""

from __future__ import annotations

import re
import sys


def rst_to_markdown(text: str) -> str:
    """The bits of reST the engine docstrings use: literals, roles, inline and display math."""
    text = re.sub(r"\.\. math::\n((?:[ \t]+.*\n?)+)",
                  lambda m: "$$\n" + "\n".join(line.strip() for line in m.group(1).splitlines()) + "\n$$\n",
                  text)
    text = re.sub(r":math:`([^`]+)`", r"$\1$", text)
    text = re.sub(r":\w+:`~?([^`]+)`", r"`\1`", text)
    return re.sub(r"``([^`]+)``", r"`\1`", text)


def engine_notes(engine) -> tuple[str, str]:
    """Why ``engine`` is as fast as it is (the docstring paragraph saying so, else the second one),
    and the rest of its module docstring, both as Markdown."""
    module = sys.modules[engine.kernels["per-rating"].__module__]
    paragraphs = [p.strip() for p in (module.__doc__ or "").strip().split("\n\n")[1:] if p.strip()]
    why = next((p for p in paragraphs if p.startswith("Fast because")), paragraphs[0] if paragraphs else "")
    rest = [p for p in paragraphs if p is not why]
    return rst_to_markdown(" ".join(why.split())), rst_to_markdown("\n\n".join(rest))
