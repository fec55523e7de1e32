"""benchmarks/als_defaults.py: the search's ``penalty`` gives back the ALS ``reg`` it stands for, and
``--write`` puts the rounded best setting into the parameter table that the model reads."""

from __future__ import annotations

import importlib.util
import shutil
import sys

import pytest

from paths import ROOT

spec = importlib.util.spec_from_file_location("als_defaults", ROOT / "benchmarks" / "als_defaults.py")
search = importlib.util.module_from_spec(spec)
spec.loader.exec_module(search)


@pytest.mark.parametrize("start", search.STARTS)
def test_a_start_drawn_through_penalty_is_the_same_reg(start):
    drawn = search.searched(start)
    assert "reg" not in drawn and set(drawn) == set(start) - {"reg"} | {"penalty"}
    shape = (search.TYPICAL + start["reg_unobserved"] * search.ITEMS) ** start["reg_exponent"]
    assert drawn["penalty"] / shape == pytest.approx(start["reg"])


def test_write_puts_the_rounded_setting_into_the_als_table_only(tmp_path, monkeypatch):
    (tmp_path / "mfcore" / "models").mkdir(parents=True)
    shutil.copy(ROOT / "mfcore" / "models" / "params.py", tmp_path / "mfcore" / "models" / "params.py")
    monkeypatch.setattr(search, "ROOT", tmp_path)
    search.write_defaults(dict(n_factors=256, n_epochs=23, reg=3.14159, reg_exponent=0.4567,
                               reg_unobserved=0.123456, alpha=7.777))
    written = importlib.util.spec_from_file_location("written_params", tmp_path / "mfcore" / "models" / "params.py")
    table = importlib.util.module_from_spec(written)
    monkeypatch.setitem(sys.modules, "written_params", table)  # its dataclass looks its module up
    written.loader.exec_module(table)
    found = {name: table.ALS_PARAMETERS[name].default
             for name in ("n_factors", "n_epochs", "reg", "reg_exponent", "reg_unobserved", "alpha")}
    assert found == dict(n_factors=256, n_epochs=23, reg=3.1, reg_exponent=0.46, reg_unobserved=0.12, alpha=7.8)
    from mfcore.models.params import BPR_PARAMETERS, EASE_PARAMETERS
    assert {n: p.default for n, p in table.BPR_PARAMETERS.items()} == {n: p.default for n, p in BPR_PARAMETERS.items()}
    assert table.EASE_PARAMETERS["reg"].default == EASE_PARAMETERS["reg"].default
