"""``python -m mfcore tune DATA``: a hyperparameter search from the command line (see mfcore.tuning).

Several processes (on one machine or many) that run it with the same ``--storage`` URL and
``--study`` share one study: each runs its own ``--trials``, and the study ends with their sum. Each process samples
with its own seed (no two draw the same configuration), a study made for other data, seed or ranges is
refused, and a killed process's running trial is failed and retried after the heartbeat grace period
(see :mod:`mfcore.tuning.storage`). Trials are estimated against the command line's memory cap.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import warnings

from ..models.params import SPLIT_PARAMETERS
from .common import add_table_options


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", help="ratings file (CSV/TSV/u.data/ratings.dat/ratings.csv) or folder")
    parser.add_argument("--trials", type=int, default=100, help="trials this process runs (default: 100)")
    parser.add_argument("--timeout", type=float, default=None, help="stop starting trials after S seconds")
    parser.add_argument("--study", default="tune", help="study name (default: tune)")
    parser.add_argument("--storage", default=None,
                        help="SQLAlchemy URL, e.g. postgresql://user@host/db (default: a SQLite file "
                             "mfcore-data/studies/STUDY.sqlite3, or under $MFCORE_DATA_DIR)")
    parser.add_argument("--pruner", default=None,
                        help="hyperband, median or none; hyperband:N / median:N judge trials from epoch N "
                             "(default: mfcore.tuning.DEFAULT_PRUNER, the one benchmarks/tune.py --pruners "
                             "found fastest to a good RMSE)")
    parser.add_argument("--jobs", type=int, default=1, help="trials run at once in this process")
    add_table_options(parser, SPLIT_PARAMETERS)  # --test-size, --validation-size
    parser.add_argument("--seed", type=int, default=0,
                        help="random seed of the splits, the models and the TPE sampler")
    parser.add_argument("--json", action="store_true", help="print one JSON line per trial, then a summary")


def run(args: argparse.Namespace) -> None:
    """Search, print each finished trial (a progress bar instead on a terminal without ``--json``),
    then the best configuration's test RMSE beside the baselines. Bad input raises ValueError. Any
    error whose text holds a secret of ``--storage`` (:func:`mfcore.tuning.redaction.secrets_of`)
    becomes one ValueError sentence with the secret scrubbed, chained to nothing."""
    from .._optional import require
    require("optuna", "the tune command")  # before mfcore.tuning, which imports it
    from ..tuning import StorageError, redaction
    try:
        _search(args)
        return
    except StorageError:  # its sentence shows the URL redacted and the driver's text scrubbed
        raise
    except Exception as exc:  # noqa: BLE001 - only to look at its text; re-raised when it holds no secret
        text = f"{exc} {getattr(exc, 'filename', '') or ''}"
        if not args.storage or redaction.scrub(text, args.storage) == text:
            raise
        message = redaction.scrub(_first_line(exc), args.storage)
    raise ValueError(f"storage {redaction.redact(args.storage)} failed: {message}")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _search(args: argparse.Namespace) -> None:
    """:func:`run`'s work."""
    if args.trials < 1:
        raise ValueError(f"--trials {args.trials} must be >= 1")
    if args.timeout is not None and args.timeout <= 0:
        raise ValueError(f"--timeout {args.timeout} must be > 0")
    if args.jobs < 1:
        raise ValueError(f"--jobs {args.jobs} must be >= 1")
    warnings.simplefilter("ignore")
    from .._optional import require
    optuna = require("optuna", "the tune command")
    import sqlalchemy.exc

    from ..data import load_ratings
    from ..evaluation.protocol import holdout
    from ..evaluation.resources import CLI_CAP_FRACTION, memory_cap_bytes
    from ..tuning import DEFAULT_PRUNER, final_scores, make_pruner, redact, redaction, search

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    logging.getLogger("sqlalchemy").setLevel(logging.ERROR)
    pruner = args.pruner or DEFAULT_PRUNER
    make_pruner(pruner, 100)  # a bad name fails before the data is read
    ratings = load_ratings(args.data)
    split = holdout(ratings, args.test_size, args.validation_size, args.seed)
    fixed = {"seed": args.seed}

    def report(study, trial):
        row = {"trial": trial.number, "state": trial.state.name.lower(), "value": trial.value,
               "epochs_run": len(trial.intermediate_values), "params": trial.params,
               "reason": trial.user_attrs.get("fail_reason")}
        if args.json:
            print(json.dumps(row), flush=True)
        elif not sys.stdout.isatty():
            value = "-" if trial.value is None else f"{trial.value:.4f}"
            print(f"trial {trial.number:4d}  {row['state']:8}  validation RMSE {value}  "
                  f"epochs {row['epochs_run']}", flush=True)

    progress_bar = sys.stdout.isatty() and not args.json
    try:
        study = search(split, args.study, args.storage, n_trials=args.trials, timeout=args.timeout,
                       seed=args.seed, pruner=pruner, n_jobs=args.jobs, fixed=fixed,
                       callbacks=[report], show_progress_bar=progress_bar,
                       memory_cap=memory_cap_bytes(CLI_CAP_FRACTION))
    except (sqlalchemy.exc.SQLAlchemyError, ImportError, OSError) as exc:  # mid-search: the server went away
        where = redact(args.storage) if args.storage else "default SQLite file"
        failure = redaction.scrub(_first_line(exc), args.storage)
    else:
        failure = ""
    if failure:
        raise ValueError(f"storage {where} failed: {failure}")
    result = final_scores(study, split, fixed)
    summary = {"final": True, "study": args.study, **result}  # one snapshot: final_scores read it once
    if args.json:
        print(json.dumps(summary), flush=True)
        return
    params = ", ".join(f"{name}={value:.4g}" if isinstance(value, float) else f"{name}={value}"
                       for name, value in result["params"].items())
    baselines = ", ".join(f"{name} {value:.4f}" for name, value in result["baselines"].items())
    states = ", ".join(f"{count} {state}" for state, count in sorted(result["states"].items()))
    print(f"study {args.study}: {summary['trials']} trials ({states}); best trial {result['best_trial']}: {params}; "
          f"best epoch {result['best_epoch']}, validation RMSE {result['validation_rmse']:.4f}")
    print(f"test RMSE {result['test_rmse']:.4f} (retrained on train + validation); baselines: {baselines}")
