"""Metadata from each source the generic extractor reads, with its stated precedence
(JSON-LD > OpenGraph/article:* > Dublin Core > RDFa > meta tags > visible byline > <time> >
htmldate) and metadata.sources naming where each field came from."""

from __future__ import annotations

import json

import parsers

BODY = ("<article><p>Liver calcification is usually found by chance, on an ultrasound done for another "
        "reason, and causes no symptoms.</p></article>")


def meta(head: str, body: str = BODY, url: str = "https://health.example/liver"):  # type: ignore[no-untyped-def]
    page = parsers.parse(f"<html><head>{head}</head><body>{body}</body></html>", url, profile="generic")
    return page.metadata


def test_json_ld_medical_web_page_wins_and_says_so():
    ld = {"@context": "https://schema.org", "@type": "MedicalWebPage", "headline": "Liver calcification",
          "author": [{"@type": "Person", "name": "Erin Hill"}, {"@type": "Person", "name": "Ada Lee"}],
          "editor": {"@type": "Person", "name": "Bronwyn Harris"},
          "reviewedBy": {"@type": "Person", "name": "Dr. Sam Okafor"}, "lastReviewed": "2019-05-02",
          "datePublished": "2015-01-10T08:00:00Z", "dateModified": "2019-06-14T10:00:00+02:00",
          "publisher": {"@type": "Organization", "name": "Health Example"},
          "copyrightHolder": {"@type": "Organization", "name": "Conjecture Corporation"},
          "inLanguage": "en-GB", "articleSection": ["Medicine"]}
    md = meta(f"<script type='application/ld+json'>{json.dumps(ld)}</script>"
              "<meta property='og:title' content='OG title loses'><meta name='author' content='Meta Loses'>")
    assert (md.title, md.authors, md.editors, md.reviewers) == (
        "Liver calcification", ["Erin Hill", "Ada Lee"], ["Bronwyn Harris"], ["Dr. Sam Okafor"])
    assert (md.published, md.modified, md.last_reviewed) == ("2015-01-10T08:00:00Z", "2019-06-14T08:00:00Z",
                                                              "2019-05-02")
    assert (md.publisher, md.copyright, md.language, md.category) == (
        "Health Example", "Conjecture Corporation", "en-GB", "Medicine")
    assert {md.sources[f] for f in ("title", "authors", "reviewers", "last_reviewed", "publisher")} == {"json-ld"}


def test_json_ld_inside_a_graph_and_a_list():
    ld = {"@context": "https://schema.org", "@graph": [
        {"@type": "WebSite", "name": "Not the article"},
        {"@type": ["NewsArticle"], "headline": "Graph headline", "author": {"name": "Kim Park"},
         "datePublished": "2020-02-02"}]}
    md = meta(f"<script type='application/ld+json'>{json.dumps(ld)}</script>")
    assert (md.title, md.authors, md.published) == ("Graph headline", ["Kim Park"], "2020-02-02")


def test_opengraph_and_article_tags():
    md = meta("<title>Site | Page</title><meta property='og:title' content='OG Liver'>"
              "<meta property='article:published_time' content='2018-03-04T05:06:07Z'>"
              "<meta property='article:modified_time' content='2018-04-01T00:00:00Z'>"
              "<meta property='og:site_name' content='Example Health'><meta property='article:section' content='Liver'>")
    assert (md.title, md.published, md.modified, md.publisher, md.category) == (
        "OG Liver", "2018-03-04T05:06:07Z", "2018-04-01T00:00:00Z", "Example Health", "Liver")
    assert md.sources["title"] == md.sources["published"] == "og"


def test_dublin_core_meta_and_rdfa():
    md = meta("<meta name='DC.title' content='DC Liver'><meta name='DC.creator' content='Jo Smith'>"
              "<meta name='DC.date' content='2017-07-07'><meta name='DC.rights' content='(c) Example'>")
    assert (md.title, md.authors, md.published, md.copyright) == ("DC Liver", ["Jo Smith"], "2017-07-07", "(c) Example")
    assert md.sources["authors"] == "dublin-core"
    rdfa = meta("<title>x</title>", body="<div><span property='dc:creator'>Rae Quinn</span>"
                "<span property='dc:date'>2016-06-06</span></div>" + BODY)
    assert (rdfa.authors, rdfa.modified) == (["Rae Quinn"], "2016-06-06")
    assert rdfa.sources["authors"] == "rdfa"


def test_plain_meta_then_visible_byline_then_time():
    md = meta("<title>T</title><meta name='author' content='Meta Author'><meta name='description' content='D'>")
    assert (md.authors, md.description, md.sources["authors"]) == (["Meta Author"], "D", "meta")
    byline = meta("<title>T</title>", body="<p class='byline'>By Noor Haddad</p><time datetime='2014-04-04'>4 April</time>"
                  + BODY)
    assert (byline.authors, byline.sources["authors"]) == (["Noor Haddad"], "byline")
    assert (byline.published, byline.sources["published"]) == ("2014-04-04", "time")


def test_htmldate_is_the_last_resort_for_a_date():
    md = meta("<title>T</title>", body=BODY, url="https://health.example/2013/03/12/liver")  # the URL's date
    assert md.published and md.published.startswith("2013-03-12")
    assert md.sources["published"] == "htmldate"
    stated = meta("<title>T</title><meta property='article:published_time' content='2011-01-01'>",
                  body="<p>Posted on 12 March 2013.</p>" + BODY, url="https://health.example/2013/03/12/liver")
    assert (stated.published, stated.sources["published"]) == ("2011-01-01", "og")


def test_htmldate_reads_the_parsed_tree_and_leaves_it_as_it_was():
    from lxml import etree

    from parsers.generic import extract_generic
    from parsers.htmlload import parse_html

    # no date in the markup's metadata or the URL: htmldate finds the one in the text
    tree = parse_html("<html><head><title>T</title><style>p{}</style></head><body><div class='date'>"
                      "March 12, 2013</div>" + BODY + "<script>var x = 1;</script></body></html>")
    before = etree.tostring(tree)
    page = extract_generic(tree, "https://health.example/liver", date_search=True)
    assert page.metadata.published and page.metadata.published.startswith("2013-03-12")
    assert page.metadata.sources["published"] == "htmldate"
    assert etree.tostring(tree) == before  # its pruning worked on a copy: links and the rest still see it all


def test_a_comments_date_is_not_the_pages_date():
    # The article states no date; its readers' comments do. The first comment's date is not when
    # the page was published: htmldate looks at the page without its comments (and ads).
    comments = "".join(
        f"<li class='comment' id='comment-{i}'><cite class='fn'>Reader {i}</cite>"
        f"<div class='comment-meta'><a href='#comment-{i}'>March {10 + i}, 2013 at 9:{10 + i} am</a></div>"
        f"<p>I had the same scan, and the same spots, and my doctor said it was nothing, {i}.</p></li>"
        for i in range(3))
    page = parsers.parse("<html><head><title>T</title></head><body>" + BODY
                         + f"<ol class='commentlist'>{comments}</ol></body></html>",
                         "https://health.example/liver", profile="generic")
    assert [c.posted for c in page.comments] == ["2013-03-10T09:10:00Z", "2013-03-11T09:11:00Z",
                                                 "2013-03-12T09:12:00Z"]
    assert page.metadata.published is None and "published" not in page.metadata.sources
    # a date the article states is still found, comments or not
    dated = parsers.parse("<html><head><title>T</title></head><body><div class='date'>February 2, 2013</div>"
                          + BODY + f"<ol class='commentlist'>{comments}</ol></body></html>",
                          "https://health.example/liver", profile="generic")
    assert dated.metadata.published == "2013-02-02" and dated.metadata.sources["published"] == "htmldate"
