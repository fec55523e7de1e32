"""Real browser: a search belongs to the session that started it. A second browser context holding only
its ``?study=`` link watches it (trials, best settings) but cannot stop it: the Stop button is disabled
there, and pressing Start there starts a search of its own without touching the first; the owner still
stops it. (A reload is a new browser session, so it watches too, as a reload's runs are read-only.)"""

import re

from conftest import fresh_page, full_page_screenshot, no_exception, start_when_asked, wait_idle

RUNNING = re.compile(r"Search running: (\d+) trials")


def trials_running(page) -> int:
    page.get_by_text(RUNNING).wait_for(timeout=60_000)
    return int(RUNNING.search(page.get_by_text(RUNNING).inner_text()).group(1))


def test_a_second_context_with_only_the_link_cannot_stop_the_search(streamlit_server, browser_page, _chromium):
    owner = browser_page
    owner.goto(f"{streamlit_server}/Tune")
    owner.get_by_text("Dataset: bundled sample").wait_for()
    owner.get_by_label("Trials or seconds").fill("2000")
    owner.get_by_label("Max epochs: high").fill("20")
    owner.get_by_label("Factors K (log): high").fill("16")
    owner.get_by_role("button", name="Start search").click()
    start_when_asked(owner, owner.get_by_text(RUNNING))  # 2,000 trials are long work: the page asks first
    owner.wait_for_function("() => /study=session-[0-9a-f]{12}/.test(location.href)")
    link = owner.url
    trials_running(owner)

    with fresh_page(_chromium, 60_000) as visitor:  # only the link: another browser session
        visitor.goto(link)
        visitor.get_by_text("This search was started in another session").wait_for()
        stop = visitor.get_by_role("button", name="Stop search")
        assert stop.is_disabled()
        stop.click(force=True)  # a click on the disabled button does nothing
        before = trials_running(visitor)
        no_exception(visitor)
        full_page_screenshot(visitor, "tune-visitor.png")
        visitor.get_by_label("Trials or seconds").fill("1")
        visitor.get_by_label("Trials or seconds").fill("1")
        visitor.get_by_role("button", name="Start search").click()  # the visitor's own search, queued
        visitor.wait_for_function(f"() => !location.href.includes('{link.split('study=')[1][:20]}')")
        visitor.goto(link)  # back to the owner's search: still running, with more trials
        visitor.get_by_text("This search was started in another session").wait_for()
        visitor.wait_for_function(
            f"() => {{ const m = document.body.innerText.match(/Search running: (\\d+) trials/); "
            f"return m && Number(m[1]) > {before}; }}", timeout=120_000)
        assert visitor.get_by_role("button", name="Stop search").is_disabled()

    assert trials_running(owner) > before  # the owner's page, followed all along
    owner_stop = owner.get_by_role("button", name="Stop search")
    assert owner_stop.is_enabled()
    owner_stop.click()
    owner.get_by_text(re.compile(r"Search stopped: \d+ trials")).wait_for(timeout=120_000)
    wait_idle(owner)
    no_exception(owner)
