"""Ranking models of every library on the same data, each tuned the same way: quality and fit time.

    python benchmarks/ranking.py [--data ml-100k,ml-1m] [--data-dir ../shared/data] [--trials 10]
                                 [--seeds 0,1,2] [--threads 2] [--rounds 5] [--timing-threads 1,2]
                                 [--quick] [--no-write] [--only timing]

Contenders: popularity, item-kNN and EASE (:mod:`mfcore.models.neighbors`), mfcore ALS and BPR,
``implicit``'s ALS and BPR. Every contender trains on the same cells: the training positives
(ratings >= 4 of 1..5) as binary interactions.

Protocols (both on each data set):

- standard: 20% of each user's positives held out (:func:`mfcore.evaluation.topn.holdout_positives`,
  seed s); every unseen item ranked; NDCG@10 and Recall@20 (:func:`mfcore.evaluation.newuser.standard_lists`);
- new-user: 15% of the users held out entirely (:func:`mfcore.evaluation.newuser.new_user_splits`,
  seed s), folded in from 80% of their positives and, a second column on the same held-out users and
  the same fitted model, from 5 of them; the rest ranked against. mfcore's models fold in with their
  own ``fold_in_scores`` (ALS: the exact least-squares solve of its training, same regularization and
  confidence); implicit's ALS folds in with its own ``recalculate_user``; implicit's BPR has no
  fold-in, so its new users get mfcore's BPR fold-in (SGD on the user's vector, items fixed) with
  implicit's own learning rate and regularization on implicit's factors and biases.

Tuning, the same for every contender but popularity (which has nothing to tune): an Optuna TPE search
(sampler seed 0) of ``--trials`` trials over the contender's OWN parameters (:data:`SPACES`: factors or
neighbours, iterations, regularization, confidence, learning rate ... in that library's terms and
ranges), the first trial being the library's defaults (enqueued), judged by NDCG@10 on a validation
split carved out of seed 0's training part exactly as the test split was carved out of the data
(seed 100; on the new-user protocol the mean of its two settings' NDCG@10): the test set is never
looked at. The best trial is then fitted and scored on the test set of seeds ``--seeds`` (each seed a
new split and a new model seed): mean and spread (standard deviation over seeds). mfcore ALS's
defaults were picked by ``benchmarks/als_defaults.py`` on validation splits of other seeds (7 and 17;
validation at 107 and 117).

Fit time: mfcore ALS against implicit ALS, and mfcore BPR against implicit BPR, at equal K and equal
iterations (:data:`TIMING`), each library's defaults otherwise, on 1 and 2 threads
(``--timing-threads``), BLAS limited to 1 thread for everyone, JIT and thread pools warmed first,
medians of ``--rounds`` alternating rounds with their min..max. Both sides' whole ``fit`` is timed
(implicit: its transpose and initial factors; mfcore: its grouping of the positives and initial
factors), mfcore's one-off JIT warm-up excluded.

Writes ``benchmarks/results/ranking.json`` (:mod:`benchmarks.results`) unless ``--no-write``; the
tables of ``docs/benchmarks.md`` are rendered from it by ``python benchmarks/render_tables.py``.
``--only timing`` runs the fit-time table alone and prints it, writing nothing.
"""

from __future__ import annotations

import os
import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
DATA = Path(os.environ.get("MF_SHARED_DATA") or ROOT.parent / "shared" / "data")
SETTINGS = ("0.8", "5")
"""The new-user protocol's settings: the held-out users told 80% of their positives, or 5."""
CONTENDERS = ("popularity", "item-kNN", "EASE", "mfcore ALS", "mfcore BPR", "implicit ALS", "implicit BPR")

SPACES = {
    # name -> [(parameter, kind, low, high, log)], in the library's own terms
    "item-kNN": [("n_neighbors", int, 5, 1000, True), ("shrinkage", float, 0.0, 500.0, False)],
    "EASE": [("reg", float, 1.0, 10000.0, True)],
    "mfcore ALS": [("n_factors", int, 16, 256, True), ("n_epochs", int, 4, 30, False),
                   ("reg", float, 0.01, 10.0, True), ("reg_unobserved", float, 0.0, 0.3, False),
                   ("reg_exponent", float, 0.0, 1.0, False), ("alpha", float, 1.0, 50.0, True)],
    "implicit ALS": [("factors", int, 16, 256, True), ("iterations", int, 4, 30, False),
                     ("regularization", float, 0.001, 100.0, True), ("alpha", float, 0.1, 100.0, True)],
    "mfcore BPR": [("n_factors", int, 16, 256, True), ("n_epochs", int, 10, 150, False),
                   ("lr", float, 0.005, 0.2, True), ("reg", float, 1e-4, 0.1, True)],
    "implicit BPR": [("factors", int, 16, 256, True), ("iterations", int, 10, 150, False),
                     ("learning_rate", float, 0.005, 0.2, True), ("regularization", float, 1e-4, 0.1, True)],
}
"""Each contender's search space; its defaults lie inside it and are its first trial."""

TIMING = [("ALS", dict(n_factors=64, n_epochs=15), dict(factors=64, iterations=15)),
          ("ALS", dict(n_factors=128, n_epochs=15), dict(factors=128, iterations=15)),
          ("BPR", dict(n_factors=64, n_epochs=50), dict(factors=64, iterations=50))]
"""Fit-time settings (mfcore's, implicit's): the same K and iterations, each library's defaults otherwise."""


def defaults(name: str) -> dict:
    """The library's default values of the parameters in ``SPACES[name]``."""
    if name.startswith("implicit"):
        import inspect

        from implicit.cpu.als import AlternatingLeastSquares
        from implicit.cpu.bpr import BayesianPersonalizedRanking
        cls = AlternatingLeastSquares if name.endswith("ALS") else BayesianPersonalizedRanking
        signature = inspect.signature(cls.__init__).parameters
        return {p[0]: signature[p[0]].default for p in SPACES[name]}
    from mfcore.models.params import ALS_PARAMETERS, BPR_PARAMETERS, EASE_PARAMETERS, ITEMKNN_PARAMETERS
    table = {"item-kNN": ITEMKNN_PARAMETERS, "EASE": EASE_PARAMETERS, "mfcore ALS": ALS_PARAMETERS,
             "mfcore BPR": BPR_PARAMETERS}[name]
    return {p[0]: table[p[0]].default for p in SPACES[name]}


class Fitted:
    """A fitted contender: ``codes(user codes) -> scores`` and ``fold(list of positive code arrays) ->
    scores``, and its fit seconds."""

    def __init__(self, name: str, params: dict, train, threads: int, seed: int):
        self.name = name
        keep = train.values >= 4.0 - 1e-6
        if name.startswith("implicit"):
            import scipy.sparse as sp
            matrix = sp.csr_matrix((np.ones(int(keep.sum()), np.float32), (train.users[keep], train.items[keep])),
                                   shape=(train.n_users, train.n_items))
            if name == "implicit ALS":
                from implicit.cpu.als import AlternatingLeastSquares
                model = AlternatingLeastSquares(**params, num_threads=threads, random_state=seed)
            else:
                from implicit.cpu.bpr import BayesianPersonalizedRanking
                model = BayesianPersonalizedRanking(**params, num_threads=threads, random_state=seed)
            start = time.perf_counter()
            model.fit(matrix, show_progress=False)
            self.seconds = time.perf_counter() - start
            self.model, self.n_items = model, train.n_items
            U, V = np.asarray(model.user_factors), np.asarray(model.item_factors)
            self.codes = lambda codes: U[codes] @ V.T
            return
        if name == "popularity":
            counts = np.bincount(train.items[keep], minlength=train.n_items).astype(np.float64)
            self.seconds = 0.0
            self.codes = lambda codes: np.broadcast_to(counts, (len(codes), len(counts)))
            self.fold = lambda rows: np.broadcast_to(counts, (len(rows), len(counts)))
            return
        from mfcore import ALSFactorizer, BPRFactorizer, EASE, ItemKNN
        cls = {"item-kNN": ItemKNN, "EASE": EASE, "mfcore ALS": ALSFactorizer, "mfcore BPR": BPRFactorizer}[name]
        extra = {"n_threads": threads} if name in ("mfcore ALS", "mfcore BPR") else {}
        start = time.perf_counter()
        model = cls(**params, seed=seed, **extra).fit(train)
        self.seconds = time.perf_counter() - start - model.compile_seconds_  # as implicit's: all of fit
        self.codes, self.fold = model.score_codes, model.fold_in_scores

    def fold(self, rows: list) -> np.ndarray:
        """implicit's new users (see the module docstring)."""
        import scipy.sparse as sp
        model = self.model
        V = np.asarray(model.item_factors)
        if self.name == "implicit ALS":  # its own exact solve, all the rows at once
            indptr = np.concatenate([[0], np.cumsum([len(codes) for codes in rows])])
            indices = np.concatenate([np.asarray(codes) for codes in rows]) if rows else np.zeros(0, int)
            items = sp.csr_matrix((np.ones(len(indices), np.float32), indices, indptr), shape=(len(rows), self.n_items))
            return np.asarray(model.recalculate_user(np.arange(len(rows)), items)) @ V.T
        from mfcore import BPRFactorizer
        shell = BPRFactorizer(lr=model.learning_rate, reg=model.regularization)
        shell.Q_, shell.bi_ = np.ascontiguousarray(V[:, :-1]), np.ascontiguousarray(V[:, -1])
        shell.item_ids_ = np.arange(self.n_items)
        out = np.empty((len(rows), self.n_items))
        for r, codes in enumerate(rows):
            out[r] = shell.Q_ @ shell._fold_in_codes(np.asarray(codes)) + shell.bi_
        return out


def score(fitted: Fitted, protocol: str, split, genres) -> dict:
    from mfcore.evaluation.newuser import evaluate_new_users, standard_lists
    if protocol == "standard":
        train, test = split
        return standard_lists(fitted.codes, train, test, 4.0, genres)
    return evaluate_new_users(fitted.fold, split, genres)


def splits(ratings, protocol: str, seed: int):
    """(splits, their training ratings) of ``protocol`` at ``seed``: the standard split alone, or the
    new-user splits told 80% and 5 positives of the same held-out users (one training set)."""
    from mfcore.evaluation.newuser import new_user_splits
    from mfcore.evaluation.topn import holdout_positives
    if protocol == "standard":
        split = holdout_positives(ratings, 0.2, 4.0, seed=seed)
        return {"": split}, split[0]
    found = new_user_splits(ratings, 0.15, (0.8, 5), 4.0, seed=seed)
    return dict(zip(SETTINGS, found)), found[0].train


def tune(name: str, ratings, protocol: str, trials: int, threads: int) -> tuple[dict, list]:
    """The best parameters of ``name`` by validation NDCG@10, and every trial's (params, NDCG)."""
    if name == "popularity":
        return {}, []
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    _, train = splits(ratings, protocol, 0)
    validation, fit_on = splits(train, protocol, 100)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=0))
    study.enqueue_trial(defaults(name))

    def objective(trial):
        params = {}
        for key, kind, low, high, log in SPACES[name]:
            params[key] = (trial.suggest_int(key, low, high, log=log) if kind is int
                           else trial.suggest_float(key, low, high, log=log))
        try:
            fitted = Fitted(name, params, fit_on, threads, 0)
            return float(np.mean([score(fitted, protocol, split, None)["ndcg"] for split in validation.values()]))
        except ValueError:  # mfcore's TrainingDiverged: the setting is as bad as a list with no hit
            return 0.0

    study.optimize(objective, n_trials=trials)
    history = [(t.params, t.value) for t in study.trials]
    return study.best_params, history


def spread(values: list[float]) -> str:
    return f"{np.mean(values):.4f} ± {np.std(values):.4f}" if len(values) > 1 else f"{values[0]:.4f}"


def quality(data: str, ratings, genres, args) -> tuple[list, dict]:
    """Tables and raw numbers of both protocols on one data set."""
    tables, raw = [], {}
    from results import table
    for protocol in ("standard", "new-user"):
        rows, found = [], {}
        for name in CONTENDERS:
            start = time.perf_counter()
            best, history = tune(name, ratings, protocol, args.trials, args.threads)
            runs = {setting: [] for setting in (SETTINGS if protocol == "new-user" else ("",))}
            for seed in args.seeds:
                split, train = splits(ratings, protocol, seed)
                try:
                    fitted = Fitted(name, best, train, args.threads, seed)
                    for setting in runs:
                        runs[setting].append(score(fitted, protocol, split[setting], genres))
                except ValueError as exc:  # diverged on this seed: counted as no hit, and said
                    print(f"{data} {protocol} {name} seed {seed}: {exc}")
                    for setting in runs:
                        runs[setting].append({"ndcg": 0.0, "recall": 0.0, "popular_share": float("nan"),
                                              "genre_share": float("nan"), "users": 0, "failed": str(exc)})
            found[name] = {"params": best, "trials": history, "runs": runs}
            main = runs["0.8" if protocol == "new-user" else ""]
            cells = [name, spread([r["ndcg"] for r in main]), spread([r["recall"] for r in main])]
            if protocol == "new-user":
                cells.append(spread([r["ndcg"] for r in runs["5"]]))
            settings = ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}" for k, v in best.items())
            cells += [f"{np.mean([r['popular_share'] for r in main]):.2f}",
                      "-" if genres is None else f"{np.mean([r['genre_share'] for r in main]):.2f}", settings or "-"]
            rows.append(cells)
            print(f"{data} {protocol:8s} {name:12s} " + " | ".join(cells[1:])
                  + f"  ({time.perf_counter() - start:.0f} s)", flush=True)
        columns = ["model", "NDCG@10", "Recall@20"] + (["NDCG@10, 5 known"] if protocol == "new-user" else []) + [
            "top-10 share popular", "top-10 share same genre", "tuned settings"]
        notes = ("Standard protocol: 20% of each user's positives held out." if protocol == "standard" else
                 "New-user protocol: 15% of users held out, folded in from 80% of their positives (the 5-known "
                 "column: from 5 of them).")
        tables.append(table(f"{data}, {protocol} protocol: mean ± sd over seeds {args.seeds}", columns, rows,
                            notes + f" Each model tuned by {args.trials} Optuna trials on a validation split."))
        raw[protocol] = found
    return tables, raw


def timing(data: str, ratings, args) -> tuple[list, dict]:
    """Fit seconds at equal K and iterations on each of ``args.timing_threads``, medians of alternating
    rounds (with the spread, min..max)."""
    from mfcore.evaluation.topn import holdout_positives
    train, _ = holdout_positives(ratings, 0.2, 4.0, seed=0)
    rows, found = [], {}
    for threads in args.timing_threads:
        jobs = []
        for family, ours, theirs in TIMING:
            jobs += [(f"mfcore {family}", ours), (f"implicit {family}", theirs)]
        for name, params in jobs:  # warm-up: JIT, thread pools
            Fitted(name, {**params, **({"n_epochs": 1} if name.startswith("mfcore") else {"iterations": 1})},
                   train, threads, 0)
        seconds = {i: [] for i in range(len(jobs))}
        for r in range(args.rounds):
            order = range(len(jobs)) if r % 2 == 0 else reversed(range(len(jobs)))
            for i in order:
                seconds[i].append(Fitted(jobs[i][0], jobs[i][1], train, threads, 0).seconds)
        for i in range(0, len(jobs), 2):
            name, params = jobs[i]
            mine, theirs = seconds[i], seconds[i + 1]
            rows.append([data, str(threads), f"K={params['n_factors']}, {params['n_epochs']} iterations",
                         f"{np.median(mine):.3f} ({min(mine):.3f}..{max(mine):.3f})",
                         f"{np.median(theirs):.3f} ({min(theirs):.3f}..{max(theirs):.3f})",
                         f"{np.median(theirs) / np.median(mine):.2f}x", name.split()[1]])
            print(f"{data} fit time {rows[-1]}", flush=True)
        found |= {f"{jobs[i][0]} {jobs[i][1]} threads={threads}": seconds[i] for i in seconds}
    return rows, found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="ml-100k,ml-1m")
    parser.add_argument("--data-dir", default=str(DATA), help="the folder holding ml-100k/ and ml-1m/")
    parser.add_argument("--trials", type=int, default=10, help="Optuna trials per contender and protocol")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--timing-threads", default="1,2", help="thread counts of the fit-time table")
    parser.add_argument("--quick", action="store_true", help="smoke test: ML-100k, 2 trials, 1 seed, 1 round")
    parser.add_argument("--no-write", action="store_true", help="print only, write no results file")
    parser.add_argument("--only", choices=("timing",),
                        help="timing: the fit-time table alone, printed, nothing written")
    args = parser.parse_args(argv)
    if args.quick:
        args.data, args.trials, args.seeds, args.rounds = "ml-100k", 2, "0", 1
    args.seeds = [int(s) for s in args.seeds.split(",")]
    args.timing_threads = [int(t) for t in args.timing_threads.split(",")]
    warnings.filterwarnings("ignore")
    from threadpoolctl import threadpool_limits

    import results
    from mfcore import load_ratings
    cpu = results.cpu_info()
    print(f"CPU: {cpu['model']} ({cpu['vector_unit']}, {cpu['cores']} cores); {args.threads} threads; BLAS 1 thread")
    tables, data, timings = [], {}, []
    with threadpool_limits(limits=1, user_api="blas"):
        for name in args.data.split(","):
            folder = Path(args.data_dir) / name
            if not folder.exists():
                print(f"{name}: {folder} is absent, skipped.")
                continue
            ratings = load_ratings(folder)
            genres = ratings.item_info["genres"].to_numpy() if ratings.item_info is not None else None
            found, raw = ([], {}) if args.only == "timing" else quality(name, ratings, genres, args)
            rows, seconds = timing(name, ratings, args)
            tables += found
            timings += rows
            data[name] = {"quality": raw, "fit_seconds": seconds}
    tables.append(results.table(f"Fit seconds at equal K and iterations, medians of {args.rounds} alternating rounds "
                                "(min..max)",
                                ["data", "threads", "setting", "mfcore", "implicit", "implicit / mfcore", "model"],
                                timings, "Each library's defaults besides K and the iterations (implicit's ALS: "
                                "3 conjugate-gradient steps per solve, as mfcore's cg_steps); the whole fit "
                                "timed on both sides, mfcore's JIT warm-up excluded; BLAS on 1 thread."))
    if args.only == "timing":
        print(tables[-1]["title"])
        for row in timings:
            print(" | ".join(row))
        return 0
    verdict = must_show(data)
    if not args.no_write:
        path = results.write("ranking", tables, {**data, "must_show": verdict}, packages=("implicit", "optuna"))
        print("wrote", path)
    return 0


def must_show(data: dict) -> dict:
    """mfcore ALS's test NDCG@10 against EASE's on every data set and protocol (means over seeds), and
    its fit time against implicit ALS's at equal settings, printed and returned."""
    verdict = {}
    for name, found in data.items():
        for protocol, models in found["quality"].items():
            for setting in models["mfcore ALS"]["runs"]:
                ours = np.mean([r["ndcg"] for r in models["mfcore ALS"]["runs"][setting]])
                ease = np.mean([r["ndcg"] for r in models["EASE"]["runs"][setting]])
                key = f"{name} {protocol}{' ' + setting if setting else ''}"
                verdict[key] = bool(ours >= ease)
                print(f"{key}: mfcore ALS NDCG@10 {ours:.4f} vs EASE {ease:.4f} -> "
                      f"{'met' if ours >= ease else 'NOT met'}")
        labels = list(found["fit_seconds"])
        for ours, theirs in zip(labels[::2], labels[1::2]):  # (mfcore, implicit) pairs at equal settings
            if ours.startswith("mfcore ALS"):
                mine, peer = np.median(found["fit_seconds"][ours]), np.median(found["fit_seconds"][theirs])
                verdict[f"{name} time {ours}"] = bool(mine < peer)
                print(f"{name} {ours}: {mine:.3f} s vs {theirs}: {peer:.3f} s -> {'met' if mine < peer else 'NOT met'}")
    return verdict


if __name__ == "__main__":
    sys.exit(main())
