"""Real browser on MovieLens 100K with titles and genres (skipped when absent): train ALS, EASE and
item-kNN on Train (the item-item models fit in one step), open Explore on the ALS run (EASE and item-kNN
join it), rate the animated films at 5 stars on "Your ratings" and read every model's top 10 side by
side, the two numbers under each list and the reading of which model personalises most; then measure
the ranking models on new users. ML-100K ends in April 1998, so A Bug's Life (November 1998) is not in
it: the four others are rated. Full-page screenshots: test-artifacts/item-models-train.png,
item-models-your-ratings.png, item-models-side-by-side.png and item-models-new-users.png."""

import re

import pytest
from mfcore.models.params import ALS_PARAMETERS
from conftest import TABLE_TEXT, full_page_screenshot, no_exception, rate_items, start_when_asked, wait_idle, wait_rows

ANIMATED = ("Toy Story (1995)", "Aladdin (1992)", "Lion King, The (1994)", "Beauty and the Beast (1991)",
            "Bug's Life, A (1998)")
KINDS = (("ALS", "implicit ALS (ranking; NDCG@10 curve)"), ("EASE", "EASE (ranking; one closed-form step)"),
         ("item-kNN", "item-kNN (ranking; one step)"))


@pytest.fixture
def ml100k_items(ml100k_path):
    return ml100k_path.parent / "u.item"


def upload_ml100k(page, server, data, items) -> None:
    page.goto(server)
    page.get_by_text("Upload a file").click()
    page.locator('input[type="file"]').nth(1).set_input_files(str(items))  # titles first: no load yet
    wait_idle(page)
    page.locator('input[type="file"]').nth(0).set_input_files(str(data))
    page.get_by_text(re.compile(r"Dataset in use: u\.data \+ u\.item")).wait_for(timeout=60_000)
    wait_idle(page)


def train_each_kind(page) -> None:
    epochs = ALS_PARAMETERS["n_epochs"].default
    for number, (name, label) in enumerate(KINDS, start=1):
        page.get_by_text(label).click()
        page.get_by_text(f"{name} learns from positives").wait_for()
        wait_idle(page)
        page.get_by_role("button", name="Train", exact=True).click()
        done = (rf"run {number}: epoch {epochs}/{epochs}, .*test NDCG@10 0\.\d{{4}}" if name == "ALS" else
                rf"run {number}: {name} fitted in one step, test NDCG@10 0\.\d{{4}}, recall@10 0\.\d{{4}}")
        start_when_asked(page, page.get_by_text(re.compile(done)), timeout=300_000)
        wait_idle(page)
        no_exception(page)
    wait_rows(page, 3)
    rows = page.evaluate("() => Array.from(document.querySelectorAll('[data-testid=stTable] tbody tr'))"
                         ".map(row => Array.from(row.querySelectorAll('td, th')).map(c => c.innerText))")
    assert [row[1] for row in rows] == ["ALS", "EASE", "item-kNN"]
    assert [row[3] for row in rows] == [f"{epochs}/{epochs}", "one step", "one step"]
    traces = page.evaluate("() => document.querySelector('.js-plotly-plot').data.map(t => t.name)")
    assert [re.sub(r" [\d.]+$", "", name) for name in traces] == [
        "run 1 (ALS) test NDCG", "run 2 (EASE, one step, no epochs) test NDCG",
        "run 3 (item-kNN, one step, no epochs) test NDCG"]
    full_page_screenshot(page, "item-models-train.png")


def numbers_and_reading(page, table_index: int, whose: str) -> tuple[list, str]:
    """The counts under the lists (``table_index``: that table among the open tab's) and the reading
    above them; checks that the reading names the list(s) with the largest genre count minus most-rated
    count and quotes their numbers."""
    page.wait_for_function(f"() => ({TABLE_TEXT})({table_index}).length == 4")
    numbers = page.evaluate(TABLE_TEXT, table_index)
    reading = page.locator("[data-testid=stMarkdownContainer]",  # the whole paragraph, not its bold start
                           has_text=re.compile(rf"personalises? most for {whose}")).last.inner_text()
    counts = {row[0]: (int(row[1].split(" of ")[0]), int(row[2].split(" of ")[0])) for row in numbers}
    models = {name: genre - popular for name, (popular, genre) in counts.items() if name != "popularity"}
    best = [name for name, score in models.items() if score == max(models.values())]
    assert reading.startswith(" and ".join(best) if len(best) <= 2 else ", ".join(best[:-1]) + " and " + best[-1])
    for name, (popular, genre) in counts.items():
        if name != "popularity":
            assert f"{name} {genre} − {popular} = {genre - popular:+d}" in reading
    return numbers, reading


def test_item_models_beside_als_for_a_visitor_who_likes_animation(streamlit_server, browser_page, ml100k_path,
                                                                   ml100k_items):
    page = browser_page
    titles = ml100k_items.read_bytes().decode("latin-1")
    present = [title for title in ANIMATED if f"|{title}|" in titles]
    assert present == list(ANIMATED[:4])  # A Bug's Life came out after ML-100K's last rating
    upload_ml100k(page, streamlit_server, ml100k_path, ml100k_items)
    page.locator('[data-testid="stSidebarNav"] a', has_text="Train").click()
    page.get_by_text("Model", exact=True).first.wait_for()
    wait_idle(page)
    train_each_kind(page)

    page.locator('[data-testid="stSidebarNav"] a', has_text="Explore").click()
    page.get_by_text("Rated by user").first.wait_for(timeout=120_000)
    wait_idle(page)
    page.get_by_text(re.compile(r"^EASE: Regularization λ [\d.]+, one step \(no epochs\)")).wait_for()
    page.get_by_text(re.compile(r"^item-kNN: Neighbours k \d+, Shrinkage h [\d.]+, one step")).wait_for()

    rate_items(page, present)
    page.wait_for_function(f"() => ({TABLE_TEXT})(0).length == {len(present)} && ({TABLE_TEXT})(1).length == 10")
    mine = page.evaluate(TABLE_TEXT, 0)
    assert sorted(row[1] for row in mine) == sorted(present) and all(row[0] == "5.0" or row[0] == "5" for row in mine)
    lists = page.evaluate(TABLE_TEXT, 1)
    headers = page.evaluate("() => Array.from(Array.from(document.querySelectorAll('[data-testid=stTable]'))"
                            ".filter(t => t.offsetParent !== null)[1].querySelectorAll('thead th'))"
                            ".map(c => c.innerText)")
    assert headers[1:] == ["ALS (run 1)", "EASE", "item-kNN", "popularity"]
    assert all(len(row) == 5 and all(cell.strip() for cell in row) for row in lists)
    rated = {title for title in present}
    assert not {cell.rsplit(" (", 1)[0] for row in lists for cell in row[1:]} & {t.rsplit(" (", 1)[0] for t in rated}
    numbers, reading = numbers_and_reading(page, 2, "you")
    assert [row[0] for row in numbers] == ["ALS (run 1)", "EASE", "item-kNN", "popularity"]
    full_page_screenshot(page, "item-models-your-ratings.png")

    page.get_by_role("tab", name="Side by side").click()
    page.get_by_text(re.compile(r"Top 10 for user \S+, model by model")).wait_for()
    page.wait_for_function(f"() => ({TABLE_TEXT})(0).length == 10")
    numbers_and_reading(page, 1, r"user \S+")
    full_page_screenshot(page, "item-models-side-by-side.png")

    page.get_by_role("tab", name="Ranking metrics").click()
    page.get_by_text(re.compile(r"ranks best: NDCG@10 \d\.\d{3}")).first.wait_for(timeout=120_000)
    wait_idle(page)
    page.get_by_role("button", name="Measure on new users too").click()
    start_when_asked(page, page.get_by_text(re.compile(r"^For new users, .+ ranks best: NDCG@10 \d\.\d{3} on "
                                                       r"[\d,]+ held-out users")), timeout=300_000)
    wait_idle(page)
    no_exception(page)
    bars = page.evaluate("() => Array.from(document.querySelectorAll('.js-plotly-plot'))"
                         ".filter(p => p.offsetParent !== null && p.layout.title.text.includes('new users'))"
                         ".map(p => p.data.map(t => [t.name, t.x, t.y]))[0]")
    assert [bar[0] for bar in bars] == ["standard: test ratings of known users", "new users: folded in"]
    assert bars[1][1] == ["ALS (run 1)", "EASE", "item-kNN", "popularity"]
    fresh = dict(zip(bars[1][1], bars[1][2]))
    best = max(fresh, key=fresh.get)
    said = page.get_by_text(re.compile(r"^For new users")).first.inner_text()
    assert said.startswith(f"For new users, {best} ranks best: NDCG@10 {fresh[best]:.3f}")
    full_page_screenshot(page, "item-models-new-users.png")
