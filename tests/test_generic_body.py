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
    # a styled form is still not a hidden one (DotNetNuke: <form id="Form" style="height: 100%;">)
    text = _body(_page("<form id='Form' method='post' style='height: 100%;'>", "</form>"))
    assert all(p in text for p in ARTICLE)
    hidden = _body(_page("<div>", "</div><form style='display: none'><p>" + "Hidden form text, never shown. " * 9
                         + "</p></form>"))
    assert "Hidden form text" not in hidden


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


def test_comments_found_as_records_are_cut_from_the_body_whatever_their_names() -> None:
    # Movable Type's classic templates put each comment beside the article's paragraphs, in the
    # same column, as <div class="commentbody">: no comment-section name to cut by, but the
    # comment finder reads each of them as a comment, and what is a comment is not article text.
    comments = "".join(
        f"<div class='commentbody by-reader-{i}'><a name='c{9700 + i}'></a>"
        f"<div id='c{9700 + i}'><p>Reader {i} writes: I had the same diagnosis, and my doctor, after two "
        f"scans, months apart, said it was nothing to worry about, which was, of course, a relief.</p></div>"
        f"<p class='posted'>Posted by: Reader {i} at <a href='#c{9700 + i}'>November  8, 2012  7:{10 + i} AM</a></p>"
        f"<hr class='comment-separator'></div>"
        for i in range(8))
    html = ("<html><head><title>Liver calcification</title></head><body><div id='main'>"
            "<h1>What Is the Treatment for Liver Calcification?</h1>"
            + "".join(f"<p>{p}</p>" for p in ARTICLE)
            + "<p class='posted'>Posted on November 8, 2012 at 6:57 AM</p>"
            + "<div class='commentform'><h2 id='comments'>Comments</h2></div>" + comments
            + "</div></body></html>")
    page = parsers.parse(html, "https://health.example/liver", profile="generic")
    assert [c.text[:15] for c in page.comments] == [f"Reader {i} writes" for i in range(8)]
    # the "Posted by: NAME at DATE" footer gives the author and time, and is not comment text
    assert [(c.author, c.posted) for c in page.comments] == [
        (f"Reader {i}", f"2012-11-08T07:{10 + i}:00Z") for i in range(8)]
    assert not any("Posted by" in c.text for c in page.comments)
    for p in ARTICLE:
        assert p in page.body.text
    assert "Reader" not in page.body.text
    assert "Reader 3 writes" not in page.body.html


def test_wordpress_post_tagged_with_boilerplate_words_is_still_the_article() -> None:
    # post_class() writes the post's tags and categories into its class: "tag-ads" and
    # "category-social-media" name what the post is about, not an ad or a share bar.
    post_classes = ("post-7168 post type-post status-publish format-standard hentry "
                    "category-social-media tag-ads tag-newsletter")
    html = ("<html><head><title>Liver calcification | Health Notes</title></head><body>"
            "<div id='content'>"
            f"<div class='{post_classes}' id='post-7168'><h2>Liver calcification</h2>"
            "<div class='entry'>" + "".join(f"<p>{p}</p>" for p in ARTICLE) + "</div></div>"
            "<p class='small'>You can follow any responses to this entry through the RSS 2.0 feed, "
            "and you can leave a response, or trackback from your own site, at any time.</p>"
            "<div class='navigation'><a href='/prev'>Previous post, about sleep, naps, and more</a></div>"
            "<p>Our team writes, edits, checks, and publishes, every day, for readers, doctors, nurses, "
            "carers, students, and anyone else, in many countries, with care, and with sources, always.</p>"
            "<p>Letters to the editor, tips, corrections, and complaints, are welcome, by mail, by phone, "
            "by email, or, of course, in person, at our office, on weekdays, from nine to five.</p>"
            "</div></body></html>")
    page = parsers.parse(html, "https://health.example/liver", profile="generic")
    for p in ARTICLE:
        assert p in page.body.text
    assert not any("Liver calcification is usually" in (ad.text or "") for ad in page.ads)


def test_article_cut_into_sections_by_figures_is_found_whole() -> None:
    # A magazine's article: each run of paragraphs wrapped anew (section > div > div.post__content)
    # between full-width figures, so the parts are cousins in the tree, not siblings.
    parts = [ARTICLE[:2], ARTICLE[2:], ["Doctors, in the end, rely on the pattern over time: a "
                                        "spot that stays the same, scan after scan, is left alone."]]
    sections = "<figure><img src='/x.jpg'><figcaption>A liver scan.</figcaption></figure>".join(
        "<section class='outer'><div class='container'><div class='post__content wysiwyg'>"
        + "".join(f"<p>{p}</p>" for p in part) + "</div></div></section>" for part in parts)
    html = ("<html><head><title>Liver calcification</title></head><body>"
            "<nav><a href='/'>Home</a></nav><article><h1>Liver calcification, explained</h1>"
            f"<div class='acf-content'>{sections}</div></article>"
            f"<aside class='sidebar'>{SIDEBAR}</aside></body></html>")
    text = _body(html)
    assert text.split("\n\n") == [p for part in parts for p in part]


def test_a_footer_named_foot_is_boilerplate() -> None:
    # "blq-foot", "page-foot": footers that do not say "footer". Its notice, long and full of
    # commas, would outscore a short story told in three short paragraphs.
    story = ["People from all over the world, and from every continent, are coming to London.",
             "Scott and Kathy from Idaho are among the thousands making the trip.",
             "They made a home-made movie about their preparations for the visit."]
    html = ("<html><head><title>Coming to the Games</title></head><body>"
            "<div id='story'><h1>Coming to the Games</h1><div class='meta-information'>"
            + "".join(f"<p>{p}</p>" for p in story) + "</div></div>"
            "<div id='blq-foot'><p>This page is best viewed in an up-to-date web browser, with style sheets, "
            "or CSS, enabled. While you will be able to view the content of this page in your current browser, "
            "you will not, however, get the full visual experience, so please, if you can, upgrade.</p></div>"
            "</body></html>")
    assert _body(html).split("\n\n") == story


def test_a_photo_gallery_inside_the_article_is_left_out_whatever_its_length() -> None:
    # A news site's gallery at the top of the story body: each photo's caption, long, and its
    # "Photo: ..." credit. Together longer than a byline, still not the story.
    photos = "".join(
        f"<li class='hst-resgalleryitem'><img src='/p{i}.jpg'><div class='txt'><p>Photo {i}: the "
        f"minister, left, and his guest shake hands in Hanoi on Wednesday, at the start of a visit meant "
        f"to strengthen relations between the two countries.</p><p>Photo: Staff, Agency</p></div></li>"
        for i in range(3))
    html = ("<html><head><title>Liver calcification</title></head><body><div class='article-body'>"
            f"<div class='hst-resgallery-container'><ul>{photos}</ul></div>"
            + "".join(f"<p>{p}</p>" for p in ARTICLE * 3) + "</div></body></html>")
    text = _body(html)
    assert text.split("\n\n") == ARTICLE * 3


def test_a_post_of_a_photo_and_a_line_is_found_beside_a_longer_sidebar() -> None:
    # A photo blog's post: one image and a credit line, mostly a link. The sidebar's "about me"
    # says far more, with commas; the post's own entry-content is still the article.
    about = ("<p>Hello stranger, let's connect: you can also like my page, add me to your circles, or, "
             "if you prefer, follow my channel, where I post, now and then, videos of my travels, my cats, "
             "and, of course, my drawings, sketches, and doodles, old and new.</p>")
    html = ("<html><head><title>Casual Batman | The Curious Brain</title></head><body><div id='wrap'>"
            "<div class='post'><h2>Casual Batman</h2><div class='entry-content'><p><img src='/bat.jpg'></p>"
            "<p>Created by <a href='http://blog.example.com/turner'>Michael Turner, blog.example.com</a></p>"
            "</div></div>"
            f"<div id='sidebar'><h3>About me</h3>{about}<ul><li><a href='/2012/11'>November 2012</a></li>"
            "<li><a href='/2012/10'>October 2012</a></li></ul></div></div></body></html>")
    assert _body(html) == "Created by Michael Turner, blog.example.com"


def test_a_post_of_a_photo_alone_has_no_text_not_the_sidebars() -> None:
    # The post's entry-content holds only an image: the page has no article text, and the
    # sidebar's (here named "sidebarcontainer", one word) is not it.
    html = ("<html><head><title>In the pink</title></head><body><div class='post'><h3>In the pink</h3>"
            "<div class='post-body entry-content'><img src='/pink.jpg'></div></div>"
            "<div class='sidebarcontainer'><p>Street style and street fashion in London: the longest running "
            "street fashion blog, documenting London fashion across the city, from Brick Lane to Portobello, "
            "from Carnaby Street to Oxford Street, and from one fashion week to the next.</p></div>"
            "</body></html>")
    page = parsers.parse(html, "https://style.example/pink", profile="generic")
    assert page.body.text == "" and "no article text found" in page.warnings


def test_an_embedded_post_the_article_quotes_is_article_text_a_share_bar_is_not() -> None:
    tweet = "Yes this is real and yes the state spent nearly half a million dollars on it"
    html = ("<html><head><title>Liver calcification</title></head><body><article>"
            + "".join(f"<p>{p}</p>" for p in ARTICLE[:2])
            + f"<div class='social-media-embed'><blockquote class='twitter-tweet'><p>{tweet}</p>"
            "— Dianna (@dianna) <a href='https://twitter.com/d/status/1'>November 18, 2019</a></blockquote></div>"
            + f"<p>{ARTICLE[2]}</p>"
            "<div class='social-share'><a href='/s/fb'>Share on Facebook</a> <a href='/s/tw'>Share on Twitter</a></div>"
            "</article></body></html>")
    page = parsers.parse(html, "https://health.example/liver", profile="generic")
    assert tweet in page.body.text and all(p in page.body.text for p in ARTICLE)
    assert "Share on" not in page.body.text
    assert [ad.kind for ad in page.ads] == ["social"]


def test_an_embedded_post_in_a_figure_is_no_caption() -> None:
    # BBC-style: photos with long captions, and quoted posts in <figure class="social-embed">.
    # The quotes do not count as captions: with them the captions would pass the share of the
    # text at which a photo story keeps them, and every photo credit would become article text.
    caption = ("<figure><img src='/p.jpg'><figcaption>Image copyright Getty Images. Image caption: the singer, "
               "left, and her manager, at an awards evening in London, in 2018, before the dispute.</figcaption>"
               "</figure>")
    embed = ("<figure class='social-embed'><blockquote><p>Quoted post: the singer's statement, in full, as she "
             "posted it, with the date, the time, and the names of everyone she thanked, one by one.</p>"
             "</blockquote></figure>")
    html = ("<html><head><title>Liver calcification</title></head><body><div class='story-body'>"
            f"{caption}<p>{ARTICLE[0]}</p>{embed}<p>{ARTICLE[1]}</p>{embed}<p>{ARTICLE[2]}</p>{caption}"
            "</div></body></html>")
    text = _body(html)
    assert "Image copyright" not in text and "Quoted post" in text and all(p in text for p in ARTICLE)


def test_a_long_list_of_links_inside_the_article_container_is_navigation() -> None:
    # A city hall's news page: the categories, forty links long, sit inside the container that
    # holds the story. Short link lists went before; a long one is navigation too.
    categories = "".join(f"<li><a href='/c/{i}'>Categoria número {i}</a></li>" for i in range(40))
    html = ("<html><head><title>Liver calcification</title></head><body><div class='conteudo'>"
            f"<h3>Categorias</h3><ul>{categories}</ul>"
            + "".join(f"<p>{p}</p>" for p in ARTICLE * 4) + "</div></body></html>")
    text = _body(html)
    assert "Categoria número" not in text and text.split("\n\n")[-12:] == ARTICLE * 4


def test_wordpress_post_metadata_and_sociable_bar_are_not_the_article() -> None:
    # WordPress's default theme ends a post with <p class="postmetadata"> ("This entry was
    # posted on ... filed under ..."), and the Sociable plugin adds its "Share!" bar.
    html = ("<html><head><title>Liver calcification</title></head><body><div id='content'>"
            "<div class='post' id='post-3658'><h2>Liver calcification</h2><div class='entrytext'>"
            + "".join(f"<p>{p}</p>" for p in ARTICLE * 2)
            + "<div class='sociable'><div class='sociable_tagline'>Be Sociable, Share!</div><ul><li>"
            "<a href='/tw'>Twitter</a></li></ul></div>"
            "<p class='postmetadata alt'><small>This entry was posted on Saturday, August 25th, 2012 at 12:23 "
            "am and is filed under <a href='/c/health'>Health</a>. You can follow any responses to this entry "
            "through the RSS 2.0 feed.</small></p></div></div></div></body></html>")
    text = _body(html)
    assert text.split("\n\n") == ARTICLE * 2


def test_container_marked_itemprop_articlebody_is_the_body() -> None:
    # A long, comma-rich "about us" block would outscore the short article on text alone; the
    # page's own schema.org marking says which element is the article.
    about = "".join(f"<p>Our team, founded in {1990 + i}, writes, edits, checks, and publishes, "
                    f"every day, for readers, doctors, nurses, and carers, in {i + 3} countries.</p>"
                    for i in range(8))
    html = ("<html><body><div class='about'>" + about + "</div>"
            "<div itemprop='articleBody'>" + "".join(f"<p>{p}</p>" for p in ARTICLE) + "</div></body></html>")
    text = _body(html)
    assert text.split("\n\n") == ARTICLE


def test_text_written_straight_into_a_container_is_the_body() -> None:
    # No <p>: the article's sentences sit directly in a div, lines split by <br> or empty divs.
    html = ("<html><body><nav><a href='/'>Home</a></nav><div class='left'><h1>Title</h1>"
            "<div class='inner'>" + "<div class='fake-br'></div>".join(ARTICLE) + "</div></div>"
            "<footer><p>Contact, address, phone, fax, email, and, of course, a map.</p></footer></body></html>")
    text = _body(html)
    for p in ARTICLE:
        assert p in text
    assert "Contact" not in text


def test_copyright_footer_does_not_outscore_an_article_without_commas() -> None:
    # Korean prose uses few commas; a comma-dense address and copyright line must not win.
    korean = ["엘제이의 일방적인 사진 공개로 시작된 논란은 며칠 만에 여론 공방으로 번졌다. 양측의 주장은 엇갈린다.",
              "비슷한 사안들에 대한 전례로 작용할 수도 있기 때문이다. 좀 더 차분하게 들여다봐야 할 필요가 있다.",
              "정덕현 칼럼니스트는 이번 사안을 두고 방송가의 관행을 다시 돌아봐야 한다고 말했다. 결론은 아직 없다."]
    html = ("<html><body><div class='article'>" + "".join(f"<p>{p}</p>" for p in korean) + "</div>"
            "<div class='bottom'><p>Jaragua do Sul - SC - CNPJ: 83.102.459/0001-23 - Rua Walter, 1111 - Barra, "
            "Rio, 89259-565, Caixa Postal 421, Fone: (047) 2106-8000, Copyright (C) Example, Inc., "
            "All rights reserved.</p></div></body></html>")
    text = _body(html)
    assert text.split("\n\n") == korean


def test_a_wrapper_holding_only_main_is_a_container_not_a_paragraph() -> None:
    # <div><main>…</main></div>: were the div taken for one paragraph, its whole text (article
    # plus teasers) would count for its parent, and a long teaser list elsewhere would win.
    teasers = "".join(f"<li><article><div class='info'><p>Teaser {i}: the first lines of another story "
                      f"about the team's season so far.</p>"
                      f"<a href='/s{i}'>Read More</a></div></article></li>" for i in range(8))
    html = ("<html><body><div class='site'><div class='content-area'><main><article><div class='body-copy'>"
            + "".join(f"<p>{p}</p>" for p in ARTICLE * 2) +
            "</div></article></main></div><div class='more'><ul>" + teasers + "</ul></div></div></body></html>")
    text = _body(html)
    assert ARTICLE[2] in text and "Teaser" not in text


def _in_container(inner: str) -> str:
    return ("<html><body><nav><a href='/'>Home</a></nav><div class='entry-content'>" + inner +
            "</div><footer><p>About us</p></footer></body></html>")


def test_figures_bylines_and_link_rows_inside_the_article_are_not_body() -> None:
    paragraphs = "".join(f"<p>{p}</p>" for p in ARTICLE * 2)
    html = _in_container(
        "<p class='byline'>By Jane Doe, Health Reporter</p>"
        "<figure><img src='/a.jpg'><figcaption>A calcified liver on ultrasound, seen from the side "
        "(Photo: Example Hospital)</figcaption></figure>"
        + paragraphs +
        "<div class='wp-caption'><img src='/b.jpg'><p class='wp-caption-text'>The clinic in 2019.</p></div>"
        "<ul><li><a href='/x'>More on liver health and what to ask your doctor</a></li>"
        "<li><a href='/y'>Ten questions about ultrasound scans answered</a></li></ul>")
    page = parsers.parse(html, "https://health.example/liver", profile="generic")
    assert page.body.paragraphs == ARTICLE * 2
    assert "figcaption" not in page.body.html and "Jane Doe" not in page.body.html


def test_captions_that_carry_a_photo_story_stay() -> None:
    captions = [f"Photo {i}: the President meets nurses, doctors and patients at the clinic in the "
                f"morning, before the visit to the new wing that opened in {2000 + i}." for i in range(6)]
    html = _in_container("<p>A day at the clinic, in pictures.</p>" + "".join(
        f"<div class='wp-caption'><img src='/{i}.jpg'><p class='wp-caption-text'>{c}</p></div>"
        for i, c in enumerate(captions)))
    text = _body(html)
    for c in captions:
        assert c in text


def test_a_short_article_keeps_its_byline() -> None:
    # On a page that says little, the byline and date are a real part of what it says.
    html = _in_container("<h1>Conversation with my readers</h1>"
                         "<p class='headline_meta'>by <span class='author'>Paulo Coelho</span> on "
                         "<abbr class='published'>June 29, 2012</abbr>, a video, live, with readers, "
                         "questions, and answers.</p>")
    assert "Paulo Coelho" in _body(html)


def test_namespaced_tags_do_not_lose_the_body_when_ads_are_removed() -> None:
    # Template and widget tags with a prefix (<mt:IfCommentsAccepted>, <fb:like>) are common; an ad
    # inside one must still be taken out of the copy the body is read from, and the body found.
    html = ("<html><body><div class='post'><fb:like href='/x'></fb:like><g:plusone></g:plusone>"
            + "".join(f"<p>{p}</p>" for p in ARTICLE) +
            "</div><mt:ifcommentsaccepted><div class='ad-slot'><a href='https://ads.example/buy'>Buy now, cheap "
            "pills</a></div></mt:ifcommentsaccepted></body></html>")
    page = parsers.parse(html, "https://health.example/liver", profile="generic")
    assert page.body.paragraphs == ARTICLE and not page.warnings
    assert [a.kind for a in page.ads] == ["ad"]


def test_the_container_named_entry_content_beats_a_wordier_blog_header() -> None:
    # A short post: the blog's description in the header has more commas than the post itself,
    # but the name a publishing system gives the post's text is a strong sign.
    html = ("<html><body><div id='header'><p>The media pundit's pundit, written by an insider, covers news, media, "
            "journalism, politics, business, books, and, now and then, the weather, in New York, daily.</p></div>"
            "<div class='post hentry'><h2>What stands between us and electricity</h2>"
            "<div class='entry-content'><p>Six days powerless so far. Looking at this, I am guessing another week "
            "or even two.</p><p>The crews are here, the trucks too.</p></div></div></body></html>")
    text = _body(html)
    assert text.startswith("Six days powerless") and "pundit" not in text


def test_the_container_under_the_title_heading_beats_a_sidebar_of_similar_weight() -> None:
    sidebar = "".join(f"<p>Event {i}: a session, in London, on gaming, with case studies, lessons, and tips.</p>"
                      for i in range(4))
    html = ("<html><head><title>The AWS Report - John Smiley Discusses RDS | Blog</title></head><body>"
            "<div id='wrap'><div id='content'><div id='main'><div class='post'>"
            "<h2>The AWS Report - John Smiley Discusses RDS</h2>"
            "<div class='body'>" + "".join(f"<p>{p}</p>" for p in ARTICLE) + "</div></div></div></div>"
            "<div id='side'><div class='gamma'><div class='inner'>" + sidebar + "</div></div></div></div></body></html>")
    text = _body(html)
    assert text.split("\n\n") == ARTICLE


def test_a_names_weight_is_what_the_article_and_content_patterns_find_in_it() -> None:
    """The scoring remembers, per class, id or role value, whether it names the article text
    (_BODY_NAME) or reads like content (_POSITIVE); an ASCII value is lower-cased and tested
    for _POSITIVE's words first: the same bits as searching both patterns case-blind."""
    from parsers.generic import _BODY_NAME, _POSITIVE, _weight_bits
    from tests.test_generic_comments import fixture_names

    values = ["entry-content", "Entry-Content", "POST-BODY", "post_body", "x article-text", "storytext", "StoryText2",
              "single-post-content", "blog-post-content", "td-post-content", "main", "MainNav", "textarea",
              "sidebar", "", "article\nbody", "\u017ftory-body", "st\u00f6ry-body", "articlebody", "Blog"]
    values += fixture_names("class", "id", "role")
    bits = [_weight_bits(v) for v in values]
    assert bits == [(1 if _BODY_NAME.search(v) else 0) | (2 if _POSITIVE.search(v) else 0) for v in values]
    assert bits.count(3) >= 8 and bits.count(2) >= 5 and bits.count(0) >= 5
