"""Pick ALSFactorizer's defaults on validation splits of ML-100k and ML-1M (never a test set).

    python benchmarks/als_defaults.py [--trials 16] [--threads 2] [--data-dir ../shared/data] [--write]

Splits: seed :data:`SEED` (7), apart from ``benchmarks/ranking.py``'s seeds (0, 1, 2 for its test
splits, 100 for its validation splits), so the defaults are not fitted to the splits the benchmark
scores. On each data set, three tasks, each a validation split carved out of a training part (the
part's own held-out test data is never read):

- standard: 20% of each user's positives of the training part (seed ``SEED + 100``), the training
  part being what :func:`mfcore.evaluation.topn.holdout_positives` leaves at seed ``SEED``;
- new-user: 15% of the training part's users held out (seed ``SEED + 100``), folded in from 80% of
  their positives, the training part being the users :func:`mfcore.evaluation.newuser.new_user_split`
  keeps at seed ``SEED``;
- new-user, 5 known: the same, folded in from 5 positives.

Each task's reference is EASE's validation NDCG@10 at its best ``reg`` of :data:`EASE_REGS` as
``benchmarks/ranking.py`` tunes it (on the new-user protocol: one ``reg`` for both amounts told, the
best mean). An Optuna TPE search
(sampler seed 0; :data:`STARTS` enqueued first) over K, epochs, ``reg``, ``reg_exponent``,
``reg_unobserved`` and ``alpha`` maximises the smallest margin of ALS's validation NDCG@10 over EASE's
across the six tasks (printed in the order standard, new-user, new-user 5 known on ML-100k, then
ML-1M): a setting is as good as its worst task, on both catalogue sizes, so the pick favours
settings that carry over to a data set neither search saw. ``--write`` rounds the best setting (two
significant digits) and writes it into ``mfcore/models/params.py`` as the defaults.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"
SEED = 7
"""The defaults' split seed (validation splits at ``SEED + 100``)."""
EASE_REGS = {"ml-100k": (100.0, 200.0, 300.0, 500.0, 800.0), "ml-1m": (300.0, 500.0, 1000.0, 2000.0, 4000.0)}
STARTS = [dict(n_factors=192, n_epochs=20, reg=1.0, reg_exponent=0.8, reg_unobserved=0.03, alpha=10.0),
          dict(n_factors=192, n_epochs=20, reg=1.0, reg_exponent=0.8, reg_unobserved=0.06, alpha=10.0),
          dict(n_factors=192, n_epochs=20, reg=0.3, reg_exponent=1.0, reg_unobserved=0.1, alpha=10.0)]
"""Enqueued first: the previous defaults and two variations that did well by hand on ML-100k's
validation splits of this seed."""


def tasks(data: Path = DATA) -> list:
    """``(names, training ratings, validations)`` of the six tasks (module docstring), the two
    new-user tasks of a data set sharing one training set."""
    from mfcore import load_ratings
    from mfcore.evaluation.newuser import new_user_split, new_user_splits
    from mfcore.evaluation.topn import holdout_positives
    found = []
    for name in ("ml-100k", "ml-1m"):
        ratings = load_ratings(data / name)
        train, _ = holdout_positives(ratings, 0.2, 4.0, seed=SEED)
        fit, validation = holdout_positives(train, 0.2, 4.0, seed=SEED + 100)
        found.append(([f"{name} standard"], fit, [validation]))
        outer = new_user_split(ratings, 0.15, 0.8, 4.0, seed=SEED).train
        held = new_user_splits(outer, 0.15, (0.8, 5), 4.0, seed=SEED + 100)
        found.append(([f"{name} new-user", f"{name} new-user 5 known"], held[0].train, held))
    return found


def ndcg(model, task) -> list[float]:
    """Validation NDCG@10 of ``model`` fitted on the task's training ratings, one per validation."""
    from mfcore.evaluation.newuser import NewUserSplit, evaluate_new_users, standard_lists
    _, train, validations = task
    model.fit(train)
    return [evaluate_new_users(model, v)["ndcg"] if isinstance(v, NewUserSplit)
            else standard_lists(model.score_codes, train, v)["ndcg"] for v in validations]


def write_defaults(best: dict) -> None:
    """Write ``best`` (rounded) into ALS_PARAMETERS of ``mfcore/models/params.py``."""
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
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--data-dir", default=str(DATA), help="the folder holding ml-100k/ and ml-1m/")
    args = parser.parse_args(argv)
    import optuna

    from mfcore import EASE, ALSFactorizer
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    found = tasks(Path(args.data_dir))
    names, reference = [], []
    for task in found:
        regs = EASE_REGS[task[0][0].split()[0]]
        scores = [ndcg(EASE(reg=reg), task) for reg in regs]
        best = max(range(len(regs)), key=lambda r: sum(scores[r]))
        for column, name in enumerate(task[0]):
            names.append(name)
            reference.append(scores[best][column])
            print(f"EASE on {name}: " + ", ".join(f"reg {r:g} {row[column]:.4f}" for r, row in zip(regs, scores))
                  + f"; reference: reg {regs[best]:g}", flush=True)

    def objective(trial):
        params = dict(n_factors=trial.suggest_categorical("n_factors", [128, 192, 256]),
                      n_epochs=trial.suggest_int("n_epochs", 10, 30),
                      reg=trial.suggest_float("reg", 0.1, 10, log=True),
                      reg_exponent=trial.suggest_float("reg_exponent", 0.5, 1),
                      reg_unobserved=trial.suggest_float("reg_unobserved", 0.01, 0.3, log=True),
                      alpha=trial.suggest_float("alpha", 2, 30, log=True))
        got = [g for task in found for g in ndcg(ALSFactorizer(**params, n_threads=args.threads), task)]
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
