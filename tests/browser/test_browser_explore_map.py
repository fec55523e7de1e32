"""Real browser on MovieLens 100K with titles and genres (skipped when absent): the rating model from
Train, BPR and ALS from Explore, then the Map tab. It opens on the model whose item factors hold the
most genre (the numbers in its sentence say which), and each map says how much genre it shows,
measured on the map drawn against shuffled genres, in words that agree with its numbers; ten named
colours at most, the rest grey, no IMAX. Full-page screenshots: test-artifacts/explore-map-tsne.png
(the model the map opens on) and explore-map-tsne-rating-model.png."""

import re

from conftest import (full_page_screenshot, no_exception, open_ml100k_with_titles, train_ranking, train_then_explore,
                      wait_idle)

from dashboard.logic.map_views import GENRE_PALETTE, GREYS
from mfcore.explore.embed import CLEAR_LIFT

CHOICE = re.compile(r"^The map opens on (.+?)'s factors, the ones that put the most genre together: .* the share "
                    r"with its main genre is (.+) \((\d+)% with the genres shuffled\)\.$")
MEASURED = re.compile(r"^Of each item's 10 nearest points on this map, (\d+)% share its main genre, against (\d+)% "
                      r"with the genres shuffled among the same points \((\d+\.\d) times as many(; .*)?\): (.*?)\.$")
VISIBLE_PLOT = "() => Array.from(document.querySelectorAll('.js-plotly-plot')).find(p => p.offsetParent !== null)"


def measured_sentence(page) -> tuple[str, re.Match]:
    sentence = page.get_by_text(re.compile(r"^Of each item's 10 nearest points on this map")).inner_text()
    found = MEASURED.match(sentence)
    assert found, sentence
    share, shuffled, lift = int(found[1]), int(found[2]), float(found[3])
    hidden = found[5].endswith("no visible genre structure")
    assert hidden == (found[4] is not None)  # only then does it say how high the shuffles reached
    assert hidden or (share > shuffled and lift >= CLEAR_LIFT)
    return sentence, found


def test_the_map_opens_on_the_most_genre_and_measures_itself_on_ml100k(streamlit_server, browser_page, ml100k_path):
    page = browser_page
    open_ml100k_with_titles(page, streamlit_server, ml100k_path)
    page.locator('[data-testid="stSidebarNav"] a', has_text="Train").click()
    train_then_explore(page)
    train_ranking(page, "BPR")
    train_ranking(page, "ALS")

    page.get_by_role("tab", name="Map").click()
    page.locator('[data-testid="stRadio"]', has_text="Layout").get_by_text("t-SNE", exact=True).click()
    choice = page.get_by_text(re.compile(r"^The map opens on .+'s factors"))
    choice.wait_for(timeout=120_000)
    page.get_by_text(re.compile(r"item factors, t-SNE: nearby points")).wait_for(timeout=120_000)
    wait_idle(page)
    no_exception(page)
    opened = CHOICE.match(choice.inner_text())
    assert opened, choice.inner_text()
    shares = {name: int(share) for name, share in re.findall(r"(rating model|BPR|ALS) (\d+)%", opened[2])}
    assert set(shares) == {"rating model", "BPR", "ALS"} and shares[opened[1]] == max(shares.values())
    radio = page.locator('[data-testid="stRadio"]', has_text="Factors of")
    assert radio.locator("input:checked").evaluate("input => input.closest('label').innerText") == opened[1]
    title = opened[1][0].upper() + opened[1][1:]  # the figure's title starts with a capital
    page.get_by_text(re.compile(rf"^{re.escape(title)}: item factors, t-SNE")).wait_for()
    measured_sentence(page)

    legend = page.evaluate(f"() => ({VISIBLE_PLOT})().data.map(t => [t.name, t.marker.color])")
    named = [(name, colour) for name, colour in legend if colour not in GREYS.values() and name != "selected"]
    assert 1 <= len(named) <= len(GENRE_PALETTE) and len({colour for _, colour in named}) == len(named)
    assert not any(name.startswith("IMAX") for name, _ in legend)
    full_page_screenshot(page, "explore-map-tsne.png")

    if opened[1] != "rating model":
        radio.get_by_text("rating model", exact=True).click()
        page.get_by_text(re.compile(r"^Rating model: item factors, t-SNE")).wait_for(timeout=120_000)
        wait_idle(page)
    measured_sentence(page)
    full_page_screenshot(page, "explore-map-tsne-rating-model.png")
