"""Downloads that are built on request: small files in the button itself (Streamlit calls the builder
when it is clicked), big ones behind a "Prepare" button that builds them under a spinner first."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

BIG_BYTES = 5_000_000
"""Files estimated above this many bytes are prepared on request, with a spinner."""
CSV_BYTES_PER_VALUE = 16
"""Bytes a float32 takes in a CSV written by pandas (digits, sign, exponent, comma), roughly."""


def factors_csv_bytes(model) -> int:
    """About how many bytes :func:`mfcore.models.export.factors_csv` writes for ``model``."""
    rows = len(model.user_ids_) + len(model.item_ids_) + 1
    return rows * (model.P_.shape[1] + 3) * CSV_BYTES_PER_VALUE


def button(container, label: str, build: Callable[[], bytes], size: int, file_name: str, mime: str,
           key: str) -> None:
    """A download button for the file ``build()`` makes (about ``size`` bytes). Up to
    :data:`BIG_BYTES` the file is built when the button is clicked; above, a first button builds it
    under a spinner (the file is held until it is downloaded)."""
    if size <= BIG_BYTES:
        container.download_button(label, build, file_name=file_name, mime=mime, on_click="ignore", key=key)
        return
    held = f"{key}-data"
    ready = st.session_state.get(held)
    if ready is None and container.button(f"Prepare {label} (about {size / 1e6:,.0f} MB)", key=f"{key}-prepare",
                                          help="A big file: it is built on request, which takes a while."):
        with container, st.spinner(f"Building {label} (about {size / 1e6:,.0f} MB)..."):
            ready = st.session_state[held] = build()
    if ready is not None:
        container.download_button(f"{label}: {len(ready) / 1e6:,.1f} MB ready", ready, file_name=file_name,
                                  mime=mime, key=key, on_click=lambda: st.session_state.pop(held, None))
