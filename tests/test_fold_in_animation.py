"""benchmarks/fold_in_animation.py finds the five films whatever the title's article spelling, and
prints every model's list and the verdict on any MovieLens-style folder."""

from __future__ import annotations

import importlib.util

import numpy as np

from paths import ROOT

spec = importlib.util.spec_from_file_location("fold_in_animation", ROOT / "benchmarks" / "fold_in_animation.py")
animation = importlib.util.module_from_spec(spec)
spec.loader.exec_module(animation)


def test_titles_meet_whatever_the_article():
    assert animation.canonical("Lion King, The (1994)") == animation.canonical("The Lion King (1994)")
    assert animation.canonical("Bug's Life, A (1998)") == animation.canonical("A Bug's Life (1998)")
    assert animation.canonical("Toy Story (1995)") != animation.canonical("Toy Story 2 (1999)")


def test_a_movielens_folder_gets_every_models_list_and_the_verdict(tmp_path, capsys):
    family = ["Toy Story (1995)", "Aladdin (1992)", "The Lion King (1994)", "Beauty and the Beast (1991)",
              "Bug's Life, A (1998)", "Mulan (1998)", "Tarzan (1999)", "Hercules (1997)"]
    others = [f"Drama {i} (1990)" for i in range(30)]
    titles = family + others
    lines = [f"{i + 1}::{t}::{'Animation|Children' if t in family else 'Drama'}" for i, t in enumerate(titles)]
    (tmp_path / "movies.dat").write_text("\n".join(lines) + "\n", encoding="latin-1")
    rng = np.random.default_rng(0)
    rows = []
    for user in range(1, 121):
        liked = family if user % 3 == 0 else others
        for item in rng.choice(len(liked), 6, replace=False):
            rows.append(f"{user}::{titles.index(liked[item]) + 1}::5::0")
    (tmp_path / "ratings.dat").write_text("\n".join(rows) + "\n")
    status = animation.main(["--data", str(tmp_path)])
    out = capsys.readouterr().out
    for label in ("item-kNN", "EASE", "mfcore ALS", "mfcore BPR"):
        assert f"\n{label} (defaults" in out
    assert "new user: 5 films at 5 stars" in out
    verdict = out.strip().splitlines()[-1]
    assert verdict.startswith(f"{tmp_path.name}: mfcore ALS") and verdict.endswith("met")
    assert status == (1 if verdict.endswith("NOT met") else 0)
