"""The reference site's profile on fixtures in its markup (tests/fixtures/sample/*.html).

The fixtures were rendered once by pagetrail/sample_site and frozen; the first carries the
reference text (shared/seeds/000_79a26db6e62665c3.txt) in the reference markup. Each is parsed
and compared with its frozen *.expected.json field by field, and the contract is also spelled
out here by hand, so a change to either side is noticed.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

import parsers
from parsers.hashing import content_hash

FIXTURES = Path(__file__).parent / "fixtures" / "sample"
SCHEMA = json.loads((Path(parsers.__file__).parent / "schema" / "parsedpage.schema.json").read_text())
LIVER_URL = "http://www.wisegeek.com/what-is-the-treatment-for-liver-calcification.htm"
NAMES = sorted(p.name.removesuffix(".html") for p in FIXTURES.glob("*.html"))
CHROME = ("Print this Article", "forgot password", "Post Anonymously", "Post your comments",
          "Please enter the code", "Make changes/additions", "Thank You!", "view entire post", "get widget")


def parse_fixture(name: str, url: str | None = None) -> parsers.ParsedPage:
    expected = json.loads((FIXTURES / f"{name}.expected.json").read_text())
    return parsers.parse((FIXTURES / f"{name}.html").read_bytes(), url or expected["url"],
                         headers={"Content-Type": "text/html; charset=utf-8"})


@pytest.mark.parametrize("name", NAMES)
def test_every_field_exactly_and_valid(name):
    page = parse_fixture(name)
    got = page.to_dict()
    expected = json.loads((FIXTURES / f"{name}.expected.json").read_text())
    for key in expected:  # key by key, for a readable failure
        assert got[key] == expected[key], key
    assert got == expected
    jsonschema.validate(got, SCHEMA)
    text = json.dumps(got)
    for chrome in CHROME:
        assert chrome not in text, f"form chrome {chrome!r} landed in a record"


def test_the_reference_text():
    page = parse_fixture("liver-reference")
    md = page.metadata
    assert page.profile == "wisegeek" and not page.degraded and page.warnings == []
    assert md.title == "What Is the Treatment for Liver Calcification?"
    assert (md.authors, md.editors, md.modified) == (["Erin J. Hill"], ["Bronwyn Harris"], "2019-06-14")
    assert md.publisher == "Conjecture Corporation" and md.category == "Medicine"
    assert md.canonical_url == LIVER_URL and md.language == "en-US"
    assert len(page.body.paragraphs) == 7
    assert page.body.paragraphs[0].startswith("In most cases, no treatment is necessary for liver calcification.")
    assert page.body.paragraphs[-1].endswith("Sometimes these cysts go away on their own over time without treatment.")
    # the article is repeated inside a script: read once, not twice
    assert page.body.text.count("In most cases, no treatment") == 1
    assert "<p>" in page.body.html and "<script" not in page.body.html
    assert [(c.number, c.author, c.id) for c in page.comments] == [
        (3, "fify", "post_2409873"), (2, "serenity36", "post_2409872"), (1, "ysmina", "post_2409871")]
    post2 = page.comments[1]
    assert post2.text.startswith("@ysmina-- Yes, but it's important")
    assert post2.text.count("\n\n") == 1  # two paragraphs, as shown
    assert (post2.reply_to, post2.reply_to_key) == ("ysmina", "post_2409871")
    assert [c.key for c in page.comments] == [c.id for c in page.comments]
    assert all(c.posted is None for c in page.comments)  # the markup shows no dates
    assert page.thread.complete and page.thread.parsed_cleanly


def test_ads_widgets_and_related_are_told_apart():
    page = parse_fixture("liver-reference")
    kinds = [a.kind for a in page.ads]
    assert kinds.count("widget") == 2 and "recommendation" in kinds and "newsletter" in kinds and "social" in kinds
    widgets = [a.text for a in page.ads if a.kind == "widget"]
    assert any("6.4 hours a day seated" in w for w in widgets)
    assert any("Gianni Versace" in w for w in widgets)
    rec = next(a for a in page.ads if a.kind == "recommendation")
    assert rec.slot == "content_rec" and "You might also Like" in rec.text
    assert [r.title for r in page.related] == ["What Is Liver Disease?", "What Are the Symptoms of Cirrhosis?"]
    for ad in page.ads:  # nothing of an ad is in the body or the comments
        if ad.text and len(ad.text) > 20:
            assert ad.text not in page.body.text
    assert "6.4 hours" not in page.body.text + "".join(c.text for c in page.comments)


def test_hidden_dialog_titles_are_not_the_title():
    page = parse_fixture("liver-reference")
    assert page.metadata.title != "Please enter the code:"
    assert "Make changes" not in (page.metadata.title or "")


def test_long_post_visible_and_hidden_parts_joined():
    page = parse_fixture("repellent-long-comment")
    first = page.comments[0]
    assert first.text.startswith("@lluviaporos - The problem is")
    assert first.text.endswith("not enough in places where malaria is common.")
    assert first.reply_to == "lluviaporos" and first.reply_to_key == "post_357414"


def test_a_partial_thread_says_which_posts_it_shows():
    page = parse_fixture("magnesium-paged")
    assert [c.number for c in page.comments] == [8, 7, 6, 5, 4]
    t = page.thread
    assert (t.complete, t.first_number, t.last_number) == (False, 8, 4)
    assert t.shows(5) and not t.shows(3)


def test_profile_chosen_by_host_and_by_signature():
    for url in (LIVER_URL, "http://127.0.0.1:8765/what-is-the-treatment-for-liver-calcification.htm",
                "http://web.archive.org/web/2019/http://www.wisegeek.com/x.htm"):
        assert parse_fixture("liver-reference", url).profile == "wisegeek"
    plain = parsers.parse(b"<html><head><title>Other</title></head><body><article><p>Some other site's "
                          b"article text, long enough to be a paragraph.</p></article></body></html>",
                          "http://127.0.0.1:8765/other.htm")
    assert plain.profile == "generic"


def test_content_hash_ignores_widgets_and_comments_but_not_edits():
    base = content_hash(parse_fixture("liver-reference"))
    assert content_hash(parse_fixture("liver-rotated")) == base
    assert content_hash(parse_fixture("liver-new-comment")) == base
    assert content_hash(parse_fixture("liver-comment-removed")) == base
    assert content_hash(parse_fixture("liver-edited")) != base


def test_a_comment_shown_twice_is_one_comment():
    # a page that repeats part of its markup shows a post twice: one record per comment key
    html = (FIXTURES / "liver-reference.html").read_text()
    start = html.index("<script>\n                adp_post_blocks.push(")
    end = html.index("</tbody>", start) + len("</tbody>")
    doubled = html[:end] + html[start:end] + html[end:]
    page = parsers.parse(doubled.encode(), LIVER_URL, headers={"Content-Type": "text/html; charset=utf-8"})
    once = parse_fixture("liver-reference", LIVER_URL)
    assert [c.key for c in page.comments] == [c.key for c in once.comments]
