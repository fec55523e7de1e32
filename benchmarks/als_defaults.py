"""Pick ALSFactorizer's defaults on validation splits of ML-100k and ML-1M (never a test set).

    python benchmarks/als_defaults.py [--trials 22] [--write]

Tasks: on each data set, the standard protocol's validation split (20% of each user's positives of
seed 0's training part, seed 100) and the new-user protocol's (15% of seed 0's training users held
out, 80% of their positives folded in, seed 100): exactly the validation splits
``benchmarks/ranking.py`` tunes on. EASE's best validation NDCG@10 over a few ``reg`` is the
reference of each task. An Optuna TPE search (seed 0; the first trials enqueued by hand) over K,
epochs, ``reg``, ``reg_exponent``, ``reg_unobserved`` and ``alpha`` maximises the smallest margin of
ALS's validation NDCG@10 over EASE's across the four tasks. ``--write`` rounds the best setting and
writes it into ``mfcore/models/params.py`` as the defaults.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"
STARTS = [dict(n_factors=128, n_epochs=15, reg=5.0, reg_exponent=0.5, reg_unobserved=0.0, alpha=10.0),
          dict(n_factors=192, n_epochs=20, reg=5.0, reg_exponent=0.5, reg_unobserved=0.0, alpha=10.0),
          dict(n_factors=128, n_epochs=15, reg=2.0, reg_exponent=0.6, reg_unobserved=0.02, alpha=10.0),
          dict(n_factors=192, n_epochs=20, reg=1.0, reg_exponent=0.8, reg_unobserved=0.03, alpha=10.0)]
"""Enqueued first: settings that did well in hand trials on these validation splits."""


def tasks():
    from mfcore import load_ratings
    from mfcore.evaluation.newuser import new_user_split
    from mfcore.evaluation.topn import holdout_positives
    found = []
    for name, path in (("ml-100k", DATA / "ml-100k" / "u.data"), ("ml-1m", DATA / "ml-1m" / "ratings.dat")):
        ratings = load_ratings(path)
        train, _ = holdout_positives(ratings, 0.2, 4.0, seed=0)
        fit, validation = holdout_positives(train, 0.2, 4.0, seed=100)
        found.append((f"{name} standard", fit, validation))
        held = new_user_split(new_user_split(ratings, 0.15, 0.8, 4.0, seed=0).train, 0.15, 0.8, 4.0, seed=100)
        found.append((f"{name} new-user", held.train, held))
    return found


def ndcg(model, task) -> float:
    from mfcore.evaluation.newuser import NewUserSplit, evaluate_new_users, standard_lists
    _, train, validation = task
    model.fit(train)
    if isinstance(validation, NewUserSplit):
        return evaluate_new_users(model, validation)["ndcg"]
    return standard_lists(model.score_codes, train, validation)["ndcg"]


def write_defaults(best: dict) -> None:
    path = ROOT / "mfcore" / "models" / "params.py"
    text = path.read_text()
    block = text[text.index("ALS_PARAMETERS: dict"):text.index(":class:`~mfcore.models.als.ALSFactorizer`'s")]
    new = block
    for name, value in best.items():
        shown = repr(int(value)) if name in ("n_factors", "n_epochs") else repr(float(f"{value:.2g}"))
        new = re.sub(rf'(Param\("{name}", (?:int|float), )[^,]+,', rf"\g<1>{shown},", new, count=1)
    path.write_text(text.replace(block, new))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=22)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args(argv)
    import optuna

    from mfcore import EASE, ALSFactorizer
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    found = tasks()
    reference = []
    for task in found:
        regs = (200.0, 300.0, 500.0) if task[0].startswith("ml-100k") else (500.0, 1000.0, 2000.0)
        reference.append(max(ndcg(EASE(reg=reg), task) for reg in regs))
        print(f"EASE's best on {task[0]}: {reference[-1]:.4f}", flush=True)

    def objective(trial):
        params = dict(n_factors=trial.suggest_categorical("n_factors", [128, 192, 256]),
                      n_epochs=trial.suggest_int("n_epochs", 10, 25),
                      reg=trial.suggest_float("reg", 0.3, 20, log=True),
                      reg_exponent=trial.suggest_float("reg_exponent", 0.3, 1),
                      reg_unobserved=trial.suggest_float("reg_unobserved", 0, 0.1),
                      alpha=trial.suggest_float("alpha", 5, 30, log=True))
        got = [ndcg(ALSFactorizer(**params), task) for task in found]
        margin = min(g - r for g, r in zip(got, reference))
        print(params, " ".join(f"{g:.4f}" for g in got), f"smallest margin {margin:+.4f}", flush=True)
        return margin

    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=0, n_startup_trials=6))
    for start in STARTS:
        study.enqueue_trial(start)
    study.optimize(objective, n_trials=args.trials)
    print(f"best: {study.best_params}, smallest margin over EASE {study.best_value:+.4f}")
    if args.write:
        write_defaults(study.best_params)
        print("wrote the defaults into mfcore/models/params.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
