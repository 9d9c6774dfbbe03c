"""The web UI in Debian's headless chromium: navigation, keyboard use, timeline click -> as-of
view, the diff view, search, phone width, and the XSS proof (archived script never runs).
Screenshots of every test land in test-artifacts/browser/."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.web_fixtures import ARTICLE, HOSTILE

pytestmark = pytest.mark.browser


def q(url: str) -> str:
    return quote(url, safe="")


def not_pwned(pg) -> None:  # type: ignore[no-untyped-def]
    """Nothing archived ran in the app's page: no global set, title untouched, no dialog."""
    assert pg.evaluate("typeof window.__pwned") == "undefined"
    assert pg.evaluate("document.title") != "PWNED"
    assert pg.dialogs == []
    assert pg.url.startswith("http://127.0.0.1")


def test_navigation_from_home_to_a_page(page, server):
    page.goto(server + "/")
    assert page.locator("h1").inner_text() == "Archive"
    page.get_by_role("link", name="www.wisegeek.com").click()
    page.wait_for_url("**/pages?site=www.wisegeek.com")
    page.get_by_role("link", name="Treating Liver Calcification").click()
    page.wait_for_url("**/page?url=*")
    assert page.locator("h1").inner_text() == "Treating Liver Calcification"
    assert page.locator("svg.tl").is_visible()
    # Tabs reach every view of the page.
    page.get_by_role("link", name="Comments", exact=True).click()
    assert page.locator("h1").inner_text().startswith("Comment thread")
    page.get_by_role("link", name="Status").click()
    assert page.locator("h1").inner_text() == "Status"
    assert page.outside == []


def test_keyboard_skip_link_and_timeline(page, server):
    page.goto(f"{server}/page?url={q(ARTICLE)}")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    # Tab through until a timeline band has focus, then open it with Enter.
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('data-revision')") == "r1":
            break
    else:
        pytest.fail("no timeline band reachable with Tab")
    page.keyboard.press("Enter")
    page.wait_for_url("**/page/as-of?*")
    assert page.locator("strong.rev-no").inner_text() == "1"


def test_timeline_click_opens_the_as_of_view(page, server):
    page.goto(f"{server}/page?url={q(ARTICLE)}")
    page.locator('a.band-link[data-revision="r2"]').click()
    page.wait_for_url("**/page/as-of?*")
    assert page.locator("strong.rev-no").inner_text() == "2"
    assert page.locator("h2.archived-title").inner_text() == "Treating Liver Calcification"
    assert page.locator("ol.comments p.ctext").all_inner_texts() == ["@alice-- agreed", "First! (edited)"]
    # Picking a date in the form lands on the revision valid then.
    page.fill("#at", "2019-06-02T18:00:00")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**at=2019-06-02T18*")
    assert page.locator("strong.rev-no").inner_text() == "1"
    # A capture tick opens the as-of view at that fetch.
    page.goto(f"{server}/page?url={q(ARTICLE)}")
    page.locator("a.tick-link").last.click()
    page.wait_for_url("**/page/as-of?*")
    assert page.locator("strong.rev-no").inner_text() == "3"


def test_diff_view(page, server):
    page.goto(f"{server}/page/diff?url={q(ARTICLE)}")
    assert page.locator("h1").inner_text() == "Revision 2 → revision 3"
    page.select_option("select[name=from]", "1")
    page.select_option("select[name=to]", "2")
    page.get_by_role("button", name="Compare").click()
    page.wait_for_url("**from=1&to=2")
    ins = page.locator(".sbs-row.changed ins")
    assert ins.inner_text().strip() == "and on the patient's age"
    bg = ins.evaluate("el => getComputedStyle(el).backgroundColor")
    assert bg not in ("rgba(0, 0, 0, 0)", "transparent")
    assert "Treating" in page.locator("table.meta-diff ins").first.inner_text()
    # Left and right sit side by side on a wide screen.
    left = page.locator(".sbs-row.changed .left").bounding_box()
    right = page.locator(".sbs-row.changed .right").bounding_box()
    assert right["x"] > left["x"] + left["width"] - 2
    assert page.locator("li.edited").count() == 1


def test_search_highlights_hits(page, server):
    page.goto(server + "/")
    page.fill("#q", "calcium")
    page.keyboard.press("Enter")
    page.wait_for_url("**/search?q=calcium")
    assert page.locator("p.snippet mark").first.inner_text().lower().startswith("calcium")


@pytest.mark.parametrize("path", [
    f"/page/as-of?url={q(ARTICLE)}&at=2019-06-03T13:00:00Z",
    f"/page/diff?url={q(ARTICLE)}&from=1&to=2",
    f"/page?url={q(ARTICLE)}",
])
def test_phone_width(browser, server, path, request):
    from tests.browser.conftest import shot_path

    ctx = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    pg = ctx.new_page()
    try:
        pg.goto(server + path)
        overflow = pg.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{overflow}px wider than the phone"
        if "diff" in path:  # the two sides stack on a phone
            left = pg.locator(".sbs-row.changed .left").bounding_box()
            right = pg.locator(".sbs-row.changed .right").bounding_box()
            assert right["y"] >= left["y"] + left["height"] - 1
        pg.screenshot(path=str(shot_path(request.node.name)), full_page=True)
    finally:
        ctx.close()


# ---- the XSS proof -----------------------------------------------------------------------------------

@pytest.mark.parametrize("path", [
    f"/page?url={q(HOSTILE)}",
    f"/page/as-of?url={q(HOSTILE)}&at=2019-06-01T12:00:00Z",
    f"/page/as-of?url={q(HOSTILE)}",
    f"/page/diff?url={q(HOSTILE)}&from=1&to=2",
    f"/page/comments?url={q(HOSTILE)}",
    "/search?q=pwned",
    "/pages",
])
def test_no_archived_script_runs_in_the_app(page, server, path):
    page.goto(server + path)
    page.wait_for_load_state("load")
    # The injections are on screen as text...
    assert "__pwned" in page.locator("main").inner_text() or path == "/pages"
    not_pwned(page)
    # ...and clicking every link that came from archived data does nothing dangerous.
    for link in page.locator("main a[rel~=nofollow]").all():
        assert link.get_attribute("href").startswith(("http://", "https://"))
    page.wait_for_timeout(200)
    not_pwned(page)


def test_raw_capture_runs_nothing_in_its_sandboxed_frame(page, server):
    page.goto(f"{server}/page/capture?url={q(HOSTILE)}")
    frame_el = page.locator("iframe.raw")
    assert frame_el.get_attribute("sandbox") == ""
    page.wait_for_load_state("load")
    frame = frame_el.element_handle().content_frame()
    frame.wait_for_load_state("load")
    assert frame.locator("h1").inner_text() == "Hostile page"  # the archived page is shown
    page.wait_for_timeout(300)
    not_pwned(page)
    assert page.locator("h1").inner_text().startswith("Raw capture")
    # Clicking the archived javascript: link inside the frame runs nothing either.
    frame.locator("#jslink").click()
    page.wait_for_timeout(200)
    not_pwned(page)
    assert page.outside == []


def test_raw_memento_opened_directly_runs_nothing(page, server):
    # Even outside our frame, the memento's own CSP (sandbox) keeps its scripts from running.
    page.goto(f"{server}/timegate/{HOSTILE}")
    page.wait_for_load_state("load")
    assert "/web/20190602120000/" in page.url
    assert page.locator("h1").inner_text() == "Hostile page"
    page.locator("#jslink").click()
    page.wait_for_timeout(300)
    assert page.dialogs == []
    assert page.evaluate("document.title") == "hostile"  # its own title, unchanged by its scripts
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.outside == []
