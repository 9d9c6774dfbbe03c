"""The second profile, for a different markup family: a WordPress health blog with threaded
comments, a pingback, a comment form, share buttons, related posts, a newsletter box and
sidebar widgets (tests/fixtures/wordpress/)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

import parsers

FIXTURE = Path(__file__).parent / "fixtures" / "wordpress" / "gut-health.html"
SCHEMA = json.loads((Path(parsers.__file__).parent / "schema" / "parsedpage.schema.json").read_text())
URL = "https://everydayhealthjournal.example/2019/03/five-habits-healthier-gut/"


def parse(url: str = URL) -> parsers.ParsedPage:
    return parsers.parse(FIXTURE.read_bytes(), url, headers={"Content-Type": "text/html; charset=UTF-8"})


def test_recognized_by_markup_on_any_host():
    for url in (URL, "http://127.0.0.1:9000/gut/", "https://mirror.example/x"):
        assert parse(url).profile == "wordpress"


def test_metadata():
    md = parse().metadata
    assert md.title == "Five Habits for a Healthier Gut"
    assert md.authors == ["Dr Amara Osei"]
    assert (md.published, md.modified) == ("2019-03-04T08:30:00Z", "2019-05-20T16:05:12Z")
    assert (md.category, md.language) == ("Nutrition", "en-GB")
    assert md.canonical_url == URL
    assert md.sources["published"] == "profile:wordpress"


def test_body_keeps_headings_and_lists_and_drops_the_rest():
    page = parse()
    paras = page.body.paragraphs
    assert paras[0].startswith("The trillions of bacteria in the gut")
    assert "1. Eat more fibre" in paras and "Start with small portions." in paras
    assert paras[-1].startswith("Finally, take antibiotics only when")
    text = page.body.text
    for chrome in ("Share this", "Related", "Get our weekly health letter", "Leave a Reply", "Recent Posts",
                   "Skip to content", "Tagged", "Proudly powered"):
        assert chrome not in text
    assert "<h2>" in page.body.html and "<ul>" in page.body.html and "<form" not in page.body.html


def test_threaded_comments_one_record_each_pingback_excluded():
    page = parse()
    got = [(c.id, c.author, c.posted, c.reply_to, c.reply_to_key) for c in page.comments]
    assert got == [
        ("comment-1021", "Priya K", "2019-03-05T09:12:44Z", None, None),
        ("comment-1024", "Dr Amara Osei", "2019-03-05T14:40:03Z", "Priya K", "comment-1021"),
        ("comment-1033", "Tom\u00e1s", "2019-03-07T20:02:19Z", None, None),
    ]
    first = page.comments[0]
    assert first.text == "I started eating kefir every morning and my digestion is much better.\n\nDoes it matter which brand?"
    assert "Any kefir" not in first.text  # a reply's text stays in the reply
    assert page.thread.complete and page.thread.parsed_cleanly  # no comment pagination on the page


def test_ads_and_widgets():
    kinds = {(a.kind, a.slot) for a in parse().ads}
    assert ("recommendation", "jp-relatedposts") in kinds and ("social", "sharedaddy") in kinds
    assert ("newsletter", "newsletter-signup") in kinds and ("widget", "recent-posts-2") in kinds
    assert ("ad", "ad-in-article-1") in kinds


def test_valid_against_the_schema():
    jsonschema.validate(parse().to_dict(), SCHEMA)
