"""``python -m mfcore.models.warm`` (``make install``) compiles the ranking models' kernels too, the
ones their epochs run, so a first BPR or ALS run loads them from Numba's cache
(``benchmarks/first_epoch.py`` measures the first epoch against the second in fresh processes)."""

from mfcore.engines import als, bpr
from mfcore.models.warm import warm


def test_warm_trains_bpr_and_als_and_compiles_the_kernels_their_epochs_run():
    names = [name for name, _, _ in warm()]
    assert {"BPRFactorizer", "ALSFactorizer"} <= set(names)
    for kernel in (bpr.run_range_sampled, bpr._fill_bits, bpr.user_steps, bpr.is_positive, als.solve_range):
        assert kernel.signatures, kernel.py_func.__name__
