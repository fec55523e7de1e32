"""Charts and sentences that must agree with their numbers (issue 19): a diverged schedule does not
set the y range, runs keep their own colours, the long tail has readable log ticks, the Speed bars
say the table's ratios, settings differences in the form's names, per-epoch's own learning rate."""

from types import SimpleNamespace

import numpy as np

from dashboard import charts, settings, teaching
from mfcore import load_ratings
from mfcore.models.params import default_lr
from paths import ROOT


def run(label, values, status="done"):
    history = [SimpleNamespace(epoch=n + 1, test_rmse=v, seconds=0.1) for n, v in enumerate(values)]
    return SimpleNamespace(label=label, history=history, status=status)


def test_a_diverged_curve_does_not_set_the_y_range_and_is_marked():
    runs = [run("per-rating", [0.95, 0.92, 0.91]), run("per-epoch", [0.97, 40.0, 9e6], status="diverged")]
    figure = teaching.schedule_curves(runs, "epoch")
    low, high = figure.layout.yaxis.range
    assert low < 0.91 and 0.95 < high < 1.0
    assert any(trace.text and trace.text[0] == "per-epoch diverged" for trace in figure.data)


def test_every_kept_run_has_its_own_colour():
    from dashboard.runs import MAX_RUNS
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
    assert teaching.schedule_rates(toy)["per-epoch"] == default_lr("per-epoch")
    busy = SimpleNamespace(users=np.zeros(4000, np.int32), items=np.arange(4000, dtype=np.int32))
    rates = teaching.schedule_rates(busy)
    assert rates["per-epoch"] == 0.0005 and rates["per-rating"] == default_lr("per-rating")
    assert "per-epoch 0.0005" in teaching.rates_text(rates)


def test_the_estimate_scales_with_the_servers_load(monkeypatch):
    from dashboard import estimate
    cores = __import__("os").cpu_count()
    monkeypatch.setattr(estimate.os, "getloadavg", lambda: (0.1, 0.1, 0.1))
    idle = estimate.training_seconds(100_000, 10, 32, "numba")
    monkeypatch.setattr(estimate.os, "getloadavg", lambda: (4.0 * cores, 0.0, 0.0))
    busy = estimate.training_seconds(100_000, 10, 32, "numba")
    assert abs(busy / idle - 4.0) < 1e-9
    assert estimate.sentence(75, "This run") == ("This run should take about 75 s on this server (estimated "
                                                 "from its measured speed and load).")
