"""The hyperparameter table drives the estimator: defaults, checks, messages, check_is_fitted."""

import inspect

import numpy as np
import pytest

from mfcore import PARAMETERS, NotFittedError, SGDFactorizer, check_is_fitted, from_arrays
from mfcore.models.params import SPLIT_PARAMETERS, default_lr, validate


def test_estimator_defaults_and_signature_come_from_the_table():
    assert list(SGDFactorizer().get_params()) == list(PARAMETERS)
    assert SGDFactorizer().get_params() == {name: p.default for name, p in PARAMETERS.items()}
    signature = inspect.signature(SGDFactorizer)
    assert {name: p.default for name, p in signature.parameters.items()} == SGDFactorizer().get_params()
    assert repr(SGDFactorizer()) == "SGDFactorizer()"


@pytest.mark.parametrize("name", list(PARAMETERS) + list(SPLIT_PARAMETERS))
def test_every_default_obeys_its_own_rule_and_the_widget_range_lies_inside(name):
    param = {**PARAMETERS, **SPLIT_PARAMETERS}[name]
    param.check(param.default)
    low, high = param.widget_range
    if param.kind in (int, float) and param.default is not None:
        assert low <= param.default <= high
        assert param.valid(low) and param.valid(high)


def test_validate_names_the_rule():
    with pytest.raises(ValueError, match=r"^reg == -1, must be >= 0\.$"):
        validate({"reg": -1})
    with pytest.raises(ValueError, match=r"test_size == 1, must be >= 0 and < 1\."):
        validate({"test_size": 1}, SPLIT_PARAMETERS)
    validate({"lr": None, "n_threads": None, "seed": 2**40, "biased": np.True_, "n_factors": np.int32(3),
              "reg": np.float32(0.5)})
    for bad in ({"biased": 1}, {"n_epochs": np.True_}, {"reg": float("nan")}, {"reg": float("inf")}):
        with pytest.raises(ValueError):
            validate(bad)
    assert default_lr("per-epoch") < default_lr("per-rating")


def test_check_is_fitted():
    model = SGDFactorizer(n_factors=2, n_epochs=1)
    with pytest.raises(NotFittedError, match="not fitted yet"):
        check_is_fitted(model)
    check_is_fitted(model.fit(from_arrays([1, 2, 2], [1, 1, 2], [4.0, 3.0, 5.0])))
