"""What every model's estimator API shares: scikit-learn's parameter plumbing, the one ``fit`` and its
inputs, the progress bar.

- Parameters come from the class's ``PARAMETERS`` table (:mod:`mfcore.models.params`): ``__init__``
  stores them as given (checked by ``fit``), ``get_params``/``set_params``/``repr`` read the table, so
  ``sklearn.base.clone`` rebuilds an equal unfitted model. ``random_state``, scikit-learn's name, is
  accepted as an alias of ``seed`` (an integer; None keeps the table's default seed).
- The one signature of every model: ``fit(X, test=None, callbacks=None, *, validation=None,
  progress=None)`` and ``fit_iter(X, test=None, validation=None)``. ``X`` is anything
  :func:`mfcore.data.coerce.as_ratings` takes (Ratings, scipy.sparse, a DataFrame, ``(users, items,
  values)`` arrays); ``test`` is the evaluation set, scored after every epoch and never used to
  decide anything; ``validation`` is the set decisions look at (early stopping's ``patience``,
  tuning). Both are coded with ``X``'s id maps (:meth:`Estimator._inputs`).
- ``progress``: a tqdm bar over the epochs; None shows it inside a Jupyter notebook and not in a
  script or a terminal; True without tqdm installed raises one sentence naming the extra.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Iterable, Iterator

from .._optional import MissingExtra, require
from ..data.coerce import as_ratings
from ..data.errors import DataError
from .params import numpydoc_parameters, validate

__all__ = ["Estimator", "finish_class", "in_notebook", "progress_bar"]

def in_notebook() -> bool:
    """Whether this process is a Jupyter kernel (IPython's ``ZMQInteractiveShell``)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    return type(shell).__name__ == "ZMQInteractiveShell"


def progress_bar(results: Iterable, total: int, progress: bool | None, label: str) -> Iterable:
    """``results`` wrapped in a tqdm bar of ``total`` epochs when ``progress`` (None: in a notebook)."""
    wanted = in_notebook() if progress is None else bool(progress)
    if not wanted:
        return results
    try:
        require("tqdm", "progress=True")
    except MissingExtra:
        if progress is None:
            return results
        raise
    import importlib.util
    widgets = in_notebook() and importlib.util.find_spec("ipywidgets") is not None
    tqdm = require("tqdm.notebook" if widgets else "tqdm.std", "progress=True").tqdm  # text bar without widgets
    return tqdm(results, total=total, desc=label, unit="epoch")


class Estimator:
    """Base of every model: parameters from ``PARAMETERS``, the one ``fit`` (module docstring)."""

    PARAMETERS: dict = {}

    def __init__(self, **params):
        params = _aliased(params)
        unknown = params.keys() - self.PARAMETERS.keys()
        if unknown:
            raise TypeError(f"unknown parameter {sorted(unknown)[0]!r}; known: {', '.join(self.PARAMETERS)}.")
        for name, param in self.PARAMETERS.items():
            setattr(self, name, params.get(name, param.default))

    def get_params(self, deep: bool = True) -> dict:
        """The hyperparameters as given to ``__init__`` (every name of the table, in its order)."""
        return {name: getattr(self, name) for name in self.PARAMETERS}

    def set_params(self, **params):
        """Set hyperparameters by name (``random_state`` sets ``seed``); a ValueError lists the known
        names for an unknown one. Returns self."""
        for name, value in _aliased(params).items():
            if name not in self.PARAMETERS:
                raise ValueError(f"unknown parameter {name!r}; known: {', '.join(self.PARAMETERS)}.")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        changed = [f"{name}={value!r}" for name, value in self.get_params().items()
                   if value != self.PARAMETERS[name].default]
        return f"{type(self).__name__}({', '.join(changed)})"

    def validate_params(self) -> None:
        """Raise a ValueError naming the first hyperparameter outside its range in the table."""
        validate(self.get_params(), self.PARAMETERS)

    def fit(self, X, test=None, callbacks: list[Callable] | None = None, *, validation=None,
            progress: bool | None = None):
        """Train on ``X`` (module docstring: what it may be, what ``test`` and ``validation`` are for);
        each callback gets every epoch's result; ``progress`` shows a bar (None: in a notebook).
        Returns self."""
        results = self.fit_iter(X, test, validation)
        for result in progress_bar(results, self.n_epochs, progress, type(self).__name__):
            for callback in callbacks or ():
                callback(result)
        return self

    def fit_iter(self, X, test=None, validation=None) -> Iterator:  # pragma: no cover - each model's own
        raise NotImplementedError

    @staticmethod
    def _inputs(X, test, validation):
        """``(train, test, validation)`` as :class:`~mfcore.data.Ratings`, the last two coded with the
        training set's id maps (None stays None)."""
        train = as_ratings(X)
        if len(train) == 0:
            raise DataError("the training set is empty.")
        return (train, None if test is None else as_ratings(test, train, what="the test set"),
                None if validation is None else as_ratings(validation, train, what="the validation set"))


def _aliased(params: dict) -> dict:
    """``params`` with scikit-learn's ``random_state`` renamed ``seed`` (None: dropped, the default)."""
    if "random_state" not in params:
        return params
    params = dict(params)
    if "seed" in params:
        raise TypeError("give seed or random_state (its scikit-learn name), not both.")
    value = params.pop("random_state")
    if value is not None:
        params["seed"] = value
    return params


def finish_class(cls) -> None:
    """Give ``cls`` an ``__init__`` signature (keyword-only, the defaults of its ``PARAMETERS``) and a
    numpydoc ``Parameters`` section from that table in place of ``{parameters}`` in its docstring."""
    def __init__(self, **params):
        Estimator.__init__(self, **params)
    __init__.__signature__ = inspect.Signature(
        [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        + [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=param.default)
           for name, param in cls.PARAMETERS.items()])
    __init__.__doc__ = f"Store the hyperparameters (validated by ``fit``); see :class:`{cls.__name__}`."
    cls.__init__ = __init__
    cls.__doc__ = cls.__doc__.replace("{parameters}", numpydoc_parameters(cls.PARAMETERS, indent=4))
