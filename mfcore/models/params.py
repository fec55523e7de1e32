"""The hyperparameter table: every setting of :class:`~mfcore.models.SGDFactorizer` declared once.

In the style of scikit-learn's ``_parameter_constraints``, each :class:`Param` holds a name, a type,
a valid range, the default, a one-line help text and, for the dashboard, the widget range where it
is narrower than the valid one. Everything else is derived from this table: the estimator's
``__init__`` defaults, its validation messages, ``get_params``/``set_params``/``repr``, the command
line's options, defaults and help, and the dashboard's widget ranges, tooltips and URL parameters.
Changing a default or a range is a one-line change here.

Public API (stable; other modules and branches build on it):

- :data:`PARAMETERS`: ``{name: Param}`` for the estimator, in ``__init__`` order.
- :data:`SPLIT_PARAMETERS`: ``{name: Param}`` for the data-level settings of a train/test split
  (``test_size``, ``validation_size``); the split's random seed is the estimator's ``seed``.
- :func:`defaults` ``(table=PARAMETERS) -> dict`` of the default values.
- :func:`validate` ``(values, table=PARAMETERS)`` raises ``ValueError("name == value, must be rule.")``
  for the first value breaking its rule; :meth:`Param.check` does it for one value.
- :func:`default_lr` ``(schedule, step_rule=None, engine=None) -> float``, the learning rate used when
  ``lr`` is None; :func:`step_rule_of` the step rule used when ``step_rule`` is None.
- :class:`Param` fields: ``name, kind, default, help, low, high, low_inclusive, high_inclusive,
  none_allowed, choices`` (a zero-argument callable returning the allowed strings, so the engine
  registry is imported only when asked), ``widget_low, widget_high, step, cli`` (extra command-line
  spellings); properties ``rule`` (the sentence the error messages use), ``widget_range`` and
  ``allowed()`` (the choices, or None).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from numbers import Integral, Real

__all__ = ["Param", "PARAMETERS", "SPLIT_PARAMETERS", "BPR_PARAMETERS", "ALS_PARAMETERS",
           "CONFIDENCES", "EASE_PARAMETERS", "ITEMKNN_PARAMETERS", "POSITIVE_LEVEL", "DEFAULT_LR", "SCHEDULE_LR",
           "ADAGRAD_LR", "default_lr", "step_rule_of",
           "defaults", "numpydoc_parameters", "validate"]

DEFAULT_LR = 0.007
"""The learning rate when ``lr`` is None, tuned on MovieLens for K=100 and 20 epochs."""
SCHEDULE_LR = {"per-epoch": 0.002}
"""Schedules with their own default learning rate: ``per-epoch``'s stale errors let each user's steps
add up across the epoch, and it diverges at 0.005 on MovieLens."""


ADAGRAD_LR = 0.035
r"""The AdaGrad step size :math:`\eta` when ``lr`` is None under the ``adagrad`` step rule. It, the
``adagrad`` step rule itself (None picks it), ``reg`` 0.03 and ``init_std`` 0.0025 are the point with the
lowest validation RMSE after 20 epochs of ``benchmarks/step_rule.py``'s grid (ML-1M, K=100, the
default engine; 72 points per step rule; the test set unused): ``benchmarks/results/step_rule.json``."""


def step_rule_of(step_rule: str | None, engine: str, schedule: str) -> str:
    """The step rule a training uses: ``step_rule``, or when None ``adagrad`` where the engine's kernel
    for ``schedule`` has it (:func:`mfcore.engines.has_adagrad`), else ``constant``."""
    from ..engines import has_adagrad
    if step_rule is not None:
        return step_rule
    return "adagrad" if has_adagrad(engine, schedule) else "constant"


def default_lr(schedule: str, step_rule: str | None = None, engine: str | None = None) -> float:
    """The learning rate used when ``lr`` is None: :data:`ADAGRAD_LR` under the ``adagrad`` step rule
    (``step_rule`` None: the one :func:`step_rule_of` picks for ``engine``, default the default
    engine), else :data:`SCHEDULE_LR` for the schedules listed there, else :data:`DEFAULT_LR`."""
    engine = PARAMETERS["engine"].default if engine is None else engine
    if step_rule_of(step_rule, engine, schedule) == "adagrad":
        return ADAGRAD_LR
    return SCHEDULE_LR.get(schedule, DEFAULT_LR)


def _step_rules() -> tuple[str, ...]:
    from ..engines import STEP_RULES
    return STEP_RULES


def _engines() -> tuple[str, ...]:
    from ..engines import ENGINE_NAMES
    return ENGINE_NAMES


def _schedules() -> tuple[str, ...]:
    from ..engines import SCHEDULES
    return tuple(SCHEDULES)


def _number(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class Param:
    """One hyperparameter. ``kind`` is ``int``, ``float``, ``bool`` or ``str``. A number must lie in
    [``low``, ``high``] (an end that is None is open; ``*_inclusive`` False excludes it); a string must
    be one of ``choices()``; ``none_allowed`` also accepts None. ``widget_low``/``widget_high`` bound a
    dashboard widget where that is narrower than the valid range; ``step`` is the widget's step;
    ``cli`` lists extra command-line spellings besides ``--name-with-dashes``."""

    name: str
    kind: type
    default: object
    help: str
    low: float | None = None
    high: float | None = None
    low_inclusive: bool = True
    high_inclusive: bool = True
    none_allowed: bool = False
    choices: Callable[[], tuple[str, ...]] | None = None
    widget_low: float | None = None
    widget_high: float | None = None
    step: float | None = None
    cli: tuple[str, ...] = ()

    def allowed(self) -> tuple[str, ...] | None:
        """The allowed strings of a choice parameter, else None."""
        return self.choices() if self.choices is not None else None

    @property
    def widget_range(self) -> tuple:
        """``(low, high)`` for a dashboard widget: the widget bounds, else the valid bounds."""
        return (self.low if self.widget_low is None else self.widget_low,
                self.high if self.widget_high is None else self.widget_high)

    @property
    def rule(self) -> str:
        """What a valid value is, as the error messages say it: "an integer >= 1", "None or > 0"."""
        if self.kind is bool:
            text = "True or False"
        elif self.choices is not None:
            text = "one of " + ", ".join(self.allowed())
        else:
            bounds = []
            if self.low is not None:
                bounds.append(f"{'>=' if self.low_inclusive else '>'} {_number(self.low)}")
            if self.high is not None:
                bounds.append(f"{'<=' if self.high_inclusive else '<'} {_number(self.high)}")
            text = " and ".join(bounds) or "a number"
            if self.kind is int:
                text = f"an integer {text}" if bounds else "an integer"
        return f"None or {text}" if self.none_allowed else text

    def valid(self, value) -> bool:
        """Whether ``value`` obeys :attr:`rule` (bools are not numbers here, numbers not bools)."""
        if value is None:
            return self.none_allowed
        numpy = sys.modules.get("numpy")  # not imported here: ``--help`` should not pay for NumPy
        is_flag = isinstance(value, bool) or (numpy is not None and isinstance(value, numpy.bool_))
        if self.kind is bool:
            return is_flag
        if self.kind is str:
            return isinstance(value, str) and (self.choices is None or value in self.allowed())
        number_type = Integral if self.kind is int else Real
        if is_flag or not isinstance(value, number_type) or math.isnan(value):
            return False
        if self.low is not None and (value < self.low or (value == self.low and not self.low_inclusive)):
            return False
        if self.high is not None and (value > self.high or (value == self.high and not self.high_inclusive)):
            return False
        return self.high is not None or value != math.inf

    def check(self, value) -> None:
        """Raise ``ValueError("name == value, must be rule.")`` unless ``value`` is valid."""
        if not self.valid(value):
            raise ValueError(f"{self.name} == {value!r}, must be {self.rule}.")


PARAMETERS: dict[str, Param] = {p.name: p for p in (
    Param("n_factors", int, 100, "K, the number of latent factors per user and per item",
          low=1, widget_high=500, cli=("--factors",)),
    Param("n_epochs", int, 20, "passes over the training ratings", low=1, widget_high=200,
          cli=("--epochs",)),
    Param("lr", float, None, "learning rate γ; η under adagrad; None picks the default "
          f"({ADAGRAD_LR:g} under adagrad, else {DEFAULT_LR:g}, or "
          + ", ".join(f"{v:g} under {k}" for k, v in SCHEDULE_LR.items()) + ")",
          low=0, low_inclusive=False, none_allowed=True, widget_low=0.0001, widget_high=1.0, step=0.001),
    Param("step_rule", str, None, "step size: constant (γ every update) or adagrad (η / √G per row, G its "
          "squared gradients so far, as LibMF); None: adagrad where the engine and schedule have it "
          "(per-rating on python, numba, numba-parallel), else constant",
          choices=_step_rules, none_allowed=True),
    Param("reg", float, 0.03, "L2 regularization λ of the factors and biases", low=0, widget_high=1.0,
          step=0.01),
    Param("biased", bool, True, "learn the global mean μ and the biases b_u, b_i (off: Funk's p_u·q_i)",
          cli=("--bias",)),
    Param("init_std", float, 0.0025, "standard deviation of the random initial factors", low=0,
          widget_high=1.0, step=0.0005),
    Param("engine", str, "numba-parallel", "which kernel runs an epoch", choices=_engines),
    Param("schedule", str, "per-rating", "when the error is recomputed", choices=_schedules),
    Param("epochs_per_feature", int, 1, "funk schedule: consecutive epochs spent on each feature",
          low=1, widget_high=100),
    Param("batch_size", int, 1024, "ratings per mini-batch (numpy engine)", low=1, widget_high=100_000),
    Param("n_threads", int, None, "threads of parallel engines (None: every available core)",
          low=1, none_allowed=True, widget_high=64, cli=("--threads",)),
    Param("patience", int, None, "early stopping: stop after this many epochs without a validation RMSE "
          "lower than the best one by more than min_delta, and keep the best epoch's parameters "
          "(None: run every epoch; needs fit(..., validation=...))", low=1, none_allowed=True,
          widget_high=50),
    Param("min_delta", float, 0.0, "early stopping: the smallest fall of the validation RMSE that counts "
          "as an improvement", low=0, widget_high=0.1, step=0.0005),
    Param("seed", int, 0,
          "random seed of the initial factors and the visiting order (and of the split in the CLI and dashboard)",
          low=0, widget_high=2**31 - 1),
)}
"""The estimator's hyperparameters, in ``SGDFactorizer.__init__`` order."""

SPLIT_PARAMETERS: dict[str, Param] = {p.name: p for p in (
    Param("test_size", float, 0.1, "fraction of the ratings held out at random as the test set",
          low=0, high=1, high_inclusive=False, widget_high=0.5, step=0.05),
    Param("validation_size", float, 0.1, "fraction of the training ratings held out at random as the "
          "validation set that early stopping (patience) and tuning look at",
          low=0, high=1, low_inclusive=False, high_inclusive=False, widget_low=0.05, widget_high=0.5,
          step=0.05),
)}
"""Data-level settings: how the ratings are split before training. The test set is a random
``test_size`` fraction of the ratings (seeded ``seed``); under early stopping or tuning, the validation
set is a random ``validation_size`` fraction of the remaining training ratings (seeded ``seed + 1``),
never taken from the test set: :func:`mfcore.evaluation.protocol.holdout`."""


# --- the ranking models ----------------------------------------------------------------------------

CONFIDENCES = ("binary", "linear", "log")
"""ALS's confidence weightings of a positive of value r: 1 + α, 1 + α r, 1 + α ln(1 + r / ε)."""

POSITIVE_LEVEL = 0.75
"""Default position of the positive threshold on the rating scale: ``min + 0.75 (max - min)``, i.e.
ratings >= 4 on 1..5 and >= 4 on 0.5..5 (whose threshold 3.875 admits 4, 4.5 and 5)."""

_COMMON = {
    "positive_level": Param(
        "positive_level", float, POSITIVE_LEVEL,
        "which ratings are positives (interactions): those >= min + level (max - min) of the rating "
        "scale (0.75: >= 4 of 1..5); None: every rating is an interaction", low=0, high=1,
        none_allowed=True, step=0.05),
    "n_threads": Param("n_threads", int, None, "threads (None: every available core)", low=1,
                       none_allowed=True, widget_high=64, cli=("--threads",)),
    "seed": Param("seed", int, 0, "random seed of the initial factors and of every sample and order",
                  low=0, widget_high=2**31 - 1),
}

BPR_PARAMETERS: dict[str, Param] = {p.name: p for p in (
    Param("n_factors", int, 64, "K, the number of latent factors per user and per item", low=1,
          widget_high=500, cli=("--factors",)),
    Param("n_epochs", int, 30, "passes over the positives", low=1, widget_high=500, cli=("--epochs",)),
    Param("lr", float, 0.05, "learning rate γ of the pairwise SGD step", low=0, low_inclusive=False,
          widget_low=0.0001, widget_high=1.0, step=0.005),
    Param("reg", float, 0.002, "L2 regularization λ of the factors and item biases", low=0,
          widget_high=1.0, step=0.001),
    Param("negatives", int, 1, "sampled negative items per positive and epoch", low=1, widget_high=20),
    Param("init_std", float, 0.1, "standard deviation of the random initial factors", low=0,
          widget_high=1.0, step=0.01),
    _COMMON["positive_level"], _COMMON["n_threads"], _COMMON["seed"],
)}
""":class:`~mfcore.models.bpr.BPRFactorizer`'s hyperparameters, in ``__init__`` order."""

ALS_PARAMETERS: dict[str, Param] = {p.name: p for p in (
    Param("n_factors", int, 192, "K, the number of latent factors per user and per item", low=1,
          widget_high=500, cli=("--factors",)),
    Param("n_epochs", int, 20, "ALS iterations (each solves all users, then all items)", low=1,
          widget_high=100, cli=("--epochs",)),
    Param("reg", float, 3.9, "L2 regularization λ of the factors (scaled per row by reg_exponent)", low=0,
          widget_high=100.0, step=0.05),
    Param("reg_exponent", float, 0.42, "ν: a user's (item's) regularization is λ times its number of "
          "positives to the power ν (0: constant λ as in Hu et al.; 1: weighted-λ of Zhou et al.)",
          low=0, high=2, step=0.25),
    Param("reg_unobserved", float, 0.13, "w: a user's (item's) regularization counts w times the number "
          "of items (users) besides its positives, λ (|I_u| + w n_items)^ν: the frequency-scaled "
          "regularization of Rendle et al. 2021 (0: λ |I_u|^ν)", low=0, widget_high=1.0, step=0.01),
    Param("alpha", float, 5.3, "confidence scale α of a positive (every other cell has c = 1): "
          "binary c = 1 + α, linear c = 1 + α r, log c = 1 + α ln(1 + r / ε)",
          low=0, widget_high=200.0, step=1.0),
    Param("confidence", str, "binary", "how a positive's value r (a rating, count or weight) sets its "
          "confidence c: binary ignores r; linear and log weigh it (Hu, Koren and Volinsky 2008)",
          choices=lambda: CONFIDENCES),
    Param("epsilon", float, 1.0, "ε of the log confidence 1 + α ln(1 + r / ε): the value at which "
          "confidence starts growing like a logarithm", low=0, low_inclusive=False, widget_low=0.01,
          widget_high=100.0, step=0.1),
    Param("cg_steps", int, 3, "conjugate-gradient steps per user and item solve (warm-started)",
          low=1, widget_high=20),
    Param("init_std", float, 0.01, "standard deviation of the random initial factors", low=0,
          widget_high=1.0, step=0.01),
    _COMMON["positive_level"], _COMMON["n_threads"], _COMMON["seed"],
)}
""":class:`~mfcore.models.als.ALSFactorizer`'s hyperparameters, in ``__init__`` order. The defaults
of K, epochs, ``reg``, ``reg_exponent``, ``reg_unobserved`` and ``alpha`` are the best setting of
``python benchmarks/als_defaults.py --write`` (rounded to two digits): the largest smallest margin of
ALS's validation NDCG@10 over EASE's across the standard protocol and the new-user protocol (80% and 5
positives told) on validation splits of ML-100k and ML-1M drawn with their own seeds (7 and 17), not
the seeds ``benchmarks/ranking.py`` scores; no test set is read. On those splits the size and shape of
the regularization and ``alpha`` move NDCG@10 by 0.01 to 0.3, while K 384 or 512, 40 epochs, 8 or 20
CG steps (close to the exact solve) and ``init_std`` 0.1/sqrt(K) move it by less than 0.002 (ML-100k);
``cg_steps`` 3 is implicit's default too."""


EASE_PARAMETERS: dict[str, Param] = {p.name: p for p in (
    Param("reg", float, 500.0, "L2 regularization λ of the item-item weights (added to the Gram matrix's "
          "diagonal)", low=0, low_inclusive=False, widget_low=1.0, widget_high=5000.0, step=10.0),
    _COMMON["positive_level"],
    Param("seed", int, 0, "random seed of the validation users' sample", low=0, widget_high=2**31 - 1),
)}
""":class:`~mfcore.models.neighbors.EASE`'s hyperparameters, in ``__init__`` order."""

ITEMKNN_PARAMETERS: dict[str, Param] = {p.name: p for p in (
    Param("n_neighbors", int, 100, "k, the most similar items each item keeps", low=1, widget_high=1000,
          cli=("--neighbors",)),
    Param("shrinkage", float, 10.0, "h in the cosine |U_i ∩ U_j| / (sqrt(|U_i| |U_j|) + h): damps "
          "similarities resting on few users", low=0, widget_high=500.0, step=1.0),
    _COMMON["positive_level"],
    EASE_PARAMETERS["seed"],
)}
""":class:`~mfcore.models.neighbors.ItemKNN`'s hyperparameters, in ``__init__`` order."""

def defaults(table: dict[str, Param] = PARAMETERS) -> dict:
    """``{name: default}`` of ``table``."""
    return {name: param.default for name, param in table.items()}


def numpydoc_parameters(table: dict[str, Param] = PARAMETERS, indent: int = 0) -> str:
    """A numpydoc ``Parameters`` section body for ``table``: ``name : type, default=...``, then the
    help and the rule, indented by ``indent`` spaces (the class docstring inserts it)."""
    pad = " " * indent
    entries = []
    for param in table.values():
        kind = param.kind.__name__ + (" or None" if param.none_allowed else "")
        entries.append(f"{param.name} : {kind}, default={param.default!r}\n"
                       f"{pad}    {param.help[0].upper()}{param.help[1:]}; {param.rule}.")
    return f"\n{pad}".join(entries)


def validate(values: dict, table: dict[str, Param] = PARAMETERS) -> None:
    """Check every value of ``values`` named in ``table``; a ValueError names the first bad one."""
    for name, param in table.items():
        if name in values:
            param.check(values[name])
