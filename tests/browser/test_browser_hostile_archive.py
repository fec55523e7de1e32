"""Real browser: a MovieLens-shaped archive whose file name, user ids, item ids, titles and genres are
Markdown, HTML, links, images, LaTeX, colour directives, icons, SVG, bidi characters, CR/LF newlines and a
5,000-character title (tests/hostile.py) is loaded and shown on every page: Home, Train (a run and its
table), Speed (a timing run), Update rule (the dataset's slice: heatmaps and steps), Error schedules (the
race and its table), Tune (a search of each model: rating MF, BPR, ALS) and every tab of Explore (both
maps); then the same data as a ratings file with a separate items file (titles), and a model file
trained on it uploaded to Explore. In every state the page holds no element the data made (a link,
image, bold, emphasis, coloured or styled span, heading, list item, code, formula, SVG link or styled
SVG text whose text is a payload's token without the payload's own characters around it), no Markdown
block in which a token stands without its whole payload (the text was read as markup: an emoji, an
icon, a directive), no link or source pointing at the payloads' host or at ``javascript:``, and the
browser asked for nothing outside 127.0.0.1. Screenshots: test-artifacts/hostile-*.png."""

from __future__ import annotations

import contextlib
import io
import re
import zipfile
from urllib.parse import urlsplit

from conftest import ARTIFACTS, choose, full_page_screenshot, no_exception, start_when_asked, wait_idle
from hostile import EVIL, hostile_archive

CREATED = """(tokens) => {
    // drop word joiners and backslashes, one space for any run of white space
    const plain = text => text.replace(/[\\u2060\\\\]/g, '').replace(/\\s+/g, ' ');
    const count = (text, part) => part ? text.split(part).length - 1 : 0;
    const selector = 'a, img, b, strong, em, i, u, s, del, ins, code, mark, sup, sub, h1, h2, h3, h4, h5, h6, '
        + 'li, blockquote, pre, span, .katex, svg a, svg image, tspan[style], iframe, video, audio, source, '
        + 'object, embed, script, style, details, summary, form, input, textarea, select';
    const found = [];
    for (const element of document.querySelectorAll(selector)) {
        const text = plain(element.textContent || '');
        const attributes = ['href', 'src', 'srcset', 'alt', 'title', 'xlink:href', 'style', 'data', 'onerror',
                            'onload', 'onclick', 'action', 'formaction', 'poster']
            .map(name => element.getAttribute(name) || '').join(' ');
        for (const [token, payload] of Object.entries(tokens)) {
            if ((text.includes(token) && !text.includes(plain(payload))) || attributes.includes(token)) {
                found.push(element.tagName + ' ' + token + ': ' + text.slice(0, 120));
                break;
            }
        }
        if (attributes.includes('""" + EVIL + """')) found.push(element.tagName + ' points at the host: ' + attributes);
        if (/^\\s*javascript:/i.test(element.getAttribute('href') || '')) {
            found.push(element.tagName + ' javascript: link');
        }
        const heading = element.tagName === 'A' && element.closest('h1, h2, h3, h4, h5, h6');
        if (heading && Object.keys(tokens).some(token => plain(heading.textContent).includes(token))) {
            found.push('A link to a heading made from the data: ' + (element.getAttribute('href') || '').slice(0, 80));
        }
    }
    for (const block of document.querySelectorAll('[data-testid="stMarkdownContainer"]')) {
        const text = plain(block.textContent || '');
        for (const [token, payload] of Object.entries(tokens)) {
            if (count(text, token) > count(text, plain(payload)) * count(plain(payload), token)) {
                found.push('Markdown read from the data ' + token + ': ' + text.slice(0, 120));
            }
        }
    }
    return found;
}"""
"""Elements the data created, and Markdown blocks whose text the data changed: each one's tag, the token and
its text (empty when the page is clean)."""

ADDRESSES = """() => Array.from(document.querySelectorAll('[href], [src], [srcset], [data]'))
    .map(element => element.getAttribute('href') || element.getAttribute('src') || element.getAttribute('srcset')
         || element.getAttribute('data'))"""


def local(url: str) -> bool:
    """Whether ``url`` stays on this machine (or in the page: data:, blob:, a fragment or a relative path)."""
    parts = urlsplit(url)
    return parts.scheme in ("", "data", "blob", "about") or parts.hostname in ("127.0.0.1", "localhost")


def clean(page, tokens: dict[str, str], where: str) -> None:
    """Nothing on ``page`` came from the data, no address on it leaves the host or runs script, no exception
    shown."""
    wait_idle(page)
    no_exception(page)
    created = page.evaluate(CREATED, tokens)
    assert not created, (where, created)
    outside = [address for address in page.evaluate(ADDRESSES) if address and not local(address)]
    assert all(EVIL not in address and not address.lower().lstrip().startswith("javascript:")
               for address in outside), (where, outside)


def open_page(page, name: str, ready: str | re.Pattern) -> None:
    """Open page ``name`` from the sidebar (the session keeps its dataset) and wait for ``ready``."""
    page.locator('[data-testid="stSidebarNav"] a', has_text=name).click()
    page.get_by_text(ready).first.wait_for(timeout=60_000)
    wait_idle(page)


@contextlib.contextmanager
def recorded(chromium, failed: str):
    """A page of a new browser context whose every request (and websocket) is recorded, requests that would
    leave the host aborted; on leaving, the page must have asked for nothing outside the host (a failure
    leaves the screenshot ``failed``)."""
    requested: list[str] = []
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})

    def route(request_route):
        requested.append(request_route.request.url)
        if local(request_route.request.url):
            request_route.continue_()
        else:
            request_route.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.on("websocket", lambda socket: requested.append(socket.url))
    try:
        yield page
    except Exception:
        page.screenshot(path=str(ARTIFACTS / failed), full_page=True)
        raise
    finally:
        context.close()
    outside = sorted({url for url in requested if not local(url)})
    assert not outside, outside
    assert any("127.0.0.1" in url for url in requested)  # the recording saw the page's own requests


def tune(page, tokens: dict[str, str], model: str, trials: int, ranges: dict[str, str]) -> None:
    """A search of ``trials`` trials (a number no search before showed) of ``model`` (its radio label) with the
    cheap ``ranges`` (input label: value)."""
    page.locator('[data-testid="stRadio"]', has_text="Model to tune").get_by_text(model).click()
    page.wait_for_function("() => { const k = document.querySelectorAll(\"input[aria-label='Factors K (log): high']\");"
                           " return k.length === 1 && k[0].value === '256'; }")  # the model's own form, at its defaults
    wait_idle(page)
    page.get_by_label("Trials or seconds").fill(str(trials))
    for label, value in ranges.items():
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_role("button", name="Start search").click()
    start_when_asked(page, page.get_by_text(re.compile(rf"Search finished: {trials} trials")), timeout=180_000)
    page.get_by_text("Best configuration on the test set").wait_for(timeout=60_000)
    clean(page, tokens, f"Tune {model}")


def test_a_hostile_archive_on_every_page_creates_no_element_and_no_request(streamlit_server, _chromium):
    name, raw, tokens = hostile_archive()
    with recorded(_chromium, "failed-hostile-archive.png") as page:
        page.goto(streamlit_server)
        page.get_by_text("Dataset in use: bundled sample").wait_for()
        page.get_by_text("Upload a file").click()
        page.locator('input[type="file"]').first.set_input_files(
            {"name": name, "mimeType": "application/zip", "buffer": raw})
        page.get_by_text("Titles from movies.csv: 40 of 40 items matched.").wait_for(timeout=60_000)
        page.get_by_text("First rows").click()
        clean(page, tokens, "Home")
        assert page.get_by_text("T500Q").count() >= 1  # the file name is shown, as text
        full_page_screenshot(page, "hostile-home.png")

        open_page(page, "Train", "Stop training")
        page.get_by_role("button", name="Train", exact=True).click()
        page.get_by_text("Runs in this session").wait_for(timeout=120_000)
        page.get_by_text(re.compile(r"run 1: epoch (\d+)/\1")).wait_for(timeout=120_000)
        clean(page, tokens, "Train")
        assert page.get_by_text("T500Q").count() >= 1  # the file name shown on Train, as text
        full_page_screenshot(page, "hostile-train.png")

        open_page(page, "Speed", "Time engines")
        page.get_by_role("spinbutton", name="Time budget per engine (s)").fill("0.1")
        page.get_by_role("button", name="Time engines").click()
        start_when_asked(page, page.get_by_text("Correctness check"), timeout=120_000)
        clean(page, tokens, "Speed")
        full_page_screenshot(page, "hostile-speed.png")

        open_page(page, "Update rule", "Next update")
        page.get_by_text("Slice of the loaded dataset").click()
        wait_idle(page)
        for button in ("Next update", "Next update", "Next BPR step"):
            page.get_by_role("button", name=button).click()
            wait_idle(page)
        page.get_by_text(re.compile(r"^Step 2 \(epoch 1")).wait_for()
        assert page.locator(".js-plotly-plot").count() == 4
        assert "T1" in page.locator(".js-plotly-plot").nth(1).inner_text()  # titles label the heatmap's columns
        clean(page, tokens, "Update rule")
        full_page_screenshot(page, "hostile-update-rule.png")

        open_page(page, "Error schedules", "Run all four schedules")
        page.get_by_role("button", name="Run all four schedules").click()
        page.get_by_text("Per second:").wait_for(timeout=120_000)
        clean(page, tokens, "Error schedules")
        assert "T500Q" in page.locator('[data-testid="stTable"]').last.inner_text()
        full_page_screenshot(page, "hostile-error-schedules.png")

        open_page(page, "Tune", "Start search")
        page.get_by_label("Trials or seconds").fill("4")
        page.get_by_label("Max epochs: high").fill("12")  # cheap trials
        page.get_by_label("Factors K (log): high").fill("16")
        page.get_by_role("button", name="Start search").click()
        page.get_by_text(re.compile(r"Search finished: 4 trials")).wait_for(timeout=180_000)
        page.get_by_text("Best configuration on the test set").wait_for(timeout=60_000)
        clean(page, tokens, "Tune")
        full_page_screenshot(page, "hostile-tune.png")
        cheap = {"Factors K (log): high": "16", "Max epochs: low": "2", "Max epochs: high": "3"}
        tune(page, tokens, "BPR", 2, cheap)
        tune(page, tokens, "implicit ALS", 3, cheap)
        full_page_screenshot(page, "hostile-tune-als.png")

        open_page(page, "Explore", "Rated by user")
        clean(page, tokens, "Explore: recommendations")
        full_page_screenshot(page, "hostile-explore-recommendations.png")
        if not page.get_by_role("button", name="Train BPR").is_visible():  # the expander opens by itself
            page.get_by_text("Ranking models on the same training ratings").click()
        page.get_by_role("spinbutton", name="Epochs").fill("5")
        page.get_by_role("button", name="Train BPR").click()
        page.get_by_text(re.compile(r"^BPR: K = ")).wait_for(timeout=180_000)
        for tab in ("Side by side", "Similar items", "Map", "Ranking metrics"):
            page.get_by_role("tab", name=tab).click()
            wait_idle(page)
            if tab == "Map":
                colour_by = page.locator('[data-testid="stRadio"]', has_text="Colour by")
                colour_by.get_by_text("main genre", exact=True).click()
                page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length > 0 && "
                                       "Array.from(document.querySelectorAll('.js-plotly-plot'))"
                                       ".some(plot => plot.offsetParent !== null && plot.data.length > 2)")
                choose(page, "Show the neighbours of (or click a point)", "line two")
                page.get_by_text(re.compile(r"\(cosine of all \d+ factors\):")).wait_for()
                clean(page, tokens, "Explore: map of items")
                page.locator('[data-testid="stRadio"]', has_text="Map of").get_by_text("users", exact=True).click()
                page.get_by_text("Users have no genre, so whether groups on this map mean anything").wait_for()
                wait_idle(page)
                choose(page, "Show the neighbours of (or click a point)", "u1")
                page.get_by_text(re.compile(r"\(cosine of all \d+ factors\):")).wait_for()
                full_page_screenshot(page, "hostile-explore-map-users.png")
            clean(page, tokens, f"Explore: {tab}")
            full_page_screenshot(page, f"hostile-explore-{tab.lower().replace(' ', '-')}.png")
        assert "T1" in page.locator('[data-testid="stTable"]').first.inner_text()  # titles side by side
        page.get_by_role("tab", name="Your ratings").click()
        page.get_by_role("button", name="Add rating").click()
        page.get_by_text("Your top 10, model by model").wait_for()
        clean(page, tokens, "Explore: your ratings")
        full_page_screenshot(page, "hostile-explore-your-ratings.png")


def hostile_model_file(raw: bytes) -> bytes:
    """A model file (.npz with its ratings and titles) trained on the hostile archive ``raw``."""
    from dashboard.server import datasets
    from mfcore import SGDFactorizer, explore, random_split
    from mfcore.models.persist import model_bytes

    ratings = datasets.load("hostile.zip", "hostile.zip", raw).ratings
    train, test = random_split(ratings, 0.2, seed=0)
    model = SGDFactorizer(n_factors=4, n_epochs=3, engine="numpy").fit(train, test)
    return model_bytes(model, train, test, explore.ratings_items(ratings))


def test_a_hostile_items_file_and_model_file_create_no_element_and_no_request(streamlit_server, _chromium):
    """The archive's ratings.csv with its movies.csv as the separate items file (titles), then a model file
    trained on them uploaded to Explore under a hostile name."""
    name, raw, tokens = hostile_archive()
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        ratings, items = archive.read("ml-hostile/ratings.csv"), archive.read("ml-hostile/movies.csv")
    model = hostile_model_file(raw)
    with recorded(_chromium, "failed-hostile-model-file.png") as page:
        page.goto(streamlit_server)
        page.get_by_text("Dataset in use: bundled sample").wait_for()
        page.get_by_text("Upload a file").click()
        files = page.locator('input[type="file"]')
        files.nth(1).set_input_files({"name": name.replace(".zip", ".csv"), "mimeType": "text/csv", "buffer": items})
        # the titles' upload reruns the page: the ratings go in once its file is held and the rerun is over
        page.locator('[data-testid="stFileChip"]').first.wait_for()
        page.locator('[data-testid="stFileChipIconSpinner"]').first.wait_for(state="detached")
        wait_idle(page)
        files.nth(0).set_input_files({"name": name.replace(".zip", "-ratings.csv"), "mimeType": "text/csv",
                                      "buffer": ratings})
        page.get_by_text(re.compile(r"^Titles from .*: 40 of 40 items matched")).wait_for(timeout=60_000)
        clean(page, tokens, "Home with an items file")
        full_page_screenshot(page, "hostile-home-items-file.png")

        open_page(page, "Explore", "Upload a model file")
        page.locator('[data-testid="stRadio"]').get_by_text("Upload a model file", exact=True).click()
        page.locator('input[type="file"]').set_input_files(
            {"name": name.replace(".zip", ".npz"), "mimeType": "application/octet-stream", "buffer": model})
        page.get_by_text(re.compile(r"K = 4, 30 users")).wait_for(timeout=60_000)
        page.get_by_text("Rated by user").first.wait_for()
        clean(page, tokens, "Explore with a model file")
        for tab in ("Side by side", "Similar items", "Map"):
            page.get_by_role("tab", name=tab).click()
            clean(page, tokens, f"Explore with a model file: {tab}")
        full_page_screenshot(page, "hostile-explore-model-file.png")


def test_the_check_finds_an_element_the_data_made_and_passes_the_same_text_shown_literally(browser_page):
    page = browser_page
    tokens = {"T001Q": "<b>T001Q</b>", "T002Q": "[T002Q](https://" + EVIL + "/x)", "T003Q": "**T003Q**"}
    page.set_content("<h3>Dataset <span>&lt;b&gt;T001Q&lt;/b&gt;</span></h3><p><b>T001Q</b></p>"
                     "<p><strong>user **T003Q**</strong></p><p>[T002Q](https:\u2060//" + EVIL + "/x)</p>"
                     "<svg><a href='https://" + EVIL + "/y'><text>link</text></a></svg>")
    found = page.evaluate(CREATED, tokens)
    assert len(found) == 2 and found[0] == "B T001Q: T001Q", found  # the bold the data made, not the literal ones
    assert found[1].lower().startswith("a points at the host: https://" + EVIL + "/y"), found  # an SVG <a>
