"""``python -m mfcore.models.warm``: compile every kernel once (``make install`` runs it).

Numba writes each compiled kernel to its on-disk cache (``cache=True``) and the Cython kernel is
built into the user cache folder, so the first training in the app or the CLI loads machine code
instead of compiling it. Each (engine, schedule) pair trains a tiny model for one epoch, in float32
as the estimator does. The per-rating kernels are also compiled with K as a constant for each K of
``mfcore.engines.numba_jit.CONSTANT_K_FACTORS``, so a training at one of those K loads them too. The
loader's kernels for big files (:mod:`mfcore.data.kernels`) are compiled last.
"""

from __future__ import annotations

import time

import numpy as np


def warm() -> list[tuple[str, str, float]]:
    """Train one epoch of a 2 x 2 problem with every (engine, schedule) pair, then compile the loader's
    kernels; returns the seconds each took (compilation or cache loading included)."""
    from ..data import from_arrays
    from ..data.kernels import compile_all as compile_loader_kernels
    from ..engines import ENGINES
    from ..engines.numba_jit import CONSTANT_K_FACTORS
    from .sgd import SGDFactorizer

    data = from_arrays(np.array([0, 1, 1]), np.array([0, 0, 1]), np.array([1.0, 2.0, 3.0]))
    timings = []
    for name, engine in ENGINES.items():
        if not engine.compiled:
            continue
        for schedule in engine.kernels:
            start = time.perf_counter()
            try:
                factors = (4, *CONSTANT_K_FACTORS) if schedule == "per-rating" else (4,)
                for k in factors:
                    SGDFactorizer(engine=name, schedule=schedule, n_factors=k, n_epochs=1).fit(data)
            except RuntimeError as exc:  # a failed Cython build must not fail the install
                print(f"could not compile {name}: {str(exc).splitlines()[0]}")
                break
            timings.append((name, schedule, time.perf_counter() - start))
    start = time.perf_counter()
    compile_loader_kernels()
    timings.append(("loader", "kernels", time.perf_counter() - start))
    return timings


if __name__ == "__main__":
    from ..engines import UNAVAILABLE

    for name, schedule, seconds in warm():
        print(f"compiled {name} / {schedule} in {seconds:.1f} s")
    for name, reason in UNAVAILABLE.items():
        print(f"skipped {name}: {reason}")
