"""The session's runs on disk (:mod:`dashboard.store`), so a reload or a shared link finds them.

A run is kept as JSON: its number, settings, dataset name and fingerprint, status, message, every
epoch's figures, final scores and fit time. A restored run gets an unfitted model with the same
parameters and seed; :func:`refit` trains it again on the same split, which the engines make exact.
"""

from __future__ import annotations

from mfcore import EpochResult, Ratings, SGDFactorizer, random_split

from . import data, store


def record(run) -> dict:
    """A JSON-able record of ``run`` (a :class:`dashboard.runs.Run`)."""
    return {"number": run.number, "settings": run.settings, "dataset": run.dataset,
            "data_path": run.data_path, "data_key": getattr(run, "data_key", ""),
            "params": {k: v for k, v in run.model.get_params().items()},
            "status": run.status, "message": run.message, "scores": run.scores,
            "history": [[r.epoch, r.train_rmse, r.test_rmse, r.seconds] for r in run.history],
            "seconds": run.seconds, "updates_per_second": run.updates_per_second}


def save(runs: list) -> None:
    """Store the session's runs under the session's name (made on the first run)."""
    store.save_runs(data.session_name(create=bool(runs)), [record(run) for run in runs])


def restore(run_class) -> list:
    """The runs stored for this session's name (instances of ``run_class``), oldest first."""
    restored = []
    for rec in store.load_runs(data.session_name()):
        try:
            model = SGDFactorizer(**rec["params"])
            run = run_class(rec["number"], rec["settings"], rec["dataset"], rec["data_path"], model,
                            _empty_test(), status=rec["status"], message=rec["message"],
                            scores=rec["scores"], seconds=rec["seconds"],
                            updates_per_second=rec["updates_per_second"],
                            history=[EpochResult(*row) for row in rec["history"]])
        except (KeyError, TypeError, ValueError):
            continue
        run.data_key = rec.get("data_key", "")
        restored.append(run)
    return restored


def refit(run, ratings: Ratings, test_size: float, seed: int) -> None:
    """Train a restored run's model again on the same split (same settings and seed, same factors)."""
    train, test = random_split(ratings, test_size, seed=seed)
    run.model.set_params(n_epochs=max(1, len(run.history)))
    for _ in run.model.fit_iter(train, test if len(test) else None):
        pass
    run.test = test


def _empty_test() -> Ratings:
    sample = data.current().ratings
    return sample.take(slice(0, 0))
