"""The generic body extractor on page shapes that real sites use (no profile)."""

from __future__ import annotations

import parsers

ARTICLE = [
    "Liver calcification is usually found by chance, on an ultrasound done for another reason, "
    "and in most people it causes no symptoms at all.",
    "Treatment, when it is needed, aims at the cause: an old infection, a healed injury, or a "
    "tumour that has calcified, and doctors decide case by case.",
    "Follow-up imaging, months apart, shows whether the spots change; stable ones are watched, "
    "not removed, because surgery carries more risk than they do.",
]
SIDEBAR = ("<ul>" + "".join(f"<li><a href='/t{i}'>Trending story number {i} about something</a></li>"
                            for i in range(12)) + "</ul>"
           "<p>Sign up for our newsletter, the best health stories, every morning, free of charge.</p>")


def _page(article_wrapper_open: str, article_wrapper_close: str) -> str:
    paragraphs = "".join(f"<p>{p}</p>" for p in ARTICLE)
    return (
        "<html><head><title>Liver calcification</title></head><body>"
        "<nav><a href='/'>Home</a> <a href='/health'>Health</a></nav>"
        f"{article_wrapper_open}<h1>What Is the Treatment for Liver Calcification?</h1>"
        f"<div class='share-bar'><a href='/s'>Share this article on social networks</a></div>"
        f"<div class='story'>{paragraphs}</div>"
        f"<aside class='sidebar'>{SIDEBAR}</aside>{article_wrapper_close}"
        "<footer><p>Copyright 2019, All rights reserved, Example Health Media, Inc.</p></footer>"
        "</body></html>"
    )


def _body(html: str) -> str:
    return parsers.parse(html, "https://health.example/liver", profile="generic").body.text


def test_article_inside_a_wrapper_named_after_its_sidebar_is_found() -> None:
    # "content-with-sidebar" and "header-style-2" name wrappers that hold the article itself
    text = _body(_page("<div class='content-with-sidebar header-style-2'>", "</div>"))
    for p in ARTICLE:
        assert p in text
    assert "Trending story" not in text and "newsletter" not in text and "Share this" not in text


def test_article_inside_a_page_wide_form_is_found() -> None:
    # ASP.NET wraps the whole page in one <form>
    text = _body(_page("<form id='aspnetForm' method='post'>", "</form>"))
    for p in ARTICLE:
        assert p in text
    assert "Copyright 2019" not in text


def test_comment_section_is_never_the_body_even_when_longer_than_the_article() -> None:
    comments = "".join(
        f"<li class='comment'><p>Reader {i} writes: I had the same diagnosis, and my doctor, "
        f"after two scans, said it was nothing to worry about, which was a relief.</p></li>"
        for i in range(15))
    html = _page("<div class='main'>", f"<div class='comments-area'><ol>{comments}</ol></div></div>")
    text = _body(html)
    for p in ARTICLE:
        assert p in text
    assert "Reader 3 writes" not in text
