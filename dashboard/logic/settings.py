"""Training settings: widgets, tooltips, defaults and the page URL's query parameters, all derived from
the hyperparameter table :data:`mfcore.models.params.PARAMETERS` (and :data:`~mfcore.models.params.SPLIT_PARAMETERS`
for the split). Settings are named as the estimator names them (``n_factors``, ``biased``, ...).

A settings dict maps the names in :data:`FIELDS` to values. The learning rate is always a number
here: its default is the one the default schedule uses when ``lr`` is None.
"""

from __future__ import annotations

import dataclasses
import re

import streamlit as st

from mfcore.models.params import (ALS_PARAMETERS, BPR_PARAMETERS, EASE_PARAMETERS, ITEMKNN_PARAMETERS, PARAMETERS,
                                  SPLIT_PARAMETERS, Param, default_lr)

from dashboard.server import datasets

KEY = "train_settings"
TABLE: dict[str, Param] = {**PARAMETERS, **SPLIT_PARAMETERS}
FIELDS = ("n_factors", "lr", "reg", "n_epochs", "engine", "test_size", "seed", "biased", "init_std")
"""The settings the Train form edits and the URL carries, in form order."""

LABELS = {"n_factors": "Factors K", "n_epochs": "Epochs", "lr": "Learning rate γ",
          "reg": "Regularization λ", "biased": "Learn biases (μ, b_u, b_i)", "engine": "Engine",
          "schedule": "Error schedule", "test_size": "Test size", "seed": "Random seed",
          "init_std": "Initial factor std", "epochs_per_feature": "funk: epochs per feature",
          "batch_size": "Mini-batch size", "n_threads": "Threads"}
SLIDERS = ("n_factors", "n_epochs", "test_size")
FORMATS = {"lr": "%.4f", "reg": "%.3f", "init_std": "%.4f"}


def default(name: str):
    """The form's default for setting ``name``: the table's, with ``lr`` None made concrete."""
    value = TABLE[name].default
    return default_lr(PARAMETERS["schedule"].default) if name == "lr" and value is None else value


DEFAULTS = {name: default(name) for name in FIELDS}

RANKING_TABLES: dict[str, dict[str, Param]] = {"bpr": BPR_PARAMETERS, "als": ALS_PARAMETERS,
                                               "ease": EASE_PARAMETERS, "itemknn": ITEMKNN_PARAMETERS}
"""The ranking models' parameter tables, by model file kind."""
ITEM_KINDS = ("ease", "itemknn")
"""The item-item ranking models: fitted in one closed-form step, no epochs, no factors."""
RANKING_FIXED = {"n_threads": 1}
"""Ranking runs of the dashboard train on one thread: bit-reproducible (BPR's Hogwild threads are
not), so a reload retrains the same model, and fair to the other sessions of the shared server."""
LABELS.update({"negatives": "Negatives per positive", "positive_level": "Positive level",
               "reg_exponent": "Regularization exponent ν", "reg_unobserved": "Unobserved weight w",
               "alpha": "Confidence α", "cg_steps": "CG steps", "confidence": "Confidence weighting",
               "epsilon": "Log confidence ε", "n_neighbors": "Neighbours k", "shrinkage": "Shrinkage h"})


def ranking_fields(kind: str) -> tuple[str, ...]:
    """The settings a ranking run of ``kind`` (``bpr``, ``als``, ``ease``, ``itemknn``) shows in the
    Train form: its table's parameters (less :data:`RANKING_FIXED`) and the test size."""
    return (*[name for name in RANKING_TABLES[kind] if name not in RANKING_FIXED], "test_size")


def ranking_caption(kind: str, name: str, positives: str, eval_users: int) -> str:
    """What Train's form says about a ranking model of ``kind`` named ``name`` (``positives``: which
    ratings are positives, in words): how it learns and how it is scored, with no epochs for the
    item-item models."""
    scored = (f"the held-out positives ranked among all unseen items, on at most {eval_users:,} test users")
    if kind in ITEM_KINDS:
        how = ("the item-item weights solved in closed form, EASE's one inversion of the item Gram matrix"
               if kind == "ease" else "each item's k most similar items by shrunk cosine")
        return (f"{name} learns from positives, {positives} by default: {how}. It has no epochs: one step, "
                f"then its test NDCG@10 and recall@10 ({scored}), so its curve is one point, drawn as a level "
                "line beside the other runs' curves. Its memory grows with the number of items squared.")
    return (f"{name} learns from positives, {positives} by default, and is scored after every epoch by its "
            f"test NDCG@10, {scored}. It trains on one thread: bit-reproducible, and fair to the other users of "
            "this server.")


def ranking_params(kind: str, settings: dict) -> dict:
    """Keyword arguments for a ranking model of ``kind`` among ``settings``, with those of
    :data:`RANKING_FIXED` its table has."""
    table = RANKING_TABLES[kind]
    return {**{name: value for name, value in settings.items() if name in table},
            **{name: value for name, value in RANKING_FIXED.items() if name in table}}


def widget_param(name: str, table: dict[str, Param] | None = None) -> Param:
    """Setting ``name``'s entry in ``table`` (default: the rating model's and the split's) narrowed to
    the widget range (values a widget can show)."""
    param = (TABLE if table is None or name not in table else table)[name]
    low, high = param.widget_range
    if param.kind not in (int, float):
        return dataclasses.replace(param, none_allowed=False)
    return dataclasses.replace(param, low=low, high=high, none_allowed=False,
                               low_inclusive=param.low_inclusive or low != param.low,
                               high_inclusive=param.high_inclusive or high != param.high)


def widget(container, name: str, key: str, value=None, label: str | None = None,
           table: dict[str, Param] | None = None):
    """Render setting ``name``'s widget in ``container`` (``st`` or a column) with the range, step and
    help tooltip of ``table`` (default: the rating model's and the split's); ``value`` defaults to
    the table's default. Returns the widget's value."""
    param = widget_param(name, table)
    if value is None:
        value = param.default if table is not None and name in table else default(name)
    label = label or LABELS[name]
    tip = param.help if table is not None and name in table else help_text(name)  # a ranking kind's own
    if param.kind is bool:
        return container.checkbox(label, value=bool(value), key=key, help=tip)
    if param.choices is not None:
        options = list(param.allowed())
        return container.selectbox(label, options, index=options.index(value), key=key, help=tip)
    low, high, value = param.kind(param.low), param.kind(param.high), param.kind(value)
    if name in SLIDERS:
        return container.slider(label, low, high, value=value, step=param.step, key=key, help=tip)
    return container.number_input(label, low, high, value=value, step=param.step or 1,
                                  format=FORMATS.get(name), key=key, help=tip)


GUI_HELP = {"lr": (f"learning rate γ; the form starts at the default error schedule's rate "
                  f"({default_lr(PARAMETERS['schedule'].default):g})")}
"""Tooltips where the table's help speaks of the command line (``lr`` None is not a form value)."""


def help_text(name: str) -> str:
    """The tooltip of setting ``name``'s widget."""
    return GUI_HELP.get(name, TABLE[name].help)


def differences(values: dict, reference: dict, reference_name: str = "Train") -> str:
    """Where ``values`` differ from ``reference`` (e.g. Train's settings), in the form's names:
    "Factors K 32 (Train: 100), Epochs 10 (Train: 20)"; empty when they agree."""
    return ", ".join(f"{LABELS.get(name, name)} {_shown(value)} ({reference_name}: {_shown(reference[name])})"
                     for name, value in values.items() if name in reference and reference[name] != value)


def described(values: dict) -> str:
    """``values`` in the form's names: "Learning rate γ 0.007, Learn biases (μ, b_u, b_i) on"."""
    return ", ".join(f"{LABELS.get(name, name)} {_shown(value)}" for name, value in values.items())


def _shown(value) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return f"{value:g}" if isinstance(value, float) else str(value)


def form_rule(param: Param) -> str:
    """What a form accepts for ``param`` (narrowed by :func:`widget_param`), in a student's words:
    "a whole number from 1 to 500", "a number from 0.0001 to 1", "on or off", "one of a, b"."""
    if param.kind is bool:
        return "true or false"
    if param.choices is not None:
        return "one of " + ", ".join(param.allowed())
    what = "a whole number" if param.kind is int else "a number"
    low = None if param.low is None else f"{param.low:g}"
    high = None if param.high is None else f"{param.high:g}"
    if low is not None and high is not None and param.low_inclusive and param.high_inclusive:
        return f"{what} from {low} to {high}"
    bounds = [text for text in (None if low is None else f"{'at least' if param.low_inclusive else 'above'} {low}",
                                None if high is None else f"{'at most' if param.high_inclusive else 'below'} {high}")
              if text]
    return f"{what} {' and '.join(bounds)}" if bounds else what


def link_problem(name: str, text: str, rule: str) -> str:
    """A link's ignored value, in the form's words: "Factors K='abc' (must be a whole number from 1 to 500)"."""
    return f"{LABELS.get(name, name)}={text!r} (must be {rule})"


_NAMED = re.compile(r"\b(" + "|".join(sorted(map(re.escape, LABELS), key=len, reverse=True)) + r")(\s*==\s*| range\b)")


def form_words(message, labels: dict[str, str] | None = None) -> str:
    """``message`` (e.g. a model's or the search space's ValueError) with each setting it names by the
    estimator's name written as the form labels it (``labels`` over :data:`LABELS`, for a form that
    names a setting its own way): "lower the learning rate (lr == 0.5)" becomes "... (Learning rate
    γ = 0.5)", "n_factors range [8, 4] ..." becomes "Factors K range [8, 4] ..."."""
    named = {**LABELS, **(labels or {})}
    return _NAMED.sub(lambda match: named[match.group(1)] + (" = " if "=" in match.group(2) else match.group(2)),
                      str(message))


def _parse(name: str, text: str, table: dict[str, Param] | None = None):
    """The value of setting ``name`` (in ``table``, default the rating model's) written as ``text`` in a
    URL; a ValueError holds the form's rule (:func:`form_rule`)."""
    param = widget_param(name, table)
    if param.kind is bool:
        if text.lower() not in ("0", "1", "true", "false"):
            raise ValueError(form_rule(param))
        return text.lower() in ("1", "true")
    try:
        value = param.kind(text)
    except ValueError:
        raise ValueError(form_rule(param)) from None
    if not param.valid(value):
        raise ValueError(form_rule(param))
    return value


def from_query(params: dict[str, str]) -> tuple[dict, list[str]]:
    """Settings named in ``params`` (URL values as strings) and a note for each one that was ignored,
    in the form's words (:func:`link_problem`)."""
    settings, problems = {}, []
    for name in FIELDS:
        if name in params:
            try:
                settings[name] = _parse(name, params[name])
            except ValueError as exc:
                problems.append(link_problem(name, params[name], str(exc)))
    return settings, problems


RANKING_MODEL = "model"
"""The URL parameter that opens Train on a ranking model's form (``model=bpr`` or ``model=als``)."""


def ranking_from_query(params: dict[str, str]) -> tuple[str | None, dict, list[str]]:
    """The ranking kind a URL names in ``model`` (None when it names none), that kind's form settings
    among ``params`` (:func:`ranking_fields`, each checked against its table) and a note for each value
    that was ignored."""
    kind = params.get(RANKING_MODEL)
    if kind is None:
        return None, {}, []
    if kind not in RANKING_TABLES:
        return None, {}, [link_problem("Model", kind, "one of " + ", ".join(RANKING_TABLES))]  # Train's kind choice
    chosen, problems = {}, []
    for name in ranking_fields(kind):
        if name in params:
            try:
                chosen[name] = _parse(name, params[name], RANKING_TABLES[kind])
            except ValueError as exc:
                problems.append(link_problem(name, params[name], str(exc)))
    return kind, chosen, problems


def ranking_query(kind: str, settings: dict) -> dict[str, str]:
    """URL parameters that open Train on ``kind``'s form with ``settings`` (its :func:`ranking_fields`)."""
    fields = ranking_fields(kind)
    return {RANKING_MODEL: kind, **_url_values({name: value for name, value in settings.items()
                                                if name in fields and value is not None},
                                               {**TABLE, **RANKING_TABLES[kind]})}


def to_query(settings: dict) -> dict[str, str]:
    """Settings as URL query parameters."""
    return _url_values({name: value for name, value in settings.items() if name in FIELDS}, TABLE)


def _url_values(settings: dict, table: dict[str, Param]) -> dict[str, str]:
    """``settings`` as URL text: booleans as true/false, anything else as ``str``."""
    return {name: ("true" if value else "false") if table[name].kind is bool else str(value)
            for name, value in settings.items()}


def model_params(settings: dict) -> dict:
    """Keyword arguments for :class:`mfcore.SGDFactorizer` among ``settings``."""
    return {name: value for name, value in settings.items() if name in PARAMETERS}


def current() -> dict:
    """The session's settings: the defaults until the Train form is submitted or a URL sets them."""
    return st.session_state.get(KEY, DEFAULTS)


def save(settings: dict) -> None:
    """Keep ``settings`` for the session and show them in the URL."""
    st.session_state[KEY] = dict(settings)
    wanted = {**to_query(settings), **datasets.url_params()}  # the dataset and runs stay named in the URL
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)
