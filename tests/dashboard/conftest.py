"""Fixtures of every dashboard AppTest."""

import pytest


@pytest.fixture(autouse=True)
def no_confirmation_for_long_work(monkeypatch):
    """Work is announced and waits for a Start click when its estimate, which grows with the machine's
    load, passes ``long_work.WARN_SECONDS``: off in page tests, so a loaded machine does not change
    what a page does; a test of the announcement lowers the threshold itself."""
    from dashboard.logic import long_work
    monkeypatch.setattr(long_work, "WARN_SECONDS", float("inf"))
