"""benchmarks/fold_in_animation.py: titles meet across MovieLens spellings; on ML-100k (when present)
the rule it checks holds: mfcore ALS's list for the five animated films has at least item-kNN's
animated/children's count at no larger popular share."""

from __future__ import annotations

import importlib.util

import pytest

from paths import ROOT, SHARED_DATA

spec = importlib.util.spec_from_file_location("fold_in_animation", ROOT / "benchmarks" / "fold_in_animation.py")
animation = importlib.util.module_from_spec(spec)
spec.loader.exec_module(animation)


def test_titles_meet_across_spellings():
    assert animation.canonical("Lion King, The (1994)") == animation.canonical("The Lion King (1994)")
    assert animation.canonical("Bug's Life, A (1998)") == animation.canonical("A Bug's Life (1998)")
    assert animation.canonical("Toy Story (1995)") != animation.canonical("Toy Story 2 (1999)")


@pytest.mark.skipif(not (SHARED_DATA / "ml-100k").exists(),
                    reason=f"MovieLens 100k is not at {SHARED_DATA / 'ml-100k'}")
def test_als_against_item_knn_on_ml_100k(capsys):
    assert animation.main(["--data", str(SHARED_DATA / "ml-100k"), "--model", "itemknn,als"]) == 0
    assert "-> met" in capsys.readouterr().out
