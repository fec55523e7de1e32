"""AppTest of the Home page: the sample by default, good and bad uploads, column mapping, page switches."""

from apptest_helpers import BAD, TOY, home, no_exception, upload


def metric(app, label):
    return next(m.value for m in app.metric if m.label == label)


def test_sample_is_loaded_by_default():
    app = home()
    no_exception(app)
    assert metric(app, "Ratings") == "100,000"
    assert metric(app, "Users") == "1,000"
    assert len(app.get("plotly_chart")) == 2


def test_good_upload_replaces_the_dataset_and_a_bad_one_keeps_it():
    app = upload(home(), "toy.csv", TOY)
    no_exception(app)
    assert not app.error
    assert metric(app, "Ratings") == "50"
    app = upload(app, "broken.csv", BAD)
    no_exception(app)
    assert len(app.error) == 1
    message = app.error[0].value
    assert "line 3" in message and "abc" in message and "\n" not in message
    assert metric(app, "Ratings") == "50"
    assert app.session_state["dataset"].name == "toy.csv"


def test_empty_and_binary_uploads_give_one_line_errors():
    for name, content in (("empty.csv", b""), ("image.png", b"\x89PNG\x00\x00\x01")):
        app = upload(home(), name, content)
        no_exception(app)
        assert len(app.error) == 1 and name in app.error[0].value
        assert metric(app, "Ratings") == "100,000"


def test_ambiguous_header_asks_for_the_columns():
    content = b"who,title,when,stars\nann,Up,1,4\nann,Heat,2,5\nbob,Up,3,3\n"
    app = upload(home(), "odd.csv", content)
    no_exception(app)
    assert app.warning and "pick them" in app.warning[0].value
    app.selectbox(key="home_map_rating").set_value(3)
    app.selectbox(key="home_map_timestamp").set_value(2).run()
    no_exception(app)
    assert not app.error
    assert metric(app, "Ratings") == "3"
    assert metric(app, "Rating scale") == "3 to 5"


def test_dataset_survives_switching_pages():
    app = upload(home(), "toy.csv", TOY)
    app.switch_page("pages/1_Train.py").run()
    no_exception(app)
    assert "toy.csv" in app.caption[0].value
    app.switch_page("Home.py").run()
    no_exception(app)
    assert app.radio(key="home_source").value == "Upload a file"
    assert metric(app, "Ratings") == "50"
