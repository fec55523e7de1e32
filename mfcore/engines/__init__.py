"""Engines: interchangeable kernels for the one training loop in :mod:`mfcore.models.sgd`.

Every engine follows one contract (:mod:`mfcore.engines.plan`)::

    kernel(users, items, ratings, mu, bu, bi, P, Q, lr, reg, biased, **extra) -> squared-error sum

and says, through its :attr:`Engine.plan` (an :class:`~mfcore.engines.plan.EpochPlan` subclass made
once per fit), in which order the ratings are visited and which keywords ``extra`` each epoch's call
gets: the engine's own options (named in :attr:`Engine.options`, read from the estimator, passed to
the kernels that have a parameter of that name), the state an error schedule carries between epochs
(only ``funk``), and anything else the engine needs
(``numba-parallel``: block bounds and the epoch's block schedule).

Randomness: the model draws the initial factors from its ``np.random.default_rng(seed)`` before the
plan is made, so every engine starts from the same factors; the plan then draws the visiting order
from the same ``rng``. :class:`~mfcore.engines.plan.EpochPlan` (``python``, ``numpy``, ``numba``,
``cython``, and ``numba-parallel``'s non-``per-rating`` schedules) draws a fresh permutation of all
ratings every epoch, the same one for the same seed; ``numba-parallel``'s per-rating
:class:`~mfcore.engines.numba_parallel.BlockPlan` shuffles once per fit and then draws only a random
pairing and order of its blocks each epoch, so its factors differ from the others' (equally good).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field

ENGINE_NAMES = ("python", "numpy", "cython", "numba", "numba-parallel")
"""Every engine's name, known without importing any kernel (the registry, :data:`ENGINES`, is built
on first use, so ``python -m mfcore --help`` never imports Numba)."""
STEP_RULES = ("constant", "adagrad")
r"""How an SGD step's size is set: ``constant`` (the learning rate :math:`\gamma` for every update) or
``adagrad`` (per row, :math:`\eta / \sqrt{G}` with :math:`G` the row's squared gradients summed so
far: :func:`mfcore.engines.numba_jit.adagrad_pass` states the equations)."""
ADAGRAD_KERNELS = {"python": ("per-rating",), "numba": ("per-rating",), "numba-parallel": ("per-rating",)}
"""The (engine, schedule) kernels that run the ``adagrad`` step rule (they take the accumulators
``adagrad_users``, ``adagrad_items`` as keywords), known without importing any kernel."""


def has_adagrad(engine: str, schedule: str) -> bool:
    """Whether ``engine``'s kernel for ``schedule`` runs the ``adagrad`` step rule."""
    return schedule in ADAGRAD_KERNELS.get(engine, ())


@dataclass(frozen=True)
class Engine:
    """A named engine: one kernel per error schedule it supports, the estimator attributes it reads
    as options, a one-paragraph explanation of its speed, and the plan class that orders its epochs
    of each schedule (``plan(schedule)(users, items, ratings, rng, n_users=, n_items=, n_factors=,
    schedule=, epochs_per_feature=, options=)``)."""

    name: str
    kernels: dict[str, Callable]
    summary: str
    options: tuple[str, ...] = ()
    compiled: bool = False
    exact: tuple[str, ...] | None = None
    plans: dict[str, type] = field(default_factory=dict)

    def plan(self, schedule: str) -> type:
        """The plan class that orders ``schedule``'s epochs: :class:`EpochPlan` unless ``plans``
        names another."""
        from .plan import EpochPlan

        return self.plans.get(schedule, EpochPlan)

    def options_for(self, schedule: str) -> tuple[str, ...]:
        """The engine options ``schedule``'s kernel takes (those it has a parameter for)."""
        kernel = self.kernel(schedule)
        parameters = inspect.signature(getattr(kernel, "py_func", kernel)).parameters
        return tuple(name for name in self.options if name in parameters)

    def is_exact(self, schedule: str) -> bool:
        """Whether ``schedule``'s kernel computes the python reference's numbers in the same order
        (up to float rounding); ``exact`` lists those schedules, None meaning all of them."""
        return self.exact is None or schedule in self.exact

    def kernel(self, schedule: str) -> Callable:
        """The kernel for ``schedule``; a ValueError names the schedules this engine has otherwise."""
        try:
            return self.kernels[schedule]
        except KeyError:
            raise ValueError(f"schedule == {schedule!r} is not available in the {self.name} engine; "
                             f"it has {', '.join(self.kernels)}.") from None


def _summary(module) -> str:
    return " ".join(module.__doc__.strip().split("\n\n")[0].split())


def _build_registry() -> None:
    """Fill :data:`ENGINES` (the engines that can run here, in :data:`ENGINE_NAMES` order) and
    :data:`UNAVAILABLE` (the others, each with the reason). Imports the kernels."""
    from . import (
        cython_engine,
        numba_jit,
        numba_parallel,
        numba_schedules,
        numpy_batch,
        python,
    )

    engines = {
        "python": Engine("python", {"per-rating": python.run_epoch,
                                    "per-factor": python.run_epoch_per_factor,
                                    "per-epoch": python.run_epoch_per_epoch,
                                    "funk": python.run_epoch_funk}, _summary(python)),
        "numpy": Engine("numpy", {"per-rating": numpy_batch.run_epoch}, _summary(numpy_batch),
                        options=("batch_size",), exact=()),
        "numba": Engine("numba", {"per-rating": numba_jit.run_epoch,
                                  "per-factor": numba_schedules.run_epoch_per_factor,
                                  "per-epoch": numba_schedules.run_epoch_per_epoch,
                                  "funk": numba_schedules.run_epoch_funk},
                        _summary(numba_jit), compiled=True),
        "numba-parallel": Engine("numba-parallel", {"per-rating": numba_parallel.run_epoch,
                                                    "per-factor": numba_schedules.run_epoch_per_factor,
                                                    "per-epoch": numba_schedules.run_epoch_per_epoch,
                                                    "funk": numba_schedules.run_epoch_funk},
                                 _summary(numba_parallel), options=("n_threads",), compiled=True,
                                 exact=("per-factor", "per-epoch", "funk"),
                                 plans={"per-rating": numba_parallel.BlockPlan}),
    }
    unavailable = {}
    if (reason := cython_engine.unavailable_reason()) is None:
        engines["cython"] = Engine("cython", {"per-rating": cython_engine.run_epoch},
                                   _summary(cython_engine), compiled=True)
    else:
        unavailable["cython"] = reason
    globals()["UNAVAILABLE"] = unavailable
    globals()["ENGINES"] = {name: engines[name] for name in ENGINE_NAMES if name in engines}


def __getattr__(name: str):
    """``ENGINES`` and ``UNAVAILABLE`` are built on first access (PEP 562); ``EpochPlan`` and
    ``funk_feature`` come from :mod:`.plan`, imported then."""
    if name in ("ENGINES", "UNAVAILABLE"):
        _build_registry()
        return globals()[name]
    if name in ("EpochPlan", "funk_feature"):
        from . import plan
        return getattr(plan, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _registry() -> tuple[dict, dict]:
    if "ENGINES" not in globals():
        _build_registry()
    return globals()["ENGINES"], globals()["UNAVAILABLE"]


def get_engine(name: str) -> Engine:
    """The engine called ``name``; a ValueError lists the available ones otherwise."""
    engines, unavailable = _registry()
    try:
        return engines[name]
    except KeyError:
        if name in unavailable:
            raise ValueError(f"engine == {name!r} is unavailable here: {unavailable[name]}") from None
        raise ValueError(f"engine == {name!r}, must be one of {', '.join(engines)}.") from None


def threads_used(engine: str, schedule: str, n_ratings: int, n_threads: int | None = None) -> int:
    """The threads a training with ``engine`` and ``schedule`` on ``n_ratings`` training ratings runs
    on: :func:`mfcore.engines.numba_parallel.effective_threads` for ``numba-parallel``'s block-stratified
    ``per-rating`` kernel, 1 for every other kernel (its other schedules run the serial ``numba`` ones)."""
    if engine == "numba-parallel" and schedule == "per-rating":
        from .numba_parallel import effective_threads

        return effective_threads(n_ratings, n_threads)
    return 1


def row_dots(users, items, P, Q):
    """p_u . q_i for each pair of valid codes (users[n], items[n]), compiled."""
    from . import numba_jit

    return numba_jit.row_dots(users, items, P, Q)


def clipped_error_sums(users, items, values, mu, bu, bi, P, Q, low, high):
    """(sum of squared, sum of absolute) errors of clipped predictions for valid codes, compiled
    (:func:`.numba_jit.clipped_error_sums`)."""
    from . import numba_jit

    return numba_jit.clipped_error_sums(users, items, values, mu, bu, bi, P, Q, low, high)


SCHEDULES: tuple[str, ...] = ("per-rating", "per-factor", "per-epoch", "funk")
"""The error schedules (*how often is the error recomputed?*); each kernel's docstring states its
equations, and ``dashboard/texts.py`` explains them to a student."""
