"""scikit-learn's estimator API (clone, random_state), history_ as a list and a table, the progress bar,
the plot helper, and the one fit signature of every model."""

from __future__ import annotations

import copy
import inspect
import sys

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone

from mfcore import ALSFactorizer, BPRFactorizer, SGDFactorizer
from mfcore.data.synthetic import make_ratings
from mfcore.evaluation import random_split
from mfcore.models.history import History, plot_history

MODELS = (SGDFactorizer, BPRFactorizer, ALSFactorizer)


@pytest.fixture(scope="module")
def split():
    from types import SimpleNamespace

    from mfcore import load_ratings
    train, test = random_split(load_ratings(make_ratings(120, 80, 3000, seed=1)), test_size=0.2, seed=0)
    return SimpleNamespace(train=train, test=test)


@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.__name__)
def test_clone_and_random_state(cls):
    model = cls(n_factors=3, random_state=7)
    assert model.seed == 7 and repr(model) == f"{cls.__name__}(n_factors=3, seed=7)"
    twin = clone(model)
    assert twin is not model and twin.get_params() == model.get_params()
    assert model.set_params(random_state=9).seed == 9
    with pytest.raises(TypeError, match="not both"):
        cls(seed=1, random_state=2)


@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.__name__)
def test_one_signature(cls):
    fit = inspect.signature(cls.fit).parameters
    assert list(fit)[:4] == ["self", "X", "test", "callbacks"]
    assert fit["validation"].kind is inspect.Parameter.KEYWORD_ONLY
    assert list(inspect.signature(cls.fit_iter).parameters)[:4] == ["self", "X", "test", "validation"]


def test_ranking_models_score_test_and_validation_apart(split):
    model = ALSFactorizer(n_factors=4, n_epochs=2, positive_level=None, n_threads=1)
    results = list(model.fit_iter(split.train, split.test))
    assert all(r.test_ndcg is not None and r.validation_ndcg is None for r in results)
    results = list(model.fit_iter(split.train, validation=split.test))
    assert all(r.test_ndcg is None and r.validation_ndcg is not None for r in results)


def test_history_is_a_list_and_a_table(split):
    model = SGDFactorizer(n_factors=4, n_epochs=3).fit(split.train, split.test)
    history = model.history_
    assert isinstance(history, History) and len(history) == 3 and history[-1].epoch == 3
    np.testing.assert_array_equal(history["test_rmse"], [r.test_rmse for r in history])
    assert list(history.to_frame().columns) == ["epoch", "train_rmse", "test_rmse", "seconds", "validation_rmse"]
    assert history.tail(1)["epoch"].item() == 3 and "<table" in history._repr_html_()
    assert copy.deepcopy(history) == history and min(r.test_rmse for r in history) > 0
    with pytest.raises(AttributeError):
        history.no_such_column_or_method  # noqa: B018


def test_plot_history_draws_every_curve(split):
    model = SGDFactorizer(n_factors=4, n_epochs=3).fit(split.train, split.test)
    figure = plot_history(model)
    assert [trace.name for trace in figure.data] == ["train rmse", "test rmse"]
    assert list(figure.data[1].y) == [r.test_rmse for r in model.history_]
    ranking = ALSFactorizer(n_factors=4, n_epochs=2, n_threads=1).fit(split.train, split.test)
    assert [trace.name for trace in plot_history(ranking.history_).data] == ["test ndcg", "test recall"]


def test_progress_bar_off_in_scripts_on_when_asked(split, capsys):
    SGDFactorizer(n_factors=2, n_epochs=2).fit(split.train)
    assert capsys.readouterr().err == ""
    SGDFactorizer(n_factors=2, n_epochs=2).fit(split.train, progress=True)
    assert "2/2" in capsys.readouterr().err


def test_model_files_keep_the_history_table(split, tmp_path):
    model = BPRFactorizer(n_factors=3, n_epochs=2, n_threads=1).fit(split.train, split.test)
    model.save(tmp_path / "m.npz")
    loaded = BPRFactorizer.load(tmp_path / "m.npz")
    assert isinstance(loaded.history_, History)
    np.testing.assert_array_equal(loaded.history_["test_ndcg"], model.history_["test_ndcg"])


def test_fit_from_a_sparse_matrix_like_the_classic_question():
    rng = np.random.default_rng(0)
    R = sp.random(50, 40, density=0.2, random_state=1, format="csr", data_rvs=lambda n: rng.integers(1, 6, n))
    rows, cols = R.nonzero()
    model = SGDFactorizer(n_factors=3, n_epochs=2).fit(R)
    assert model.P_.shape == (50, 3) and len(rows) == model.n_train_ratings_
    assert model.predict(int(rows[0]), int(cols[0])) > 0


def test_a_missing_extra_is_one_sentence(split, monkeypatch):
    from mfcore._optional import MissingExtra
    monkeypatch.setitem(sys.modules, "tqdm", None)  # an import of tqdm now fails as if it were not installed
    monkeypatch.setitem(sys.modules, "plotly.graph_objects", None)
    model = SGDFactorizer(n_factors=2, n_epochs=1).fit(split.train)  # no bar wanted: no tqdm needed
    with pytest.raises(MissingExtra, match=r"^progress=True needs tqdm, which is not installed: "
                                           r"pip install 'mfcore\[notebook\]'\.$"):
        model.fit(split.train, progress=True)
    with pytest.raises(MissingExtra, match=r"^plot_history needs plotly, .* 'mfcore\[notebook\]'\.$"):
        plot_history(model)
