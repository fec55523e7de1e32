"""Which step rule, step size and regularization the rating model defaults to, chosen on a validation
split of ML-1M (the test set is never looked at).

    python benchmarks/step_rule.py [--data PATH] [--epochs 20] [--factors 100]

The ratings are split as every benchmark splits them (10% test, seed 0); the test part is dropped and
the training part split again into 90% fit and 10% validation (seed 1). Every point of :data:`GRID`
(each step rule with its own step sizes; the same regularizations and the same number of points for
each rule) trains ``--epochs`` epochs on the fit part with the default engine on one thread (the
factors do not depend on the thread count) and is scored on the validation part after every epoch.
The table lists each rule's best point by its validation RMSE after the last epoch, and the whole
grid; ``benchmarks/results/step_rule.json`` keeps every curve. The defaults of
``mfcore/models/params.py`` (``step_rule``, ``ADAGRAD_LR``, ``reg``, ``init_std``) are the best point's.
"""

from __future__ import annotations

import os
import argparse
import itertools
import sys
from pathlib import Path

import results

ROOT = Path(__file__).resolve().parents[1]
ML_1M = Path(os.environ.get("MF_SHARED_DATA") or ROOT.parent / "shared" / "data") / "ml-1m" / "ratings.dat"
GRID = {"constant": {"lr": (0.0075, 0.01, 0.0125, 0.015, 0.02, 0.025), "reg": (0.03, 0.04, 0.05, 0.06),
                     "init_std": (0.0025, 0.01, 0.05)},
        "adagrad": {"lr": (0.025, 0.03, 0.035, 0.04, 0.05, 0.06), "reg": (0.03, 0.04, 0.05, 0.06),
                    "init_std": (0.0025, 0.01, 0.05)}}
"""Per step rule, the step sizes (``lr``: :math:`\\gamma` or AdaGrad's :math:`\\eta`), regularizations
and initial spreads tried: 72 points each."""


def validation_split(path: Path):
    """(fit, validation): the training part of the benchmarks' split (10% test, seed 0) split again
    (10% validation, seed 1)."""
    sys.path.insert(0, str(ROOT))
    from mfcore import load_ratings, random_split
    train, _ = random_split(load_ratings(path), 0.1, seed=0)
    return random_split(train, 0.1, seed=1)


def curves(fit, validation, epochs: int, factors: int) -> list[dict]:
    """Every grid point's validation RMSE after each epoch."""
    from mfcore import SGDFactorizer
    found = []
    for rule, grid in GRID.items():
        for lr, reg, init_std in itertools.product(grid["lr"], grid["reg"], grid["init_std"]):
            model = SGDFactorizer(step_rule=rule, lr=lr, reg=reg, init_std=init_std, n_epochs=epochs,
                                  n_factors=factors, n_threads=1)
            curve = [result.validation_rmse for result in model.fit_iter(fit, validation=validation)]
            found.append({"step_rule": rule, "lr": lr, "reg": reg, "init_std": init_std, "validation_rmse": curve})
            print(f"{rule} lr={lr:g} reg={reg:g} init_std={init_std:g}: "
                  + " ".join(f"{v:.4f}" for v in curve[::4]), flush=True)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ML_1M)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--factors", type=int, default=100)
    args = parser.parse_args(argv)
    if not args.data.exists():
        print(f"error: {args.data} not found", file=sys.stderr)
        return 2
    fit, validation = validation_split(args.data)
    found = curves(fit, validation, args.epochs, args.factors)
    best = {rule: min((point for point in found if point["step_rule"] == rule),
                      key=lambda point: point["validation_rmse"][-1]) for rule in GRID}
    marks = (1, 2, 4, 8, args.epochs)

    def row(point):
        return [point["step_rule"], f"{point['lr']:g}", f"{point['reg']:g}", f"{point['init_std']:g}",
                *(f"{point['validation_rmse'][epoch - 1]:.4f}" for epoch in marks)]

    columns = ["step rule", "lr", "reg", "init_std", *(f"validation RMSE after {epoch}" for epoch in marks)]
    tables = [results.table(f"Best point of each step rule (ML-1M, K={args.factors}, {args.epochs} epochs, "
                            "by validation RMSE after the last epoch)", columns,
                            [row(best[rule]) for rule in GRID],
                            notes="Fit on 81% of the ratings, scored on 9% (validation); the 10% test part "
                                  "is not used. Default engine, one thread."),
              results.table("Every grid point", columns, [row(point) for point in found])]
    path = results.write("step_rule", tables, {"grid": GRID, "curves": found, "epochs": args.epochs,
                                                "factors": args.factors})
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
