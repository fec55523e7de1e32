"""Early stopping keeps the best epoch on every way out of ``fit_iter`` (issue 19, item 1)."""

import numpy as np
import pytest

from mfcore import SGDFactorizer
from mfcore.data import load_ratings
from mfcore.data.synthetic import make_ratings
from mfcore.evaluation.protocol import holdout

PARAMS = {"n_factors": 20, "n_epochs": 40, "lr": 0.02, "reg": 0.0, "init_std": 0.1, "patience": 3,
          "engine": "numba", "seed": 0}


@pytest.fixture(scope="module")
def split():
    return holdout(load_ratings(make_ratings(200, 150, 6000, seed=3)), 0.1, 0.1, seed=0)


@pytest.fixture(scope="module")
def reference(split):
    """``fit()`` on the same data: the validation RMSE rises after its best epoch (overfitting)."""
    model = SGDFactorizer(**PARAMS).fit(split.train, validation=split.validation)
    assert 1 < model.best_epoch_ < len(model.history_) < PARAMS["n_epochs"]
    return model


def same_parameters(a, b) -> bool:
    return all(np.array_equal(getattr(a, name), getattr(b, name)) for name in ("P_", "Q_", "bu_", "bi_"))


def test_generator_closed_after_the_best_epoch_keeps_it(split, reference):
    model = SGDFactorizer(**PARAMS)
    epochs = model.fit_iter(split.train, validation=split.validation)
    for result in epochs:
        if result.epoch == reference.best_epoch_ + 1:  # past the best, before early stopping ends it
            break
    assert model.best_epoch_ == reference.best_epoch_ + 1  # the generator is alive: the last epoch
    epochs.close()  # what the scheduler does on Stop, cancel and timeout
    assert model.best_epoch_ == reference.best_epoch_
    assert same_parameters(model, reference)
    assert model._evaluate_rmse(split.validation) == pytest.approx(
        reference.history_[reference.best_epoch_ - 1].validation_rmse)


def test_break_out_of_a_for_loop_keeps_the_best_epoch(split, reference):
    model = SGDFactorizer(**PARAMS)
    for result in model.fit_iter(split.train, validation=split.validation):
        if result.epoch == reference.best_epoch_ + 2:
            break  # the loop drops its generator: CPython closes it at once
    assert model.best_epoch_ == reference.best_epoch_
    assert same_parameters(model, reference)


def test_exception_in_the_consumer_keeps_the_best_epoch(split, reference):
    model = SGDFactorizer(**PARAMS)

    def stop_late():
        yield from model.fit_iter(split.train, validation=split.validation)

    outer = stop_late()
    with pytest.raises(RuntimeError):
        for result in outer:
            if result.epoch == reference.best_epoch_ + 1:
                outer.throw(RuntimeError("cancelled"))
    assert model.best_epoch_ == reference.best_epoch_
    assert same_parameters(model, reference)


def test_closed_before_any_improvement_is_recorded_leaves_the_model_alone(split):
    model = SGDFactorizer(**PARAMS)
    epochs = model.fit_iter(split.train, validation=split.validation)
    next(epochs)
    epochs.close()
    assert model.best_epoch_ == 1 and len(model.history_) == 1


def test_scheduler_cancel_keeps_the_best_epoch(split, reference):
    """The dashboard's path: a job yielding from ``fit_iter``, cancelled after the best epoch."""
    jobs = pytest.importorskip("dashboard.server.jobs")
    model = SGDFactorizer(**PARAMS)
    scheduler = jobs.Scheduler(capacity=1)

    def steps(job):
        for result in model.fit_iter(split.train, validation=split.validation):
            yield result
            if result.epoch == reference.best_epoch_ + 1:
                job.cancel()

    job = scheduler.submit(steps, "early stopping")
    assert job.wait(60)
    assert job.state == jobs.CANCELLED
    assert model.best_epoch_ == reference.best_epoch_
    assert same_parameters(model, reference)
