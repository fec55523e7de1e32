"""The cython engine: built into a cache folder on first use, unavailable (with the reason) without a
compiler, and the Speed page's verdict follows the numbers."""

import pytest

from dashboard.logic.speed_verdicts import cython_verdict
from mfcore.engines import ENGINES, cython_engine


def test_unavailable_without_a_compiler_says_why(monkeypatch, tmp_path):
    monkeypatch.setenv("MFCORE_CACHE_DIR", str(tmp_path))  # nothing compiled there
    monkeypatch.setattr(cython_engine, "_module", None)
    monkeypatch.setattr(cython_engine, "_compiler", lambda: None)
    reason = cython_engine.unavailable_reason()
    assert reason and "C compiler" in reason
    with pytest.raises(RuntimeError, match="unavailable"):
        cython_engine.build()


def test_the_build_goes_to_the_cache_folder_not_the_source_tree():
    if "cython" not in ENGINES:
        pytest.skip(f"cython engine unavailable: {cython_engine.unavailable_reason()}")
    path = cython_engine.build()
    assert path.exists() and path.parent == cython_engine.cache_dir()
    assert not list(cython_engine.SOURCE.parent.glob("cython_kernel*.c"))
    assert not list(cython_engine.SOURCE.parent.glob("*.so"))


@pytest.mark.parametrize("cython, numba, word, figure", [(2.0, 1.0, "No.", "2.00x"), (1.0, 2.0, "Yes", "0.50x"),
                                                         (1.0, 1.02, "No gain", "within 5%")])
def test_verdict_follows_the_numbers(cython, numba, word, figure):
    verdict = cython_verdict({"cython": cython, "numba": numba}, {"cython": 0.0})
    assert word in verdict and figure in verdict


def test_no_verdict_without_both_engines():
    assert cython_verdict({"numba": 1.0}, {}) is None
