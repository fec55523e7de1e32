"""Pick ALSFactorizer's defaults on validation splits of ML-100k and ML-1M (never a test set).

    python benchmarks/als_defaults.py [--trials 24] [--threads 2] [--data-dir ../shared/data] [--write]

Splits: seeds :data:`SEEDS` (7 and 17), apart from ``benchmarks/ranking.py``'s seeds (0, 1, 2 for its
test splits, 100 for its validation splits), so the defaults are not fitted to the splits the
benchmark scores. For each seed ``s`` and data set, three tasks, each a validation split carved out of
a training part (the part's own held-out test data is never read):

- standard: 20% of each user's positives of the training part (seed ``s + 100``), the training
  part being what :func:`mfcore.evaluation.topn.holdout_positives` leaves at seed ``s``;
- new-user: 15% of the training part's users held out (seed ``s + 100``), folded in from 80% of
  their positives, the training part being the users :func:`mfcore.evaluation.newuser.new_user_split`
  keeps at seed ``s``;
- new-user, 5 known: the same, folded in from 5 positives.

Each task's reference is EASE's validation NDCG@10 at its best ``reg`` of :data:`EASE_REGS` as
``benchmarks/ranking.py`` tunes it (on the new-user protocol: one ``reg`` for both amounts told, the
best mean). An Optuna TPE search (sampler seed 0; :data:`STARTS` enqueued first) over K, epochs,
``reg`` (drawn through ``penalty``, :data:`TYPICAL`), ``reg_exponent``, ``reg_unobserved`` and
``alpha`` maximises the smallest margin of ALS's validation NDCG@10 over EASE's across the twelve
tasks (printed in the order standard, new-user, new-user 5 known on ML-100k, then ML-1M, seed 7 then
17): a setting is as good as its worst task, on both catalogue sizes and two draws of the splits, so
the pick favours settings that carry over to a data set neither search saw; then the smallest K
within :data:`TIE` of it (:data:`FACTORS`). The ranges hold every setting within 0.01 of the best of
a first, wider search (36 trials, seed 7 alone: K 64..384, epochs 10..30, ``reg_exponent`` 0..1,
``reg_unobserved`` 0.01..0.5, ``penalty`` 15..250, ``alpha`` 2..30).
``--write`` rounds the best setting (two significant digits) and writes it into
``mfcore/models/params.py`` as the defaults.
"""

from __future__ import annotations

import os
import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = Path(os.environ.get("MF_SHARED_DATA") or ROOT.parent / "shared" / "data")
SEEDS = (7, 17)
"""The defaults' split seeds (validation splits at ``seed + 100``)."""
EASE_REGS = {"ml-100k": (100.0, 200.0, 300.0, 500.0, 800.0), "ml-1m": (300.0, 500.0, 1000.0, 2000.0, 4000.0)}
STARTS = [dict(n_factors=192, n_epochs=18, reg=2.2, reg_exponent=0.64, reg_unobserved=0.077, alpha=10.0),
          dict(n_factors=384, n_epochs=29, reg=4.2, reg_exponent=0.44, reg_unobserved=0.21, alpha=9.7)]
"""Enqueued first: the previous defaults and the best of the first, wider search (module docstring)."""
FACTORS = (192, 256, 384)
"""The search's K; the best setting is then tried with each smaller K, and the first whose smallest
margin is within :data:`TIE` of the best's is kept: a row's solve costs :math:`O(K^2)` per CG step,
and K beyond what the data supports adds time, not accuracy."""
TIE = 0.001
TYPICAL, ITEMS = 50, 1682
"""The search draws ``reg`` through ``penalty`` = :math:`\\lambda (50 + w \\cdot 1682)^\\nu`, the
regularization of a user with 50 positives on ML-100k (1682 items), so that ``reg_exponent`` and
``reg_unobserved`` move the shape of the regularization over counts, not its overall size."""


def typical_scale(reg_unobserved: float, reg_exponent: float) -> float:
    r""":math:`(50 + w \cdot 1682)^\nu`: ``penalty`` = ``reg`` times this (see :data:`TYPICAL`)."""
    return (TYPICAL + reg_unobserved * ITEMS) ** reg_exponent


def searched(params: dict) -> dict:
    """The search's parameters (``penalty`` in place of ``reg``) of ALS parameters ``params``."""
    found = {k: v for k, v in params.items() if k != "reg"}
    found["penalty"] = params["reg"] * typical_scale(params["reg_unobserved"], params["reg_exponent"])
    return found


def tasks(data: Path = DATA, seeds=SEEDS) -> list:
    """``(names, training ratings, validations)`` of the tasks of ``seeds`` (module docstring), the
    two new-user tasks of a data set and seed sharing one training set."""
    from mfcore import load_ratings
    from mfcore.evaluation.newuser import new_user_split, new_user_splits
    from mfcore.evaluation.topn import holdout_positives
    found = []
    loaded = {name: load_ratings(data / name) for name in ("ml-100k", "ml-1m")}
    for seed in seeds:
        for name, ratings in loaded.items():
            train, _ = holdout_positives(ratings, 0.2, 4.0, seed=seed)
            fit, validation = holdout_positives(train, 0.2, 4.0, seed=seed + 100)
            found.append(([f"{name} standard, seed {seed}"], fit, [validation]))
            outer = new_user_split(ratings, 0.15, 0.8, 4.0, seed=seed).train
            held = new_user_splits(outer, 0.15, (0.8, 5), 4.0, seed=seed + 100)
            found.append(([f"{name} new-user, seed {seed}", f"{name} new-user 5 known, seed {seed}"],
                          held[0].train, held))
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
    parser.add_argument("--trials", type=int, default=24)
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

    def margin(params: dict) -> float:
        got = [g for task in found for g in ndcg(ALSFactorizer(**params, n_threads=args.threads), task)]
        smallest = min(g - r for g, r in zip(got, reference))
        print(params, " ".join(f"{g:.4f}" for g in got), f"smallest margin {smallest:+.4f}", flush=True)
        return smallest

    def objective(trial):
        nu = trial.suggest_float("reg_exponent", 0.2, 0.7)
        w = trial.suggest_float("reg_unobserved", 0.05, 0.4, log=True)
        params = dict(n_factors=trial.suggest_categorical("n_factors", list(FACTORS)),
                      n_epochs=trial.suggest_int("n_epochs", 18, 30),
                      reg=trial.suggest_float("penalty", 30, 120, log=True) / typical_scale(w, nu),
                      reg_exponent=nu, reg_unobserved=w,
                      alpha=trial.suggest_float("alpha", 5, 20, log=True))
        trial.set_user_attr("params", params)
        return margin(params)

    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=0, n_startup_trials=8))
    for start in STARTS:
        study.enqueue_trial(searched(start))
    study.optimize(objective, n_trials=args.trials)
    best = study.best_trial.user_attrs["params"]
    print(f"best: {best}, smallest margin over EASE {study.best_value:+.4f}")
    for k in FACTORS[:FACTORS.index(best["n_factors"])]:
        if margin(dict(best, n_factors=k)) >= study.best_value - TIE:
            best = dict(best, n_factors=k)
            print(f"K {k} is within {TIE} of the best: chosen")
            break
    if args.write:
        write_defaults(best)
        print("wrote the defaults into mfcore/models/params.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
