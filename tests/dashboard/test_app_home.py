"""AppTest of the Home page: the sample by default, good and bad uploads, column mapping, page switches."""

from apptest_helpers import BAD, TOY, home, no_exception, plain, upload


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


def movielens_home():
    app = home()
    return app.radio(key="home_source").set_value("MovieLens from GroupLens").run()


def movielens_button(app, name):
    return next(b for b in app.button if b.label.startswith(f"MovieLens {name} ("))


def test_movielens_button_downloads_checks_and_loads_titles_once(monkeypatch, tmp_path, movielens_server,
                                                                 pinned_to_the_generated_archive):
    """A button per name of mfcore.datasets.MOVIELENS; the download (a job) from a loopback server,
    checked, cached and loaded like an upload, titles and genres with it."""
    from mfcore.datasets import MOVIELENS

    url, hits, _ = movielens_server
    monkeypatch.setenv("MFCORE_MOVIELENS_URL", url)
    monkeypatch.setenv("MFCORE_CACHE_DIR", str(tmp_path / "cache"))
    app = movielens_home()
    no_exception(app)
    assert [b.label.split(" (")[0] for b in app.button if b.label.startswith("MovieLens ")] == [
        f"MovieLens {name}" for name in MOVIELENS]
    app = movielens_button(app, "100k").click().run()
    no_exception(app)
    assert not app.error and hits == ["/ml-100k.zip"]
    assert metric(app, "Ratings") == "5" and metric(app, "Items") == "3"
    dataset = app.session_state["dataset"]
    assert dataset.name == "MovieLens 100k (ml-100k.zip)" and dataset.key
    assert list(dataset.ratings.item_titles) == ["Toy Story (1995)", "GoldenEye (1995)", "Four Rooms (1995)"]
    assert "Animation" in dataset.ratings.item_info["genres"].iloc[0]
    assert (tmp_path / "cache" / "datasets" / "ml-100k.zip").is_file()
    app = movielens_button(app, "100k").click().run()  # from the cache: no second request
    assert not app.error and hits == ["/ml-100k.zip"]
    app.switch_page("pages/1_Train.py").run()
    no_exception(app)
    assert "MovieLens 100k" in app.caption[0].value  # every page works on it


def test_movielens_offline_checksum_and_size_are_one_sentence_each(monkeypatch, tmp_path, movielens_server):
    url, _, httpd = movielens_server
    monkeypatch.setenv("MFCORE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("MFCORE_MOVIELENS_URL", url)
    app = movielens_button(movielens_home(), "100k").click().run()  # the real pin: the archive differs
    no_exception(app)
    assert len(app.error) == 1 and "SHA-256 of ml-100k.zip" in app.error[0].value
    httpd.shutdown()
    httpd.server_close()  # nobody answers on that port any more: offline
    app = movielens_button(app, "100k").click().run()
    no_exception(app)
    assert len(app.error) == 1
    message = app.error[0].value
    assert message.startswith("Could not get MovieLens 100k: cannot reach") and "seems to be offline" in message
    assert "\n" not in message and plain(message).endswith("Still using bundled sample (sample_data/ratings.csv).")
    assert metric(app, "Ratings") == "100,000" and not list((tmp_path / "cache" / "datasets").iterdir())
    app = movielens_button(app, "25m").click().run()  # over the upload limit: refused before any request
    assert len(app.error) == 1 and "over this server's limit of" in app.error[0].value
