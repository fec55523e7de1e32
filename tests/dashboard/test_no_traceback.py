"""No page ever shows a traceback: every page after each file of the corpus (tests/data, when it is
there, plus small edge cases made here) and every hyperparameter at both ends of its widget range.
Each check scans the whole AppTest element tree for exception elements; failures must be st.error."""


import pytest
from apptest_helpers import TOY, button, home, upload
from paths import CORPUS

from dashboard.logic import settings

EDGE_FILES = {
    "two_by_two.csv": b"user,item,rating\n1,a,5\n2,b,1\n1,b,3\n",
    "constant.csv": b"u,i,r\n1,1,3\n1,2,3\n2,1,3\n2,2,3\n",
    "one_rating_per_user.csv": b"".join(f"{n},{n % 3},{n % 5 + 1}\n".encode() for n in range(40)),
    "not_ratings.csv": b"\x00\x01\x02binary junk\xff\xfe",
    "empty.csv": b"",
    "header_only.csv": b"user,item,rating\n",
    "bad_rating.csv": b"user,item,rating\n1,10,4\n2,10,abc\n",
}
PAGES = ("pages/1_Train.py", "pages/2_Speed.py", "pages/3_Update_rule.py", "pages/4_Error_schedules.py")
TUNE = "pages/5_Tune.py"


def corpus_files() -> dict[str, bytes]:
    files = dict(EDGE_FILES)
    if CORPUS.is_dir():
        files.update({f"{path.parent.name}/{path.name}": path.read_bytes()
                      for path in sorted(CORPUS.rglob("*")) if path.is_file()})
    return files


def exceptions(app) -> list[str]:
    """Every exception element anywhere in the tree (main area, sidebar, containers)."""
    return [element.value for element in app.get("exception")] + [e.value for e in app.exception]


def set_widget(app, key: str, value) -> None:
    """Set the widget called ``key``, whatever its kind."""
    kinds = ("slider", "number_input", "selectbox", "checkbox", "multiselect")
    next(w for kind in kinds for w in app.get(kind) if w.key == key).set_value(value)


def press_main_button(app, page: str):
    """Press the page's action button with cheap settings (few epochs, small K, tiny budget)."""
    if page.endswith("1_Train.py"):
        set_widget(app, "train_n_epochs", 2)
        set_widget(app, "train_n_factors", 3)
        return button(app, "Train").click().run()
    if page.endswith("2_Speed.py"):
        set_widget(app, "speed_engines", ["numba"])
        set_widget(app, "speed_epochs", 1)
        set_widget(app, "speed_budget", 0.1)
        return button(app, "Time engines").click().run()
    if page.endswith("3_Update_rule.py"):
        return button(app, "One epoch").click().run()
    set_widget(app, "sch_n_epochs", 2)
    return button(app, "Run all four schedules").click().run()


def test_every_page_after_every_corpus_file_shows_no_traceback():
    """A refused file leaves the previous dataset in use (its pages were checked with it), so the
    pages are exercised after each file that loads."""
    app = home()
    for name, content in corpus_files().items():
        upload_name = name.replace("/", "_")
        app = upload(app, upload_name, content)
        assert not exceptions(app), (name, exceptions(app))
        if app.session_state["dataset"].name != upload_name:
            continue
        for page in PAGES:
            app = press_main_button(app.switch_page(page).run(), page)
            assert not exceptions(app), (name, page, exceptions(app))
        app = app.switch_page(TUNE).run()  # the search itself is tested with its page
        assert not exceptions(app), (name, TUNE, exceptions(app))
        app = app.switch_page("Home.py").run()


def ends(name: str) -> list:
    """Both ends of setting ``name``'s widget range (every choice for a choice, both for a flag)."""
    param = settings.widget_param(name)
    if param.kind is bool:
        return [False, True]
    if param.choices is not None:
        return list(param.allowed())
    return [param.kind(param.low), param.kind(param.high)]


@pytest.fixture(scope="module")
def toy_train_page():
    return upload(home(), "toy.csv", TOY).switch_page("pages/1_Train.py").run()


@pytest.mark.parametrize("name", settings.FIELDS)
def test_train_at_the_ends_of_every_setting_shows_no_traceback(toy_train_page, name):
    app = toy_train_page
    for value in ends(name):
        for other in settings.FIELDS:  # the others at cheap in-range values
            cheap = {"n_epochs": 3, "n_factors": 4, "engine": "numba"}.get(other, settings.default(other))
            set_widget(app, f"train_{other}", value if other == name else cheap)
        app = button(app, "Train").click().run()
        assert not exceptions(app), (name, value, exceptions(app))
        if app.error:  # a refusal or a divergence is a one-sentence st.error
            assert all("\n" not in error.value and "Traceback" not in error.value for error in app.error)


@pytest.mark.parametrize("name", ("n_factors", "n_epochs", "lr", "reg", "epochs_per_feature", "seed"))
def test_error_schedules_at_the_ends_of_every_setting_shows_no_traceback(name):
    app = upload(home(), "toy.csv", TOY).switch_page("pages/4_Error_schedules.py").run()
    for value in ends(name):
        for other in ("n_factors", "n_epochs", "lr", "reg", "epochs_per_feature", "seed"):
            cheap = {"n_epochs": 2, "n_factors": 3}.get(other, settings.default(other))
            set_widget(app, f"sch_{other}", value if other == name else cheap)
        app = button(app, "Run all four schedules").click().run()
        assert not exceptions(app), (name, value, exceptions(app))


def test_speed_at_the_ends_of_its_settings_shows_no_traceback():
    app = upload(home(), "toy.csv", TOY).switch_page("pages/2_Speed.py").run()
    low_k, high_k = ends("n_factors")
    for k, epochs, budget, engines in ((low_k, 1, 0.1, ["numba"]), (high_k, 20, 0.1, ["numba", "numpy"]),
                                       (low_k, 1, 60.0, []), (high_k, 1, 0.1, ["python"])):
        for key, value in (("speed_k", k), ("speed_epochs", epochs), ("speed_budget", budget),
                           ("speed_engines", engines)):
            set_widget(app, key, value)
        app = button(app, "Time engines").click().run()
        assert not exceptions(app), (k, epochs, budget, engines, exceptions(app))
