"""Item metadata: MovieLens items files (movies.csv, u.item, movies.dat) and generic id/title CSVs join
to ratings by item id; a MovieLens-latest-shaped zip brings its titles in one upload."""

import io
import re
import zipfile

import numpy as np
import pandas as pd
import pytest

from mfcore import DataError, load_ratings
from mfcore.cli import main
from mfcore.data.items import load_items
from mfcore.data.synthetic import make_ratings


def movielens_latest_zip(n_users=300, n_items=400, n_ratings=8000, seed=3) -> tuple[bytes, pd.DataFrame]:
    """A zip shaped like ml-latest-small (ratings.csv with half stars, movies.csv whose quoted titles
    hold commas), made from the project's synthetic generator; returns it and the movies table."""
    frame = make_ratings(n_users, n_items, n_ratings, seed=seed)
    rng = np.random.default_rng(seed)
    titles = frame["item"].unique()
    movie_ids = {title: 10 * n + 1 for n, title in enumerate(titles)}  # sparse ids, like MovieLens
    ratings = pd.DataFrame({
        "userId": frame["user"], "movieId": frame["item"].map(movie_ids),
        "rating": frame["rating"] - 0.5 * rng.integers(0, 2, len(frame)),  # 0.5 to 5 stars
        "timestamp": frame["timestamp"]})
    movies = pd.DataFrame({
        "movieId": [movie_ids[t] for t in titles],
        "title": [f"{t.split(' ', 1)[1].rsplit(' (', 1)[0]}, The {t.split(' ', 1)[0]} ({t.rsplit('(', 1)[1]}"
                  for t in titles],
        "genres": rng.choice(["Drama", "Comedy|Romance", "Action|Sci-Fi", "(no genres listed)"], len(titles))})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("ml-latest-small/ratings.csv", ratings.to_csv(index=False))
        archive.writestr("ml-latest-small/movies.csv", movies.to_csv(index=False))
        archive.writestr("ml-latest-small/README.txt", "synthetic")
    return buffer.getvalue(), movies


def test_movielens_latest_zip_loads_in_one_go_with_titles():
    raw, movies = movielens_latest_zip()
    movies_csv = zipfile.ZipFile(io.BytesIO(raw)).read("ml-latest-small/movies.csv")
    assert re.search(rb'\n\d+,"[^"]+, The [^"]+",', movies_csv)  # quoted titles with commas
    ratings = load_ratings(raw)
    assert len(ratings) == 8000 and ratings.scale[0] == 0.5 and (ratings.values % 1 == 0.5).any()
    expected = movies.set_index("movieId")
    assert list(ratings.item_titles) == list(expected.loc[ratings.item_ids, "title"])
    assert all(", The " in title for title in ratings.item_titles)
    assert ratings.summary.items_file == "movies.csv" and ratings.summary.items_matched == ratings.n_items
    genres = ratings.item_info["genres"]
    assert "(no genres listed)" not in set(genres) and "Comedy|Romance" in set(genres)


def test_ml100k_u_item_joins_u_data(ml100k_path):
    ratings = load_ratings(ml100k_path, items=ml100k_path.parent / "u.item")
    assert ratings.summary.items_matched == ratings.n_items == 1682
    first = ratings.item_codes(1)
    assert ratings.item_titles[first] == "Toy Story (1995)"
    assert ratings.item_info["genres"][first] == "Animation|Children's|Comedy"
    assert "é" in "".join(ratings.item_titles)  # Latin-1 titles decoded


def test_ml1m_folder_brings_movies_dat(ml1m_path):
    ratings = load_ratings(ml1m_path.parent)
    assert ratings.summary.items_file.startswith("movies.dat") and ratings.item_info is not None
    assert ratings.item_titles[ratings.item_codes(1)] == "Toy Story (1995)"
    # the shared ratings.dat numbers movies 1..3706; its id map puts Aladdin (MovieID 588) at 575
    assert ratings.item_titles[ratings.item_codes(575)] == "Aladdin (1992)"
    assert (ratings.item_info["title"] != "").sum() >= ratings.n_items - 20


def test_a_folder_item_id_map_translates_the_items_file(tmp_path):
    (tmp_path / "ratings.dat").write_bytes(b"1::1::5\n1::2::4\n2::2::3\n2::3::1\n")
    (tmp_path / "movies.dat").write_bytes(b"10::Heat (1995)::Crime\n20::Up (2009)::Animation\n"
                                          b"30::Alien (1979)::Horror\n")
    (tmp_path / "item_index_to_movieid.tsv").write_bytes(b"item_index\tmovie_id\n1\t10\n2\t30\n3\tNA\n")
    ratings = load_ratings(tmp_path)
    assert list(ratings.item_titles) == ["Heat (1995)", "Alien (1979)", "3"]
    assert "item_index_to_movieid.tsv" in ratings.summary.items_file
    # a file path has no folder map: ids joined as they are (none of 1, 2, 3 is in movies.dat)
    assert list(load_ratings(tmp_path / "ratings.dat", items=tmp_path / "movies.dat").item_titles) == [
        "1", "2", "3"]


@pytest.mark.parametrize("text", [
    b"item_id,name\n10,Heat\n11,Up\n",
    b"id\ttitle\tgenres\n10\tHeat\tCrime\n11\tUp\tAnimation\n",
    b"10::Heat::Crime\n11::Up::Animation\n",
    b"10|Heat|01-Jan-1995||url" + b"|0" * 19 + b"\n11|Up|01-Jan-2009||url|0|0|0|1" + b"|0" * 15 + b"\n",
])
def test_generic_items_files_join_and_unknown_ids_keep_their_id(text):
    ratings = load_ratings(b"user,item,rating\na,10,4\nb,11,3\nb,12,5\n", items=text)
    assert list(ratings.item_titles) == ["Heat", "Up", "12"]
    assert load_items(text).loc[10, "title"] == "Heat"


def test_items_file_problems_are_data_errors():
    for text, message in ((b"a,b\n1,2\n", "cannot tell the item id and title"),
                          (b"id,title\n1,Heat\n1,Up\n", "lists item 1 twice"),
                          (b"id,title\n1,Heat\n2,Up,extra\n", "line 3: expected 2 fields")):
        with pytest.raises(DataError, match=message):
            load_items(text)


def test_cli_takes_items(tmp_path, capsys):
    raw, _ = movielens_latest_zip(n_ratings=2000)
    archive = zipfile.ZipFile(io.BytesIO(raw))
    (tmp_path / "ratings.csv").write_bytes(archive.read("ml-latest-small/ratings.csv"))
    (tmp_path / "movies.csv").write_bytes(archive.read("ml-latest-small/movies.csv"))
    assert main(["train", str(tmp_path / "ratings.csv"), "--items", str(tmp_path / "movies.csv"),
                 "--epochs", "1", "--json"]) == 0
    assert main(["train", str(tmp_path / "ratings.csv"), "--items", str(tmp_path / "nope.csv")]) == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_the_update_rule_slice_keeps_titles():
    from mfcore.teaching import dense_slice

    raw, movies = movielens_latest_zip(n_ratings=3000)
    ratings = load_ratings(raw)
    sliced = dense_slice(ratings)
    titles = movies.set_index("movieId")["title"]
    assert list(sliced.item_titles) == list(titles.loc[sliced.item_ids])
