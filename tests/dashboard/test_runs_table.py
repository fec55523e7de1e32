"""Train's runs table: the scores, the two times and the settings that differ between runs, as many as
fit the page (:data:`dashboard.logic.session_runs.FIT_PIXELS`); every other column in the chooser."""

from types import SimpleNamespace

from mfcore import ALSFactorizer, BPRFactorizer, EpochResult, SGDFactorizer
from mfcore.models.ranking import RankingEpochResult

from dashboard.logic import session_runs, settings
from dashboard.server.run_record import Run


def rating_run(number, **changed):
    chosen = {**settings.DEFAULTS, **changed}
    run = Run(number, chosen, "ratings.csv", "sample_data/ratings.csv",
              SGDFactorizer(**settings.model_params(chosen)), None, status="done")
    run.history = [EpochResult(n + 1, 1.0, 0.95 - 0.001 * n, 0.01) for n in range(chosen["n_epochs"])]
    run.scores = {"rmse": 0.93, "mae": 0.73, "seconds": 0.2, "wall seconds": 0.9, "updates/s": 1e7}
    return run


def ranking_run(number, kind, **changed):
    model_class, table = {"bpr": (BPRFactorizer, settings.RANKING_TABLES["bpr"]),
                          "als": (ALSFactorizer, settings.RANKING_TABLES["als"])}[kind]
    chosen = {"kind": kind, **{name: param.default for name, param in table.items() if name != "n_threads"},
              "test_size": 0.1, **changed}
    run = Run(number, chosen, "ratings.csv", "sample_data/ratings.csv",
              model_class(**settings.ranking_params(kind, chosen)), None, status="done")
    run.history = [RankingEpochResult(n + 1, None, 0.01, test_ndcg=0.1 + 0.001 * n) for n in range(chosen["n_epochs"])]
    run.scores = {"ndcg@10": 0.12, "seconds": 0.5, "wall seconds": 2.5}
    return run


def four_runs():
    return [rating_run(1, n_epochs=5), rating_run(2, n_epochs=12, lr=0.02, engine="numba", biased=False,
                                                  init_std=0.1, seed=7, test_size=0.2),
            ranking_run(3, "bpr", n_epochs=30), ranking_run(4, "als", n_epochs=8, alpha=20.0)]


def test_the_table_fits_and_the_chooser_holds_the_rest():
    runs = four_runs()
    shown, more = session_runs.column_choice(runs)
    frame = session_runs.table(runs)
    assert sum(session_runs.column_pixels(frame, name) for name in shown) <= session_runs.FIT_PIXELS
    assert shown[:10] == ["run", "model", "status", "epochs", "best test RMSE", "best test NDCG@10",
                          "test recall at 10", "best epoch", "training s", "wall s"]
    every = set(frame.columns)
    assert set(shown) | set(more) == every and not set(shown) & set(more)  # each column shown or offered once
    assert {"final RMSE", "final MAE", "updates/s", "dataset"} <= set(more)
    width = sum(session_runs.column_pixels(frame, name) for name in shown)
    left_out = [name for name in ("n_factors", "lr", "reg", "engine", "biased", "alpha", "seed") if name in more]
    assert {"n_factors", "lr"} <= set(shown) and left_out  # the settings that differ, while they fit
    assert all(width + session_runs.column_pixels(frame, name) > session_runs.FIT_PIXELS for name in left_out)
    displayed = session_runs.display_table(runs, ["final RMSE", "alpha"])
    assert list(displayed.columns)[-2:] == ["final RMSE", "Confidence α"]
    assert "Factors K" in displayed and "n_factors" not in displayed


def test_shared_settings_are_said_once_and_differing_ones_are_columns():
    runs = [rating_run(1, n_epochs=3), rating_run(2, n_epochs=3, n_factors=16)]
    shown, _ = session_runs.column_choice(runs)
    assert "n_factors" in shown and "engine" not in shown
    assert session_runs.shared_settings(runs).startswith("Every run: Engine numba-parallel")


def test_the_runs_two_times_are_named_and_the_progress_line_agrees():
    run = rating_run(1, n_epochs=3)
    row = session_runs.table([run]).iloc[0]
    assert (row["training s"], row["wall s"]) == (0.2, 0.9)
    assert run.progress_text.endswith("(done in 0.90 s, 0.20 s of it training)")
    drawn = SimpleNamespace(table=lambda styler: setattr(drawn, "styler", styler))  # a container's table()
    session_runs.show_table(drawn, [run])
    shown = drawn.styler.to_html()
    assert ">0.20<" in shown and ">0.90<" in shown  # the table writes them as the progress line does
    assert "training s: the model's own training time" in session_runs.SECONDS_SENTENCE
