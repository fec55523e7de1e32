"""Training settings: defaults, limits, and their round trip through the page URL's query parameters."""

from __future__ import annotations

import streamlit as st

from mfcore import ENGINES

from . import data

KEY = "train_settings"
DEFAULTS = {"k": 50, "lr": 0.007, "reg": 0.05, "epochs": 20, "bias": True, "engine": "numba",
            "test": 0.1, "seed": 0}
LIMITS = {"k": (1, 500), "lr": (0.0001, 1.0), "reg": (0.0, 1.0), "epochs": (1, 200),
          "test": (0.0, 0.5), "seed": (0, 2**31 - 1)}
LABELS = {"k": "factors K", "lr": "learning rate", "reg": "regularization", "epochs": "epochs",
          "bias": "biases", "engine": "engine", "test": "test size", "seed": "seed"}


def _parse(name: str, text: str):
    """The value of setting ``name`` written as ``text``; a ValueError holds the rule it breaks."""
    if name == "engine":
        if text not in ENGINES:
            raise ValueError(f"one of {', '.join(ENGINES)}")
        return text
    if name == "bias":
        if text not in ("0", "1"):
            raise ValueError("0 or 1")
        return text == "1"
    low, high = LIMITS[name]
    kind = int if isinstance(DEFAULTS[name], int) else float
    try:
        number = kind(text)
    except ValueError:
        raise ValueError(f"{'an integer' if kind is int else 'a number'} in [{low}, {high}]") from None
    if not low <= number <= high:
        raise ValueError(f"in [{low}, {high}]")
    return number


def from_query(params: dict[str, str]) -> tuple[dict, list[str]]:
    """Settings named in ``params`` (URL values as strings) and a note for each one that was ignored."""
    settings, problems = {}, []
    for name in sorted(DEFAULTS.keys() & params.keys()):
        try:
            settings[name] = _parse(name, params[name])
        except ValueError as exc:
            problems.append(f"{name}={params[name]!r} (must be {exc})")
    return settings, problems


def to_query(settings: dict) -> dict[str, str]:
    """Settings as URL query parameters."""
    return {name: ("1" if value else "0") if name == "bias" else str(value)
            for name, value in settings.items()}


def model_params(settings: dict) -> dict:
    """Keyword arguments for :class:`mfcore.SGDFactorizer`."""
    return {"n_factors": settings["k"], "n_epochs": settings["epochs"], "lr": settings["lr"],
            "reg": settings["reg"], "biased": settings["bias"], "engine": settings["engine"],
            "seed": settings["seed"]}


def current() -> dict:
    """The session's settings: the defaults until the Train form is submitted or a URL sets them."""
    return st.session_state.get(KEY, DEFAULTS)


def save(settings: dict) -> None:
    """Keep ``settings`` for the session and show them in the URL."""
    st.session_state[KEY] = dict(settings)
    wanted = {**to_query(settings), **data.url_params()}  # the dataset and runs stay named in the URL
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)
