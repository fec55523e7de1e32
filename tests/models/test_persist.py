"""Model files: load(save(model)) predicts identically, bundles survive, bad files get one clear error."""

import io
import json
import re

import numpy as np
import pandas as pd
import pytest
from paths import ROOT

from mfcore import SGDFactorizer, from_arrays, load_ratings, random_split
from mfcore.models.persist import ModelFileError, load_bundle, load_model, model_bytes, save_model


@pytest.fixture(scope="module")
def toy():
    ratings = load_ratings(ROOT / "sample_data" / "toy.csv")
    train, test = random_split(ratings, 0.2, seed=1)
    return SGDFactorizer(n_factors=3, n_epochs=4, lr=0.02).fit(train, test), train, test


def every_pair(model):
    users = np.repeat(model.user_ids_, len(model.item_ids_))
    items = np.tile(model.item_ids_, len(model.user_ids_))
    return users, items


def test_round_trip_predicts_identically_with_string_ids(toy, tmp_path):
    model, train, test = toy
    path = tmp_path / "model.npz"
    model.save(path)
    loaded = SGDFactorizer.load(path)
    users, items = every_pair(model)
    assert np.array_equal(model.predict(users, items), loaded.predict(users, items))
    assert np.array_equal(model.predict(users, items, clip=False), loaded.predict(users, items, clip=False))
    assert loaded.predict("Ana", "Glass Empire (1987)") == model.predict("Ana", "Glass Empire (1987)")
    for user in model.user_ids_:
        pd.testing.assert_frame_equal(model.recommend(user, 5), loaded.recommend(user, 5))
    assert loaded.get_params() == model.get_params()
    assert loaded.history_ == model.history_ and loaded.scale_ == model.scale_
    assert list(loaded.user_ids_) == list(model.user_ids_) and loaded.user_ids_.dtype == object
    assert loaded.n_train_ratings_ == len(train) and loaded.lr_ == model.lr_
    assert loaded.evaluate(test) == model.evaluate(test)


def test_round_trip_with_integer_ids_and_an_unbiased_model():
    rng = np.random.default_rng(0)
    users, items = rng.integers(100, 140, 600), rng.integers(7000, 7050, 600)
    ratings = from_arrays(users, items, rng.integers(1, 6, 600).astype(float))
    model = SGDFactorizer(n_factors=5, n_epochs=3, biased=False, engine="numpy").fit(ratings)
    loaded = load_model(model_bytes(model))
    all_users, all_items = every_pair(model)
    assert loaded.user_ids_.dtype.kind == "i" and not loaded.biased
    assert np.array_equal(model.predict(all_users, all_items), loaded.predict(all_users, all_items))
    pd.testing.assert_frame_equal(model.recommend(int(users[0]), 7), loaded.recommend(int(users[0]), 7))


def test_a_bundle_keeps_train_test_and_titles(toy):
    model, train, test = toy
    items = pd.DataFrame({"title": [f"T{n}" for n in range(len(model.item_ids_))], "genres": "Drama"},
                         index=model.item_ids_[::-1])
    bundle = load_bundle(model_bytes(model, train, test, items))
    assert np.array_equal(bundle.train.values, train.values) and np.array_equal(bundle.test.items, test.items)
    assert bundle.items.loc[model.item_ids_[-1], "title"] == "T0"
    plain = load_bundle(model_bytes(model))
    assert plain.train is None and plain.test is None and plain.items is None


def test_a_model_file_reads_from_a_path_bytes_or_an_open_file(toy, tmp_path):
    model, _, _ = toy
    path = tmp_path / "model.npz"
    save_model(model, path)
    with path.open("rb") as handle:
        from_handle = load_model(handle)
    for loaded in (load_model(path), load_model(path.read_bytes()), load_model(io.BytesIO(path.read_bytes())),
                   from_handle):
        np.testing.assert_array_equal(loaded.P_, model.P_)


def test_the_file_is_plain_arrays_and_json(toy, tmp_path):
    model, train, _ = toy
    path = tmp_path / "model.npz"
    save_model(model, path, train)
    with np.load(path, allow_pickle=False) as archive:
        assert all(archive[name].dtype != object for name in archive.files)
        meta = json.loads(archive["meta"].tobytes())
    assert meta["format"] == "mfcore-model" and meta["params"]["n_factors"] == 3
    assert [row["epoch"] for row in meta["history"]] == [1, 2, 3, 4]


def bad_files(model_file: bytes) -> dict:
    npy, other = io.BytesIO(), io.BytesIO()
    np.save(npy, np.arange(3))
    np.savez(other, P=np.zeros((2, 2)))
    altered = io.BytesIO()
    with np.load(io.BytesIO(model_file)) as archive:
        arrays = {name: archive[name] for name in archive.files}
    meta = json.loads(arrays["meta"].tobytes())
    meta["version"] = 99
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    np.savez(altered, **arrays)
    wrong_shape = io.BytesIO()
    np.savez(wrong_shape, **{**arrays, "meta": np.frombuffer(json.dumps({**meta, "version": 1}).encode(),
                                                              np.uint8), "bu": np.zeros(1, np.float32)})
    return {
        "text": (b"user,item,rating\n1,2,3\n", "neither a zip archive nor a NumPy array"),
        "half": (model_file[: len(model_file) // 2], "truncated"),
        "tail cut": (model_file[:-20], "truncated"),
        "single array": (npy.getvalue(), "single NumPy array"),
        "other npz": (other.getvalue(), "not an mfcore model"),
        "future version": (altered.getvalue(), "version 99"),
        "inconsistent": (wrong_shape.getvalue(), "inconsistent"),
    }


@pytest.mark.parametrize("case", ["text", "half", "tail cut", "single array", "other npz",
                                  "future version", "inconsistent"])
def test_a_file_that_is_not_a_model_gives_one_clear_error(toy, tmp_path, case):
    model, train, test = toy
    content, expected = bad_files(model_bytes(model, train, test))[case]
    path = tmp_path / "bad.npz"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match=expected) as error:
        load_model(path)
    assert "\n" not in str(error.value) and "bad.npz" in str(error.value)
    with pytest.raises(ModelFileError, match=expected):
        load_model(content)


def test_a_missing_file_and_an_unfitted_model(tmp_path):
    with pytest.raises(ModelFileError, match="no such file"):
        load_model(tmp_path / "absent.npz")
    with pytest.raises(RuntimeError, match="not fitted"):
        SGDFactorizer().save(tmp_path / "x.npz")


def test_no_pickle_anywhere():
    """Neither the library, the dashboard, the pages, the home page, the tests nor the benchmarks use
    pickle."""
    word = "pick" + "le"  # spelled in two so that a grep of the repository does not find this test
    pattern = re.compile(rf"import {word}\b|from {word}\b|allow_{word}\s*=\s*True|cloud{word}|joblib\.load")
    offenders = [str(path.relative_to(ROOT)) for folder in ("mfcore", "dashboard", "pages", "tests", "benchmarks")
                 for path in (ROOT / folder).rglob("*.py")
                 if pattern.search(path.read_text())]
    offenders += [path.name for path in ROOT.glob("*.py") if pattern.search(path.read_text())]
    assert offenders == []
