"""Charts and sentences that must agree with their numbers (issue 19): a diverged schedule does not
set the y range, runs keep their own colours, the long tail has readable log ticks, the Speed bars
say the table's ratios, settings differences in the form's names, per-epoch's own learning rate."""

from types import SimpleNamespace

import numpy as np

from dashboard.render import charts
from dashboard.logic import settings
from dashboard.logic import lesson_figures
from mfcore import load_ratings
from mfcore.models.params import default_lr
from paths import ROOT


def run(label, values, status="done"):
    history = [SimpleNamespace(epoch=n + 1, test_rmse=v, seconds=0.1) for n, v in enumerate(values)]
    return SimpleNamespace(label=label, history=history, status=status)


def test_a_diverged_curve_does_not_set_the_y_range_and_is_marked():
    runs = [run("per-rating", [0.95, 0.92, 0.91]), run("per-epoch", [0.97, 40.0, 9e6], status="diverged")]
    figure = lesson_figures.schedule_curves(runs, "epoch")
    low, high = figure.layout.yaxis.range
    assert low < 0.91 and 0.95 < high < 1.0
    assert any(trace.text and trace.text[0] == "per-epoch diverged" for trace in figure.data)


def test_every_kept_run_has_its_own_colour():
    from dashboard.logic.session_runs import MAX_RUNS
    for first in range(1, 40):
        colours = [charts.run_color(number) for number in range(first, first + MAX_RUNS)]
        assert len(set(colours)) == MAX_RUNS


def test_long_tail_ticks_are_powers_of_ten():
    axis = charts.long_tail(load_ratings(ROOT / "sample_data" / "toy.csv")).layout.yaxis
    assert axis.type == "log" and axis.dtick == 1 and axis.tickformat == ",d"


def test_speed_ratio_text_agrees_with_the_rounding_of_the_table():
    assert [charts.ratio_text(x) for x in (0.8, 1.0, 6.44, 172.4, 1234.6)] == ["0.8x", "1.0x", "6.4x", "172x",
                                                                            "1,235x"]
    assert charts.rmse_after(0.91104, 3) == "0.9110 after 3 epochs"
    assert charts.rmse_after(None, 1) == "- (timed on a sample)"


def test_a_label_stays_inside_the_chart():
    assert charts.label_side(12, 12) == "top left" and charts.label_side(2, 12) == "top right"


def test_differences_use_the_forms_names():
    text = settings.differences({"n_factors": 16, "n_epochs": 20, "biased": False},
                                {"n_factors": 100, "n_epochs": 20, "biased": True})
    assert text == "Factors K 16 (Train: 100), Learn biases (μ, b_u, b_i) off (Train: on)"
    assert "None" not in settings.help_text("lr")


def test_per_epoch_rate_is_its_default_unless_a_row_is_very_busy():
    toy = load_ratings(ROOT / "sample_data" / "toy.csv")
    assert lesson_figures.schedule_rates(toy)["per-epoch"] == default_lr("per-epoch", "constant")
    busy = SimpleNamespace(users=np.zeros(4000, np.int32), items=np.arange(4000, dtype=np.int32))
    rates = lesson_figures.schedule_rates(busy)
    assert rates["per-epoch"] == 0.0005 and rates["per-rating"] == default_lr("per-rating", "constant")
    assert "per-epoch 0.0005" in lesson_figures.rates_text(rates)


def test_the_estimate_scales_with_the_servers_load(monkeypatch):
    from dashboard.logic import long_work
    cores = __import__("os").cpu_count()
    monkeypatch.setattr(long_work.os, "getloadavg", lambda: (0.1, 0.1, 0.1))
    idle = long_work.training_seconds(100_000, 10, 32, "numba")
    monkeypatch.setattr(long_work.os, "getloadavg", lambda: (4.0 * cores, 0.0, 0.0))
    busy = long_work.training_seconds(100_000, 10, 32, "numba")
    assert abs(busy / idle - 4.0) < 1e-9
    assert long_work.sentence(75, "This run") == ("This run should take about 75 s on this server (estimated "
                                                 "from its measured speed and load).")


def test_every_page_says_which_ratings_are_positives_with_the_models_threshold():
    """One rule (the models' positive_threshold of the data's scale), one phrase: the toy data's 2..5
    scale gives 4.25, MovieLens's 1..5 gives 4, and no page writes a threshold of its own."""
    from mfcore.models.ranking import positive_threshold
    from mfcore.models.params import POSITIVE_LEVEL
    from dashboard.render.texts import positives

    toy = load_ratings(ROOT / "sample_data" / "toy.csv")
    assert positives(toy.scale) == "ratings >= 4.25 (the positive level 0.75 of the rating scale 2 to 5)"
    assert positives((1.0, 5.0)) == "ratings >= 4 (the positive level 0.75 of the rating scale 1 to 5)"
    assert f">= {positive_threshold(toy.scale, POSITIVE_LEVEL):g} " in positives(toy.scale)
    texts_module = ROOT / "dashboard" / "render" / "texts.py"
    for page in [*(ROOT / "pages").glob("*.py"), ROOT / "Home.py", *(ROOT / "dashboard").rglob("*.py")]:
        if page != texts_module:
            assert "of 5)" not in page.read_text() and "ratings >= 4" not in page.read_text(), page
def test_the_overlay_draws_every_run_whole():
    """A 30-epoch run beside a current 8-epoch one: the x axis reaches epoch 30, and every earlier
    run's trace holds all of its epochs."""
    long_run = SimpleNamespace(number=1, **vars(run("run 1", [1.0 - 0.01 * n for n in range(30)])))
    current = SimpleNamespace(number=2, **vars(run("run 2", [0.9] * 8)))
    for history in (long_run.history, current.history):
        for record in history:
            record.train_rmse = record.test_rmse
    figure = charts.learning_curves(current, [long_run], 8)
    assert figure.layout.xaxis.range == (0.5, 30.5)
    assert [len(trace.x) for trace in figure.data] == [30, 8, 8]
    assert charts.epoch_span([current], 20) == 20 and charts.epoch_span([None, long_run], 8) == 30


def test_the_ranking_overlay_draws_every_run_whole():
    def ranking_run(number, epochs):
        history = [SimpleNamespace(epoch=n + 1, test_ndcg=0.1 + 0.001 * n, k=10) for n in range(epochs)]
        return SimpleNamespace(number=number, label=f"run {number}", kind="bpr", history=history)
    bpr, als = ranking_run(1, 30), ranking_run(2, 8)
    figure = charts.ranking_curves(als, [bpr], 8)
    assert figure.layout.xaxis.range == (0.5, 30.5)
    assert [len(trace.x) for trace in figure.data] == [30, 8]
    assert figure.data[0].line.color == charts.run_color(1)


def test_messages_name_settings_as_the_form_does():
    """A bad link and a model's own error speak of "Factors K" and "Learning rate γ", never of
    n_factors or lr: one mapping, settings.LABELS."""
    _, problems = settings.from_query({"n_factors": "abc", "lr": "5", "test_size": "0.9", "biased": "maybe"})
    assert problems == ["Factors K='abc' (must be a whole number from 1 to 500)",
                        "Learning rate γ='5' (must be a number from 0.0001 to 1)",
                        "Test size='0.9' (must be a number from 0 to 0.5)",
                        "Learn biases (μ, b_u, b_i)='maybe' (must be true or false)"]
    kind, _, problems = settings.ranking_from_query({"model": "bpr", "negatives": "0", "alpha": "x"})
    assert kind == "bpr" and problems == ["Negatives per positive='0' (must be a whole number from 1 to 20)"]
    assert settings.ranking_from_query({"model": "svd"})[2] == ["Model='svd' (must be one of bpr, als, ease, itemknn)"]
    assert (settings.form_words("training diverged at epoch 3: lower the learning rate (lr == 1.0), e.g. to 0.2.")
            == "training diverged at epoch 3: lower the learning rate (Learning rate γ = 1.0), e.g. to 0.2.")
    assert settings.form_words("n_factors range [8, 4] is empty.") == "Factors K range [8, 4] is empty."
    assert settings.form_words("a rating of 5 (no setting)") == "a rating of 5 (no setting)"
    assert settings.described({"lr": 0.007, "biased": True}) == "Learning rate γ 0.007, Learn biases (μ, b_u, b_i) on"
