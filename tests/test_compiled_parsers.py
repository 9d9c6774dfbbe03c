"""The parsers' hot modules run compiled (setup.py, Cython) and must give what their source
gives, and a compiled module its source has moved past must not be used."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import lxml.html
import pytest
from lxml import etree

import parsers
from parsers._compiled import compiled_modules

ROOT = Path(__file__).resolve().parents[1]
PARSERS = Path(parsers.__file__).resolve().parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"

needs_compiled = pytest.mark.skipif(
    not any(PARSERS.glob("generic.*.so")),
    reason="the parsers are not compiled here (no C compiler or Cython at install): nothing to compare")

# Every fixture page parsed generically and with its profile choice, as ParsedPage dicts.
_DUMP = r"""
import json, sys
from datetime import datetime, timezone
from pathlib import Path
import parsers
from parsers._compiled import compiled_modules
at = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
out = {}
for path in sorted(Path(sys.argv[1]).rglob("*.html")):
    raw = path.read_bytes()
    for profile in ("generic", None):
        page = parsers.parse(raw, "https://www.example.org/" + path.name, fetched_at=at, profile=profile)
        out[f"{path.relative_to(sys.argv[1])} {profile}"] = [page.to_dict(), page.links]
print(json.dumps({"compiled": compiled_modules(), "pages": out}, sort_keys=True, default=str))
"""


def _dump(pure: bool) -> dict:
    env = {**os.environ, "PAGETRAIL_PURE_PYTHON": "1" if pure else "0"}
    done = subprocess.run([sys.executable, "-c", _DUMP, str(FIXTURES)], env=env, capture_output=True,
                          text=True, check=True, cwd=ROOT)
    return json.loads(done.stdout)


@needs_compiled
def test_compiled_parsers_give_the_records_their_source_gives():
    compiled, source = _dump(pure=False), _dump(pure=True)
    assert "parsers.generic" in compiled["compiled"] and "parsers.textutil" in compiled["compiled"]
    assert source["compiled"] == []
    assert len(compiled["pages"]) >= 30
    for key, record in source["pages"].items():
        assert compiled["pages"][key] == record, key


@needs_compiled
def test_a_compiled_module_older_than_its_source_is_passed_over_for_the_source(tmp_path):
    shutil.copytree(PARSERS, tmp_path / "parsers", ignore=shutil.ignore_patterns("__pycache__", "*.c"))
    copy = tmp_path / "parsers"
    with open(copy / "textutil.py", "a") as f:  # edits made after the build
        f.write("\nEDITED_AFTER_THE_BUILD = True\n")
    with open(copy / "_names_walk.pyx", "a") as f:
        f.write("\n# edited after the build\n")
    probe = ("import parsers, parsers.textutil, parsers.generic; from parsers._compiled import compiled_modules; "
             "print(parsers.textutil.EDITED_AFTER_THE_BUILD, parsers.generic._walk_in_c, compiled_modules())")
    done = subprocess.run([sys.executable, "-c", probe], env={**os.environ, "PYTHONPATH": str(tmp_path)},
                          capture_output=True, text=True, check=True, cwd=tmp_path)
    assert done.stdout.startswith("True None ")  # the edited source; the Python twin of the walk
    assert "'parsers.generic'" in done.stdout and "'parsers.textutil'" not in done.stdout
    assert "_names_walk, textutil changed since they were compiled" in done.stderr
    assert "make compile" in done.stderr


@needs_compiled
def test_the_names_walk_runs_in_c_unless_pure_python_is_asked_for():
    probe = "import parsers.generic as g; print(g._walk_in_c is not None, g.__file__.endswith('.py'))"
    compiled = subprocess.run([sys.executable, "-c", probe], env={**os.environ, "PAGETRAIL_PURE_PYTHON": "0"},
                              capture_output=True, text=True, check=True)
    pure = subprocess.run([sys.executable, "-c", probe], env={**os.environ, "PAGETRAIL_PURE_PYTHON": "1"},
                          capture_output=True, text=True, check=True)
    assert compiled.stdout.split() == ["True", "False"]
    assert pure.stdout.split() == ["False", "True"]


def test_the_installed_parsers_report_what_runs_compiled():
    import parsers.generic  # noqa: F401

    names = compiled_modules()
    assert all(name.startswith("parsers.") for name in names)
    assert ("parsers.generic" in names) == any(PARSERS.glob("generic.*.so"))


_EDGES = """<html><head><title>t</title><base href="https://example.org/base/"><script>var a = "<p>x</p>";</script></head><body>
lead <b>bold</b> tail<!-- a comment --> after
<div id="x" class="post byline" role="main" style="display:none">hidden <a href="/a">link <a href="/b">nested</a></a></div>
<div itemprop="articleBody" itemtype="https://schema.org/Comment" property="dc:creator" rel="author">
  <p>One, two, three.<br>Four <em>five</em> six.</p><script>skip()</script>tail of script
  <ul><li>item <a href="#">one</a></li><li></li></ul><form><input value="v">form text</form>
  <table><tr><td>cell</td><th>head</th></tr></table><span class="author-name">Ann</span>
  <ins class="adsbygoogle"></ins><iframe src="https://ads.example/x"></iframe><ins></ins>
  <p class="a" class="b" hidden>dup</p><svg><text>drawn</text></svg>&nbsp;&amp; end</div>
<map><area href="/area" rel="nofollow"><area></map><a>no href</a><a href=" /sp " rel="next">s</a>
<a href="http://h.example/x#f">1</a><a href="https://[::1]/x">2</a><a href="/a/./b">3</a><a href="/path?">4</a>
<a href="/p;x">5</a><a href="//other.example/x">6</a><a href="javascript:x()">7</a><a href="#top">8</a>
<a href="http://h.example/a b">9</a><a href="/café?q=é#é">10</a><a href="HTTP://X.example/Y">11</a>
<a href="/p?#f">12</a><a href="/p#f?">13</a><a href="http://h.example">14</a><a href="https://h.example?x#y">15</a>
<a href="rel/ative">16</a><a href="/">17</a><a href="http://h.example/x#f">dup</a><a href="/t	ab">18</a>
<a href=" /nbsp">19</a><a href="/x　">20</a><a href="">21</a><a href="/p" rel="NoFollow x">22</a>
<a href="//h.example/a;">23</a><a href="//h.example/a?#f">24</a><a href="///x">25</a><a href="//h.example/./a">26</a>
<a href="//[::1]/x">27</a><a href="//h.example/a b">28</a><a href="//h.example">29</a><a href="//h.example?q">30</a>
<a href="//h\u0308.example/x">31</a><a href="//h.example/x#f?">32</a><a href="//">33</a><a href="//#f">34</a>
<a href="//H.example/P?q=1#f">35</a><a href="//h.example/t\tab">36</a><a href="//h.example/a;p">37</a>
<a href="http://h.example/r" rel="noopener">38</a><a href="/r2" rel="">39</a><a href="//h.example/nf" rel="x NOFOLLOW">40</a>
<a href="/r3" rel=" nofollowing ">41</a><a href="//h.example/r4" rel="noopener noreferrer">42</a>
<noscript>no script</noscript><template><p>templated</p></template>Caf\u00e9 \u2014 \u65e5\u672c
<div><p>separators\x1c\x1dand\x1e\x1fcontrols\x0b\x0cin\r\ra paragraph long enough to be scored as one</p>
<p>  \t spaced  \n  out text that runs long enough to count as a paragraph of its own, too  </p></div></body></html>"""


@needs_compiled
def test_each_text_and_names_function_in_c_gives_what_its_python_twin_gives():
    """Element by element, on every fixture page and a page of edge cases (a script as the
    root, comments, nested links, duplicate attributes, hidden and framed elements): the text
    functions, the names and links walks, the container scores of each element's subtree and
    the subtree walks that stop at some elements."""
    import parsers._names_walk  # noqa: F401
    import parsers.api as api
    import parsers._text_walk as in_c
    import parsers.generic as generic
    import parsers.textutil as textutil
    from parsers.htmlload import parse_html

    pages = [path.read_bytes().decode("utf-8", "replace") for path in sorted(FIXTURES.rglob("*.html"))]
    pages.append(_EDGES)
    walk_in_c = generic._walk_in_c
    checked = 0

    subtree_in_c, links_in_c = generic._subtree_in_c, api._links_in_c

    def both(fn):  # noqa: ANN001
        generic._text_in_c, textutil._in_c, generic._walk_in_c, generic._subtree_in_c = None, None, None, None
        api._links_in_c = None
        try:
            python = fn()
        finally:
            generic._text_in_c, textutil._in_c, generic._walk_in_c = in_c, in_c, walk_in_c
            generic._subtree_in_c, api._links_in_c = subtree_in_c, links_in_c
        return python, fn()

    # and nodes the parsers' trees never hold (their parser drops them), as lxml gives them elsewhere
    kept = lxml.html.fragment_fromstring("<div>text <!-- a comment that runs long enough --> tail</div>")
    odd = [kept, *kept, lxml.html.HtmlComment("a comment\nof two lines"), etree.ProcessingInstruction("pi", "x y")]
    assert isinstance(odd[1], etree._Comment) and isinstance(odd[-1], etree._ProcessingInstruction)
    try:
        for node in odd:
            python, c = both(lambda: (generic._text_mass(node), textutil.text_of(node), textutil.folded_length(node),
                                      textutil.block_texts(node),
                                      generic._direct_text(node), generic._direct_text(node, 25),
                                      generic._link_density(node, 37)))
            assert python == c, node
            checked += 1
        for html in pages:
            tree = parse_html(html)
            python, c = both(lambda: generic._Names(tree))
            assert python.elements == c.elements and python._values == c._values
            assert (python.flagged, python.invisible, python.rdfa_or_byline, python.schema_comments,
                    python.article_bodies) == (c.flagged, c.invisible, c.rdfa_or_byline, c.schema_comments,
                                               c.article_bodies)
            for url in ("https://example.org/dir/page?x=1", "http://bench.invalid/p", "ftp://x.example/"):
                python, c_links = both(lambda: api.page_links(tree, url))
                assert python == c_links, url
            known = c.body_flags()
            # subtree walks that stop at some elements (nested comments) and pick others out
            every = [el for el in tree.iter() if isinstance(el.tag, str)]
            stop, wanted = set(every[3::7]), set(c.elements)
            for el in tree.iter():
                if not isinstance(el.tag, str):
                    continue
                python, in_c_ = both(lambda: [generic._text_exceeds(el, n) for n in (0, 3, 25, 600)])
                assert python == in_c_, (el.tag, el.attrib)
                python, in_c_ = both(lambda: generic._text_mass(el))
                assert python == in_c_, (el.tag, el.attrib)
                python, in_c_ = both(lambda: ([generic._within(el, stop, w, k) for w in (wanted, None)
                                               for k in (True, False)], generic._holds_any(el, stop),
                                              generic._holds_any(el, set())))
                assert python == in_c_, (el.tag, el.attrib)
                # the container scores: the same elements, in the same order, the same floats
                # (C first: it then meets nodes without a proxy, as in a parse)
                for names in (known, None):
                    c_scores = list(generic._score_blocks(el, names).items())
                    python_scores, _ = both(lambda: list(generic._score_blocks(el, names).items()))
                    assert python_scores == c_scores, (el.tag, el.attrib)
                if el.tag in ("a", "area", "div"):
                    python, c_links = both(lambda: api.page_links(el, "https://example.org/d/"))
                    assert python == c_links
                python, c = both(lambda: (textutil.text_of(el), textutil.folded_length(el), textutil.block_texts(el),
                                          generic._direct_text(el), generic._direct_text(el, 25),
                                          generic._link_density(el, 37), generic._link_density(el, 0)))
                assert python == c, (el.tag, el.attrib)
                checked += 1
    finally:
        generic._text_in_c, textutil._in_c, generic._walk_in_c = in_c, in_c, walk_in_c
    assert checked > 2000


@needs_compiled
def test_digit_runs_are_written_as_zeros_in_c_as_the_regex_writes_them():
    """The names walk looks a value up under its digits-as-zeros shape: the C loop gives the
    regex's answer on every class and id of the fixture pages and on runs of every length, at
    either end, and in other scripts' decimal digits (which \\d reads too)."""
    import parsers._names_walk as in_c
    from parsers.generic import _digit_shape
    from tests.test_generic_comments import fixture_names

    values = ["", "1", "12", "123", "1234567890", "a1b2c3", "post-12", "post-123x", "x99y999z9",
              "12-34-567", "c45", "comment-4567", "\u0661\u0662 arabic", "x\u0966\u0967\u0968", "\u00b2\u00b3 sup",
              "½12", "9\n99", "a 0 00 000 0000"]
    values += fixture_names("class", "id")
    assert sum(any(ch.isdigit() for ch in v) for v in values) > 50
    for value in values:
        assert in_c.digit_shape(value) == _digit_shape(value), value
    assert in_c.digit_shape("post-7168 c1 x22") == "post-000 c1 x00"


@needs_compiled
def test_drop_tree_in_c_leaves_the_tree_lxml_html_leaves():
    """textutil.drop_tree() in C against lxml.html's drop_tree(), element by element on the edge
    page and every fifth element of each fixture page, each in a fresh copy of the page: the
    same tree after (tails joined to the previous sibling or the parent's text)."""
    import copy

    import parsers.generic as generic
    import parsers.textutil as textutil
    from parsers.htmlload import parse_html

    pages = [_EDGES, "<div>lead<p>one</p>tail one<b>b</b>tail b<!-- c -->after comment</div>"] + \
        [path.read_bytes().decode("utf-8", "replace") for path in sorted(FIXTURES.rglob("*.html"))]
    dropped = 0
    for n, html in enumerate(pages):
        tree = parse_html(html)
        elements = [el for el in tree.iter() if el.getparent() is not None]
        for el in elements if n < 2 else elements[::5]:
            in_python, in_c = copy.deepcopy(tree), copy.deepcopy(tree)
            generic._same_place(el, tree, in_python).drop_tree()
            textutil.drop_tree(generic._same_place(el, tree, in_c))
            assert etree.tostring(in_python) == etree.tostring(in_c), el.tag
            dropped += 1
    assert dropped > 500
    with pytest.raises(AssertionError):  # the root, as lxml.html's says
        textutil.drop_tree(parse_html("<p>x</p>"))
