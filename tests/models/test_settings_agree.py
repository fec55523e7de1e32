"""One table, three faces: the CLI's --help, the Train form and SGDFactorizer() show the same defaults,
ranges and help texts (all from mfcore.models.params)."""

import re

import pytest
from apptest_helpers import home, no_exception

from dashboard.logic import settings
from mfcore import SGDFactorizer
from mfcore.cli import main
from mfcore.cli.common import flags
from mfcore.models.params import PARAMETERS, SPLIT_PARAMETERS, default_lr

TABLE = {**PARAMETERS, **SPLIT_PARAMETERS}
EXPECTED = {**SGDFactorizer().get_params(), **{name: param.default for name, param in SPLIT_PARAMETERS.items()}}


def option_help(help_text: str, param) -> str:
    """The help of ``param``'s option in ``--help`` output, whitespace collapsed."""
    start = help_text.index("\n  " + flags(param)[0], help_text.index("options:"))
    following = re.search(r"\n  -", help_text[start + 1:])
    end = start + 1 + following.start() if following else len(help_text)
    return " ".join(help_text[start:end].split())


@pytest.fixture(scope="module")
def cli_help():
    import contextlib
    import io
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        main(["train", "--help"])
    return out.getvalue()


@pytest.fixture(scope="module")
def train_form():
    app = home().switch_page("pages/1_Train.py").run()
    no_exception(app)
    return app


@pytest.mark.parametrize("name", list(TABLE))
def test_cli_help_states_the_estimators_default_and_rule(cli_help, name):
    param = TABLE[name]
    text = option_help(cli_help, param)
    shown = ("on" if EXPECTED[name] else "off") if param.kind is bool else str(EXPECTED[name])
    assert f"(default: {shown})" in text
    assert param.help.split(";")[0].split("(")[0].strip() in text
    if param.choices is not None:
        assert "{" + ",".join(param.allowed()) + "}" in text
    elif param.kind is not bool:
        assert param.rule in text


@pytest.mark.parametrize("name", settings.FIELDS)
def test_train_form_shows_the_estimators_default_range_and_help(train_form, name):
    param = TABLE[name]
    element = next(e for e in train_form.main if getattr(e, "key", None) == f"train_{name}")
    expected = default_lr(EXPECTED["schedule"]) if name == "lr" and EXPECTED[name] is None else EXPECTED[name]
    assert element.value == expected
    assert element.help == settings.help_text(name)
    assert element.help.split(";")[0] == param.help.split(";")[0]  # the table's help, minus CLI-only words
    assert "None" not in element.help
    if param.kind in (int, float):
        low, high = param.widget_range
        assert (element.min, element.max) == (low, high)
        assert param.valid(low) and param.valid(high)  # the form never offers an invalid value
    elif param.choices is not None:
        assert list(element.options) == list(param.allowed())
