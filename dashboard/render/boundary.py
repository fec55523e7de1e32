"""The error boundary every page runs inside: a failure anywhere on a page is one ``st.error`` sentence.

Without it an exception that escapes a page script reaches Streamlit, which draws its own exception
element (a redacted notice on a shared server, a traceback locally): not the one sentence the README
promises, and on Explore it came back at every rerun. Each page script is one block::

    with boundary.page("Train"):
        st.set_page_config(...)
        ...

:func:`page` catches ``Exception`` only. Streamlit ends or restarts a script run by raising its
``StopException`` / ``RerunException`` (``st.stop()``, a widget interaction, a Stop click): those
derive from ``BaseException`` in Streamlit 1.67, and are re-raised explicitly in case a later version
makes them ``Exception``s, because swallowing one would keep a stopped run alive (DESIGN.md 6: never
catch BaseException around the loop). The traceback goes to the server log (logger
``dashboard.render.boundary``), the sentence to the page: a ``ValueError``'s own message (bad input, already a
sentence written for the user), else a generic sentence naming the exception's type.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import streamlit as st

from dashboard.render import safe

try:  # Streamlit 1.67's home of the script-control exceptions
    from streamlit.runtime.scriptrunner_utils.exceptions import RerunException, StopException
except ImportError:  # pragma: no cover - older or newer layouts re-export them here
    from streamlit.runtime.scriptrunner import RerunException, StopException

log = logging.getLogger(__name__)

CONTROL = (StopException, RerunException)
"""Streamlit's own ways of ending a script run: never caught here."""


def sentence(page_name: str, exc: Exception) -> str:
    """The one line shown for ``exc``: a ValueError's first line (it is written for the user), else a
    sentence that names only the exception's type (its text may hold paths or data)."""
    if isinstance(exc, ValueError):
        text = str(exc).strip()
        first = text.splitlines()[0] if text else type(exc).__name__
        return f"{page_name} could not finish: {first}"
    return (f"{page_name} failed with an internal error ({type(exc).__name__}); the server log has the "
            "details. Reload the page to start again.")


@contextlib.contextmanager
def page(page_name: str) -> Iterator[None]:
    """Run a page's script inside the boundary: any ``Exception`` it raises is logged with its traceback
    and shown as one ``st.error`` sentence; Streamlit's stop and rerun pass through."""
    try:
        yield
    except CONTROL:
        raise
    except Exception as exc:  # noqa: BLE001 - the boundary: one sentence on the page, the traceback in the log
        log.error("page %s failed", page_name, exc_info=exc)
        safe.error(st, "{}", sentence(page_name, exc))
