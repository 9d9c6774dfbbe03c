"""Comments as records from the generic extractor, one labelled fixture per shape that dominates
the web (tests/fixtures/comment_shapes): one record per comment, the right author, posted time,
site id, text, and reply links (reply_to is the name written after "@", reply_to_key the parent
the nesting shows); pingbacks and section chrome are not comments."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

import parsers

HERE = Path(__file__).parent / "fixtures" / "comment_shapes"
FETCHED = datetime(2020, 1, 16, 12, 0, tzinfo=timezone.utc)



def fixture_trees() -> list:  # type: ignore[type-arg]
    """Every fixture page, parsed as parse() parses it."""
    from parsers.htmlload import parse_html

    return [parse_html(f.read_bytes().decode("utf-8", "replace"))
            for f in sorted((Path(__file__).parent / "fixtures").rglob("*.html"))]


def fixture_names(*attrs: str) -> list[str]:
    """The values of these attributes (class, id, role) on every element of every fixture page."""
    return [v for tree in fixture_trees() for el in tree.iter() if isinstance(el.tag, str)
            for v in map(el.get, attrs) if v]

def parse(name: str, fetched_at: datetime = FETCHED):  # type: ignore[no-untyped-def]
    return parsers.parse((HERE / f"{name}.html").read_bytes(), f"https://health.example/{name}",
                         profile="generic", fetched_at=fetched_at)


def records(page) -> list[tuple]:  # type: ignore[no-untyped-def]
    return [(c.id, c.author, c.posted, c.text, c.reply_to, c.reply_to_key) for c in page.comments]


def test_wordpress_thread_with_a_reply_and_a_pingback():
    page = parse("wordpress")
    assert records(page) == [
        ("comment-101", "Dana", "2019-03-02T10:15:00Z",
         "I started taking it last winter and I do sleep better.\n\nHard to say if it is the magnesium, though.",
         None, None),
        ("comment-102", "Sam", "2019-03-03T08:00:00Z",
         "Same here, Dana. Ask your doctor first if you take other medicines.", None, "comment-101"),
        ("comment-104", "Lee", "2019-03-05T21:30:00Z", "Which form did the trials use, citrate or oxide?", None, None),
    ]
    assert "Magnesium is often suggested" in page.body.text
    assert "Dana" not in page.body.text and "Leave a Reply" not in page.body.text


def test_disqus_server_rendered():
    page = parse("disqus")
    assert records(page) == [
        ("post-4412001", "Mira K", "2020-01-14T09:02:00Z", "My GP told me the same thing, ten micrograms.", None, None),
        ("post-4412007", "Tom", "2020-01-14T11:40:00Z", "Mine said twenty five, interesting.", None,
         "post-4412001"),
        ("post-4412100", "Guest", "2020-01-15T19:00:00Z", "Does it matter if you take it with food?", None, None),
    ]
    assert "My GP" not in page.body.text


def test_schema_org_microdata_with_a_nested_reply():
    page = parse("microdata")
    assert records(page) == [
        ("c-9001", "Priya", "2021-02-10T12:00:00Z", "My ferritin was 8 and I was exhausted all the time.", None, None),
        ("c-9002", "Jo", "2021-02-11T09:30:00Z", "@Priya-- did the tablets upset your stomach?", "Priya", "c-9001"),
    ]
    assert "ferritin was 8" not in page.body.text and "Low iron is a common cause" in page.body.text


def test_schema_org_json_ld_comments():
    page = parse("jsonld")
    assert records(page) == [
        ("https://news.example/salt#c1", "Ben", "2022-04-02T10:00:00Z",
         "I cut salt and my readings dropped within weeks.", None, None),
        ("https://news.example/salt#c2", "Ada", "2022-04-03T18:45:00Z", "Processed food is where most of it hides.",
         None, None),
    ]


def test_forum_table_of_posts():
    page = parse("forum")
    assert [(c.id, c.author, c.posted) for c in page.comments] == [
        ("p1001", "runner_jane", "2018-05-01T07:00:00Z"),
        ("p1002", "physio_mark", "2018-05-01T09:12:00Z"),
        ("p1003", "runner_jane", "2018-05-20T18:00:00Z"),
    ]
    assert page.comments[1].text.endswith("Strengthen the hips and cut your mileage for two weeks.")
    assert "Posts:" not in " ".join(c.text for c in page.comments)


def test_repeated_blocks_with_relative_dates():
    page = parse("repeated")
    assert records(page) == [
        ("note-55", "Hugo", "2020-01-14T12:00:00Z", "I have done it for a year and I rarely get colds.", None, None),
        ("note-56", "Wen", "2020-01-16T09:00:00Z", "That could be chance, one person is not a study.", None, None),
    ]
    assert "Cold showers wake you up" in page.body.text and "Hugo" not in page.body.text


def test_section_chrome_is_not_a_comment():
    page = parse("no-comments")
    assert page.comments == []
    assert "twenty seconds" in page.body.text


@pytest.mark.parametrize("name", ["wordpress", "disqus", "microdata", "jsonld", "forum", "repeated", "typepad-flat"])
def test_comment_keys_are_unique_and_stable(name):
    first, again = parse(name), parse(name, fetched_at=datetime(2024, 1, 1, tzinfo=timezone.utc))
    keys = [c.key for c in first.comments]
    assert len(keys) == len(set(keys)) and keys == [c.key for c in again.comments]


def test_blogger_definition_list_thread():
    # Blogger's classic templates: <dt> "NAME said...", then <dd> the text and <dd> the time.
    page = parse("blogger-dl")
    assert records(page) == [
        ("c1319709573077366144", "Chibby", "2012-11-09T11:46:00Z",
         "Is the cheap wine really fine for cooking? My mother-in-law nearly hit the floor.", None, None),
        ("c2203", "Chef John", "2012-11-09T13:05:00Z",
         "@Chibby I'm with you! That's a fine table wine.\n\nCook with what you would drink.", "Chibby", None),
        ("c3307", "Anonymous", "2012-11-09T16:10:00Z", "Made it tonight, thank you.", None, None),
    ]
    assert "Beef braised in red wine" in page.body.text and "Chibby" not in page.body.text


def test_typepad_flat_thread_of_anchors_and_posted_by_footers():
    # TypePad's classic templates: no element per comment, only an empty anchor named like a
    # comment, the paragraphs after it and a "Posted by: NAME | DATE" footer.
    page = parse("typepad-flat")
    assert records(page) == [
        ("c64426688", "Andrew", "2020-01-14T14:00:18Z",
         "I take mine with breakfast, as the pharmacist said it is absorbed better with some fat.\n\n"
         "Is that true, or a myth?", None, None),
        ("c64426804", "Robby Russell", "2020-01-15T09:01:23Z", "@Andrew It is true: vitamin D dissolves in fat.",
         "Andrew", None),
        ("c64426876", "Nicholas at home", "2020-01-14T12:00:00Z", "Thank you, this was clear and short.", None, None),
    ]
    body = page.body.text
    assert "too low for the skin" in body and "harm the kidneys" in body
    assert "breakfast" not in body and "Posted by:" not in body and "clear and short" not in body


def test_templates_reblogs_and_recent_comment_widgets_are_not_this_pages_comments():
    # a hidden badge template inside the comment section, a WordPress "Reblogged this on ..."
    # notice (a pingback in all but name) and a sidebar list of other posts' latest comments
    page = parse("widgets-no-comments")
    assert page.comments == []
    assert "Happy employees" in page.body.text


def test_ids_differing_only_in_digits_share_a_lookup_but_not_a_wrong_answer():
    """Name lookups are remembered per value with digit runs written as zeros: "c" + 3 or
    more digits is a comment item's id, "c" + 2 digits is not, whichever was seen first."""
    from parsers.generic import _NAME_BIT, _ITEM_ID, _value_bits

    item = _NAME_BIT[(_ITEM_ID, "id")]
    assert _value_bits("c98765") & item  # remembered as "c000"
    assert not _value_bits("c45") & item  # "c00": its own lookup
    assert _value_bits("comment-12") & item and _value_bits("comment-4567") & item
    assert not _value_bits("comment-12a") & item


def test_a_values_bits_are_what_each_pattern_finds_in_it():
    """_value_bits() searches a pattern only where the value holds a word every match of it
    holds, lower-cased, digit runs as zeros: the same bits as searching every pattern."""
    from parsers.generic import _BYLINE_BIT, _NAME_BIT, _has, _role_words, _value_bits

    values = ["AdSlot", "gpt-ad-12", "banner_ad", "header", "Ads", "SPONSORED-box", "share", "shadow",
              "Comment-Content", "comtext", "entry", "entry12", "post-message", "Messages", "text",
              "textarea", "d-none", "is-Hidden", "TEMPLATE", "hide", "outbrain_widget", "comment-12",
              "recent_comments", "diſcussion text", "ad\ncontent", "main", "", "x", "post-byline", "Byline",
              "author-name-12", "author_name", "c123", "C4567", "c12", "c1", "x c123", "li-comment-5", "DSQ-Comment-77",
              "comment_3", "Comment", "ADSBYGOOGLE", "x-adsbygoogle-y", "adsbygoogl"]
    for value in values:
        expected = sum(bit for (pattern, _), bit in _NAME_BIT.items() if _has(pattern, _role_words(value.replace("\n", " "))))
        expected |= _BYLINE_BIT if "byline" in value or "author-name" in value else 0  # (as written)
        assert _value_bits(value) == expected, value


def test_the_boilerplate_words_factored_by_their_letters_match_where_the_listed_words_do():
    """The names walk searches a lower-cased ASCII value for boilerplate words with the list
    factored by common leading letters (_factored): it matches the values the listed words
    match, on every fixture page's names and on each word at a line's edges, cut short,
    run on, and followed by what \\w* takes."""
    from parsers.generic import _BOILER, _BOILER_LINED_ASCII, _factored

    assert _factored(["ad", "ads?", "advert", "x\\w*", "-?y"]) == "a(?:d(?:vert||s?))|x\\w*|-?y"
    words = ["nav", "navbar", "breadcrumb", "breadcrumbs", "sidebar", "sidebar2", "sidebar_left", "sidebarx.y",
             "side-bar", "foot", "footer", "comment", "comments", "comment-list", "ad", "ads", "adsbygoogle", "advert",
             "authorbox", "author-box", "author-bio", "authordetails", "aboutauthor", "about-the-author",
             "aboutthe-author", "profileblock", "profile-block", "tag", "tags", "taglist", "most-popular", "bio"]
    values = [v for w in words for v in (w, w.upper(), "x " + w, w + "-x", "x_" + w + "_y", w[:-1], w + "s", "pre" + w,
                                         w + ":", "\n" + w)]
    values += [v for v in fixture_names("class", "id", "role") if v.isascii()]
    found = [_BOILER_LINED_ASCII.search("\n" + v.replace("\n", " ").lower()) is not None for v in values]
    assert found == [_BOILER.search(v.replace("\n", " ")) is not None for v in values]
    assert 100 < found.count(True) < len(found) - 100


def test_role_words_are_cut_from_a_lower_cased_value_as_from_the_value_as_written():
    """The names walk lower-cases an ASCII value before cutting a post's topics and embeds out
    of it: the same line as cutting them first, whatever the case of the words."""
    from parsers.generic import _lower_role_words, _role_words

    values = ["post-7168 post type-post status-publish hentry category-social-media tag-ads",
              "HENTRY Category-Ads Tag-Share", "post Type-Post TAG-comments", "hentry", "hentrytag-x",
              "twitter-embed share", "Social-Media-EMBED share", "EMBED share", "embedded-ad", "x-Embed y",
              "type- category-x", "article type-page tag-sponsored", "comment-list", "", "a\tb-c  type-x\ttag-y"]
    for value in values:
        assert _lower_role_words(value) == _role_words(value).lower(), value
    assert _lower_role_words("Hentry Tag-Ads share").split() == ["hentry", "share"]


def test_comment_section_names_are_found_in_any_case_and_in_non_ascii_spellings():
    """The names walk skips the comment patterns for a value with no comment word in it: the
    words are matched case-blind, and a non-ASCII value (which re.I may fold) is searched in full."""
    from parsers.generic import _COMMENTISH, _NAME_BIT, _SECTION_WORDS, _value_bits

    section = _NAME_BIT[(_SECTION_WORDS, "all")]
    assert _value_bits("DISQUS_thread") & _NAME_BIT[(_COMMENTISH, "all")]
    assert _value_bits("Reader-Responses box") & section
    assert _value_bits("diſcussion") & section  # long s: re.I reads it as "s"
    assert not _value_bits("article-body main") & section


def test_the_names_walk_marks_what_each_finders_pattern_matches_in_the_names_themselves():
    """The finders read which names match their patterns from the names walk's bits (each
    class, id and role value looked up once, digit runs as zeros, ASCII lower-cased against a
    case-exact twin); on every fixture page and some awkward values, an element has a
    pattern's bit exactly when the pattern matches one of its names as written."""
    import lxml.html

    from parsers.generic import _NAME_BIT, _NAME_PATTERNS, _Names, _has, _role_words

    odd = lxml.html.fromstring(
        "<div><p class='Comment-Content'>a</p><p class='entry12 text-2'>b</p><p id='x_message'>c</p>"
        "<p role='main text'>d</p><p class='commentbody\nreply'>e</p><p class='se\u017ftion content'>f</p>"
        "<p class='post-message type-post category-ads hentry'>g</p><ins class='adsbygoogle'></ins></div>")
    trees = [*fixture_trees(), odd]
    checked = 0
    for tree in trees:
        names = _Names(tree)
        for pattern, of in _NAME_PATTERNS:
            read = {"class": ("class",), "id": ("id",), "all": ("class", "id", "role")}[of]
            expected = [el for el in tree.iter() if isinstance(el.tag, str)
                        and any(_has(pattern, _role_words(v)) for v in map(el.get, read) if v)]
            assert names.matching(pattern, of) == expected, (pattern.pattern[:40], of)
            checked += len(expected)
    assert checked > 100


def test_the_article_name_is_found_value_by_value_where_the_joined_names_hold_it():
    """matching(_BODY_NAME) reads each class, id and role value once (remembered with the
    scoring's weights) instead of searching the joined lines of all names: the same elements,
    on every fixture page and on names that put the pattern at a value's edges, in another
    case, across a newline or in a non-ASCII spelling."""
    import lxml.html

    from parsers.generic import _BODY_NAME, _Names

    odd = lxml.html.fromstring(
        "<div><p class='Entry-Content'>a</p><p id='post-body'>b</p><p role='x article-body'>c</p>"
        "<p class='wrap' id='storytext'>d</p><p class='entrycontent-x'>e</p><p class='x-entry-content'>f</p>"
        "<p class='a\nstory-body'>g</p><p class='entry content'>h</p><p class='post-body2'>i</p>"
        "<p class='\u017ftory-body'>j</p><p class='td-post-content tag-x'>k</p><ins></ins></div>")
    trees = [*fixture_trees(), odd]
    found = 0
    for tree in trees:
        names = _Names(tree)
        assert names.matching(_BODY_NAME) == names._matching_lines(_BODY_NAME)
        found += len(names.matching(_BODY_NAME))
    assert [el.text for el in _Names(odd).matching(_BODY_NAME)] == ["a", "b", "c", "d", "e", "f", "g", "j", "k"]
    assert found > 20


def _inline(html: str):  # type: ignore[no-untyped-def]
    return parsers.parse("<html><head><title>Vitamin D</title></head><body><article><p>"
                         + "Vitamin D is made in the skin in summer, and in winter it comes from food. " * 4
                         + "</p></article>" + html + "</body></html>", "https://health.example/d",
                         profile="generic", fetched_at=FETCHED)


def test_the_author_is_the_name_not_the_date_permalink_or_reply_link_beside_it():
    page = _inline(
        "<ol class='commentlist'>"
        # the name, the date and a reply link in one author element
        "<li class='comment' id='li-comment-160129'><div class='comment-author'>"
        "<p class='comment-url'>nomaduk</p><p class='comment-date'><a href='#comment-160129'>10.29.2012</a></p>"
        "<p class='comment-reply'><a href='/login'>Log in to Reply</a></p></div>"
        "<p>The student loan system is a nightmare, here it is simpler.</p></li>"
        # the name and a permalink "Posted at" in one element, the chrome deep in a layout table
        "<li class='comment' id='li-comment-7902462'><div id='comment-7902462'><table><tr><td>"
        "<div class='avatar'></div></td><td><div class='comment-author vcard'><a href='/author/t'>Trevor S.</a>"
        " | <a href='/post#comment-7902462'>Posted at 12:45pm</a></div>"
        "<div><p>Probably the best heavy record of the year.</p></div>"
        "<div class='reply'><a href='#respond'>Reply</a></div></td></tr></table></div></li>"
        "</ol>"
        # Disqus's WordPress plugin prints the commenter's URL inside the <cite> before the name
        "<div id='disqus_thread'><ul id='dsq-comments'><li class='comment' id='dsq-comment-33258'>"
        "<div class='dsq-comment-header'><cite>http://twitter.com/BruceTrinh <span>Bruce Trinh</span></cite></div>"
        "<div class='dsq-comment-body'><div class='dsq-comment-message'><p>Whoa, a launch!</p></div></div>"
        "</li></ul></div>")
    assert [(c.author, c.text) for c in page.comments] == [
        ("nomaduk", "The student loan system is a nightmare, here it is simpler."),
        ("Trevor S.", "Probably the best heavy record of the year."),
        ("Bruce Trinh", "Whoa, a launch!"),
    ]


def test_definition_list_thread_with_classed_dt_and_dd_is_one_record_per_comment():
    # Thesis-style <dl>: <dt class="comment"> holds a number, the name and the time; <dd
    # class="comment"> the text. Both are named like comments: still one record each.
    page = _inline(
        "<dl id='comment_list'>"
        + "".join(f"<dt class='comment' id='comment-2045{i}'><span class='comment_num'>"
                  f"<a href='#comment-2045{i}'>{i + 1}</a></span><p><span class='comment_author'>Reader {i}</span>"
                  f" <span class='comment_time'>07.23.12 at 14:5{i}</span></p></dt>"
                  f"<dd class='comment'><div class='format_text'><p>Comment number {i}, about the article.</p>"
                  f"</div></dd>" for i in range(3))
        + "</dl>")
    assert [(c.id, c.author, c.posted, c.text) for c in page.comments] == [
        (f"comment-2045{i}", f"Reader {i}", f"2012-07-23T14:5{i}:00Z", f"Comment number {i}, about the article.")
        for i in range(3)]


def test_trackback_lists_and_pingback_excerpts_are_not_comments():
    page = _inline(
        "<div id='comments'><ol class='commentlist'>"
        "<li class='comment' id='comment-1'><cite class='fn'>Ann</cite><p>Thank you, very clear.</p></li>"
        # WordPress shows a pingback as "[...] words of the linking post [...]", classed or not
        "<li class='comment' id='comment-2'><cite class='fn'>Some Other Blog</cite>"
        "<p>[...] Responsibility, foundations, fundraising. Bookmark the permalink. [...]</p></li></ol></div>"
        "<div id='trackbacks-list' class='comments'><ol>"
        "<li class='comment' id='comment-3'><cite class='fn'>5 Tips - The Buzz Bin</cite>"
        "<p>A post that links here, summarised by the linking site.</p></li></ol></div>")
    assert [(c.id, c.author) for c in page.comments] == [("comment-1", "Ann")]


def test_a_line_of_name_and_time_is_read_when_the_markup_names_neither():
    page = _inline(
        "<ol class='commentlist'>"
        # "NAME — TIME" in a meta line classed by neither word
        "<li class='comment' id='comment-129724'><div class='comment_entry'><p class='cm-meta'>Raechel Lambert — "
        "<a href='#comment-129724'>July 18th, 2012, 8:12 am</a></p><p>Loaned $35, wish it was more.</p></div></li>"
        # "by NAME on" with the time in its own element after the text
        "<li class='comment' id='comment-110982267'><h5>I was looking for that too</h5>"
        "<p class='by'>by <a href='/users/pop'>Pop N' Locktapus</a> on <span class='time'>"
        "<a href='#110982267'>Aug 8, 2012 5:23 PM</a></span></p></li>"
        # a time without a year: the name is still the name, the time unknown
        "<li class='comment' id='comment-1133120'><p>Lora Lee On Thursday, November 1 at 2:57 pm</p>"
        "<p>Too funny! I can bet your kids rolled their eyes at that one.</p></li>"
        # a short first line that only looks like one is the comment's own words
        "<li class='comment' id='comment-5'><p>Me too - see you on May 5th</p><p>At the clinic, I mean.</p></li>"
        "</ol>")
    assert [(c.author, c.posted, c.text) for c in page.comments] == [
        ("Raechel Lambert", "2012-07-18T08:12:00Z", "Loaned $35, wish it was more."),
        ("Pop N' Locktapus", "2012-08-08T17:23:00Z", "I was looking for that too"),
        ("Lora Lee", None, "Too funny! I can bet your kids rolled their eyes at that one."),
        (None, None, "Me too - see you on May 5th\n\nAt the clinic, I mean."),
    ]


def test_a_reblog_is_told_by_its_two_halves_as_by_the_whole_pattern():
    """_reblog() tries "reblogged this on" at the start only and the "[...]" excerpt only where a
    "[" is: the same answers as searching the one pattern of both it was split from."""
    import re

    from parsers.generic import _reblog

    both = re.compile(r"^(\S+ \d{1,2},? \d{4}\s+)?reblogged this on |(^|\n)\[(\.\.\.|…)\]", re.I)

    texts = ["Jane reblogged this on Health Notes", "June 3, 2012 Jane reblogged this on X", "jane REBLOGGED THIS ON x",
             "I reblogged this on my blog", "Great post.\nJane reblogged this on X", "[...] the excerpt",
             "[…] the excerpt", "first line\n[...] second", "see [...] here", "[..] no", "", "[", "\n[…]",
             "June 3 2012\tJane reblogged this on X", "Jane  reblogged this on X", "reblogged this on Health Notes",
             "June 3, 2012 reblogged this on X", "Reblogged This On x\nmore", "June 3 2012  reblogged this on X"]
    answers = [_reblog(t) for t in texts]
    assert answers == [bool(both.search(t)) for t in texts]
    assert answers.count(True) >= 6 and answers.count(False) >= 5
