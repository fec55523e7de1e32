"""One error boundary around each page (dashboard/boundary.py): whatever a page's backend raises, the
page shows one st.error sentence and no Streamlit exception element; Streamlit's stop and rerun pass."""

import logging

import pytest
from apptest_helpers import plain
from paths import ROOT
from streamlit.testing.v1 import AppTest

PAGES = ("Home.py", "pages/1_Train.py", "pages/2_Speed.py", "pages/3_Update_rule.py",
         "pages/4_Error_schedules.py", "pages/5_Tune.py", "pages/6_Explore.py")


def exceptions(app) -> list[str]:
    return [element.value for element in app.get("exception")] + [e.value for e in app.exception]


@pytest.mark.parametrize("page", PAGES)
def test_a_failing_backend_is_one_error_sentence(page, monkeypatch, caplog):
    from dashboard.server import datasets
    from dashboard.logic import lesson_figures

    def broken(*args, **kwargs):
        raise RuntimeError("secret detail /srv/internal/path")
    monkeypatch.setattr(datasets, "current", broken)  # every page but Update rule reads its dataset first
    monkeypatch.setattr(lesson_figures, "heatmap", broken)  # Update rule starts on its own toy matrix
    with caplog.at_level(logging.ERROR, logger="dashboard.render.boundary"):
        app = AppTest.from_file(str(ROOT / page), default_timeout=60).run()
    assert exceptions(app) == []
    errors = [e.value for e in app.error]
    assert len(errors) == 1 and errors[0].endswith(
        "failed with an internal error (RuntimeError); the server log has the details. Reload the page "
        "to start again.")
    assert "secret" not in errors[0]
    assert any("secret detail" in (record.exc_text or "") or record.exc_info for record in caplog.records)


def test_a_value_error_says_its_own_sentence(monkeypatch):
    from dashboard.server import datasets

    def refused():
        raise ValueError("the dataset store is full.\nsecond line")
    monkeypatch.setattr(datasets, "current", refused)
    app = AppTest.from_file(str(ROOT / "pages/1_Train.py"), default_timeout=60).run()
    assert exceptions(app) == []
    assert [plain(e.value) for e in app.error] == ["Train could not finish: the dataset store is full."]


def test_streamlit_stop_and_rerun_pass_through():
    from streamlit.runtime.scriptrunner_utils.exceptions import RerunException, StopException

    from dashboard.render import boundary
    for control in (StopException(), RerunException(None)):
        with pytest.raises(type(control)), boundary.page("Test"):
            raise control
