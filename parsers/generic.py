"""Generic extraction for pages without a profile: metadata, body, comments, ads.

Metadata precedence (first found wins; `metadata.sources` says which):
JSON-LD (schema.org Article / NewsArticle / MedicalWebPage / WebPage) > OpenGraph and article:* >
Dublin Core / RDFa > other meta tags > visible bylines and <time> > <title> > htmldate (dates only).

Body: the block of the page whose text is densest in sentences and poorest in links, scored
per container in one walk of the tree; boilerplate containers (navigation, sidebars, comment
sections, share bars, newsletters, cookie banners, related posts, ads) are removed first.
Comments: WordPress lists, Disqus markup, schema.org Comment (microdata and JSON-LD), and
repeated sibling blocks carrying an author, a date and text.
"""

from __future__ import annotations

import hashlib
import json
import bisect
import copy
import functools
import itertools
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import lxml.html
from lxml import etree

from parsers.records import Ad, Body, Comment, Metadata, ParsedPage, Related, ThreadInfo
from parsers.sanitize import sanitize_fragments
from parsers.urls import join_url
from parsers.textutil import (SKIP_TAGS, block_texts, drop_tree, fold_ws, folded_length, inline_text, is_hidden,
                              text_of, to_iso_date)
from parsers.version import PARSER_VERSION

ARTICLE_TYPES = {"article", "newsarticle", "blogposting", "medicalwebpage", "webpage", "report",
                 "scholarlyarticle", "medicalscholarlyarticle", "healthtopiccontent", "techarticle", "posting"}

# class/id words that mark boilerplate containers (never the article body)
_BOILER_WORDS = (
    "nav", "navbar", "menu", "breadcrumbs?", r"sidebar\w*", "side-bar", "widget", "footer", "foot", "header",
    "masthead", "comments?", "comment-list", "respond", "disqus", "share", "sharing", "social", "newsletter",
    "subscribe", "signup", "cookie", "consent", "gdpr", "related", "recommend", "promo", "sponsor", "advert", "ads?",
    "adsbygoogle", "banner", "popup", "modal", "author-?box", "byline-box", "tags?", "taglist", "pagination",
    "pager", "skip", "toolbar", "outbrain", "taboola", "rail", "trending", "most-popular", "about-?(the-?)?author",
    "author-?(bio|info|text|details|description|profile)", "bio", "profile-?block")
_BOILER = re.compile(r"(^|[\s_-])(" + "|".join(_BOILER_WORDS) + r")([\s_-]|$)", re.I)
_BODY_NAME = re.compile(r"(^|[\s_-])(entry-?content|entry-?body|post-?body|post-?content|post-?entry|"
                        r"article-?body|article-?content|article-?text|story-?body|story-?content|"
                        r"articlebody|storytext|single-?post-?content|blog-?post-?content|td-post-content)"
                        r"([\s_-]|$)", re.I)
_POSITIVE = re.compile(r"(article|content|entry|post-body|postbody|story|main|text|body|blog)", re.I)
_AD_MARK = re.compile(r"(^|[\s_-])(ad|ads|advert|advertisement|adsbygoogle|ad-slot|adslot|dfp|gpt-ad|banner-ad|"
                      r"sponsor(ed)?|outbrain|taboola|recommend(ed|ations)?|newsletter|subscribe|social|share)"
                      r"([\s_-]|$)", re.I)
# a pingback in all but name: "X reblogged this on Y" at the start, or a paragraph that opens
# with the "[...]" of the excerpt WordPress shows of the linking post (_reblog() tries both)
_REBLOG_LEAD = re.compile(r"(\S+ \d{1,2},? \d{4}\s+)?reblogged this on ", re.I)
_EXCERPT_OPEN = re.compile(r"(^|\n)\[(\.\.\.|…)\]")
_RELATIVE = re.compile(r"(\d+|an?|one)\s+(second|minute|hour|day|week|month|year)s?\s+ago", re.I)
_REPLY = re.compile(r"^@(\S+?)\s*(?:--|-\s|,|:|\s)")
_CHROME_COMMENT = re.compile(r"^(leave a (reply|comment)|no comments( yet)?|be the first to comment|"
                             r"(\d+\s+)?comments?|post a comment|add (a|your) comment.*|reply|log ?in to comment|"
                             r"(view|show|load|see) (all|more)( \d+)? comments.*|enter your (comment|email).*|"
                             r"comments are closed.*|[\W\d_]*)\.?$", re.I)


def _attrs(el: lxml.html.HtmlElement) -> str:
    return f"{el.get('class') or ''} {el.get('id') or ''} {el.get('role') or ''}"


@functools.lru_cache(maxsize=1 << 15)
def _has(pattern: re.Pattern[str], names: str) -> bool:
    """pattern.search(names), remembered: the same class and id strings come back on element
    after element (and page after page of one site), and these patterns are long alternations."""
    return pattern.search(names) is not None


def _names_match(pattern: re.Pattern[str], el: lxml.html.HtmlElement) -> bool:
    """_has(pattern, _attrs(el)) for a pattern that cannot match across a space (whole words,
    or words without spaces): looked up per class, id and role value, so a class string that
    comes back is remembered even when the element's id is unique."""
    seen = _MATCHED.get(pattern)
    if seen is None:
        seen = _MATCHED[pattern] = {}
    get = el.get
    for value in (get("class"), get("id"), get("role")):
        if value:
            hit = seen.get(value)
            if hit is None:
                if len(seen) >= 1 << 15:  # unique ids would grow it without end
                    seen.clear()
                hit = seen[value] = _has(pattern, _role_words(value))
            if hit:
                return True
    return False


# _names_match's answers per pattern and raw value: a dict lookup, where _has() (an lru_cache)
# makes a key of pattern and value and _role_words() tests the value first (comment threads
# ask this of every element of every comment)
_MATCHED: dict[re.Pattern[str], dict[str, bool]] = {}


# the attributes the names walk reads besides class and id
_RARE_ATTRS = frozenset({"role", "itemtype", "property", "rel", "itemprop", "style", "hidden"})

_XPATHS: dict[str, etree.XPath] = {}

try:  # the names walk in C, where setup.py could compile it (else the loop in _Names runs)
    from parsers._names_walk import walk as _walk_in_c
except ImportError:
    _walk_in_c = None
try:  # _within() and _holds_any() in C, likewise (the same module)
    from parsers import _names_walk as _subtree_in_c
except ImportError:
    _subtree_in_c = None  # type: ignore[assignment]
try:  # _direct_text() and _link_density() in C, likewise (parsers/_text_walk.pyx)
    from parsers import _text_walk as _text_in_c
except ImportError:
    _text_in_c = None


def _xpath(expr: str) -> etree.XPath:
    """A compiled XPath, kept: compiling is most of a small query's cost."""
    compiled = _XPATHS.get(expr)
    if compiled is None:
        compiled = _XPATHS[expr] = etree.XPath(expr)
    return compiled


class _Names:
    """The class, id and role of every element that has one (and every <ins> and <iframe>),
    found in one walk of the tree and shared by the finders that go by names (ads, comment
    items, comment sections). Each of their patterns is then searched once over all the names,
    one line per element (in C), instead of once per element from Python."""

    def __init__(self, tree: lxml.html.HtmlElement) -> None:
        self.elements: list[lxml.html.HtmlElement] = []  # document order
        self._values: dict[str, list[str]] = {"class": [], "id": [], "role": []}
        self.schema_comments: list[lxml.html.HtmlElement] = []  # itemtype schema.org/Comment
        # RDFa Dublin Core properties (property="dc:...") and byline candidates (rel or
        # itemprop "author", class "byline" or "author-name"): what the metadata reads
        self.rdfa_or_byline: list[lxml.html.HtmlElement] = []
        self.article_bodies: list[lxml.html.HtmlElement] = []  # itemprop="articleBody"
        # scripts, styles, controls (not forms) and elements hidden by their own style or
        # hidden attribute, in document order
        self.invisible: list[lxml.html.HtmlElement] = []
        classes, ids, roles = self._values["class"], self._values["id"], self._values["role"]
        # (element, flags) of the elements with any flag, in document order: bit i set when
        # _NAME_PATTERNS[i] matches its names (and _IFRAME_BIT for an <iframe>); what the
        # finders read (most named elements have none)
        self.flagged: list[tuple[lxml.html.HtmlElement, int]] = []
        add_flagged = self.flagged.append
        known = _VALUE_BITS.get
        # (bound once: the loop runs for every element of the page)
        add_element, add_class, add_id, add_role = (
            self.elements.append, classes.append, ids.append, roles.append)
        add_invisible, add_byline = self.invisible.append, self.rdfa_or_byline.append
        invisible_tags, rare_attrs, value_bits = _INVISIBLE_TAGS, _RARE_ATTRS, _value_bits
        class_bits, id_bits, all_bits = _CLASS_BITS, _ID_BITS, _ALL_BITS
        if _walk_in_c is not None:  # the same walk over libxml2's nodes (parsers/_names_walk.pyx)
            (self.elements, classes, ids, roles, self.invisible, self.rdfa_or_byline,
             self.schema_comments, self.article_bodies, self.flagged) = _walk_in_c(
                tree, _VALUE_BITS, value_bits, class_bits, id_bits, all_bits, invisible_tags, rare_attrs,
                _own_hidden, _IFRAME_BIT, _BYLINE_BIT)
            self._values = {"class": classes, "id": ids, "role": roles}
            self._lines = {}
            self._marked = {}
            return
        for el in tree.iter():
            tag = el.tag
            if tag.__class__ is not str:  # comments and processing instructions
                continue
            # all attributes in one call, read from a dict: cheaper than lxml's get() per name,
            # and most elements have none (the HTML parser keeps one value per name)
            attrs = el.items()
            if not attrs:  # only its tag can make it count
                if tag in invisible_tags:
                    add_invisible(el)
                if tag == "ins" or tag == "iframe":
                    add_element(el)
                    add_class("")
                    add_id("")
                    add_role("")
                    if tag == "iframe":
                        add_flagged((el, _IFRAME_BIT))
                continue
            # class and id picked out in one pass over the (usually one or two) attributes; a
            # dict for the rarer ones only where the element has any
            cls = eid = role = None
            rare = False
            for name, value in attrs:
                if name == "class":
                    cls = value
                elif name == "id":
                    eid = value
                elif name in rare_attrs:
                    rare = True
            class_found = 0  # value_bits(cls), looked up once (_BYLINE_BIT: "byline" or "author-name" in it)
            if cls:
                b = known(cls)
                class_found = value_bits(cls) if b is None else b
            if rare:
                get = dict(attrs).get
                role = get("role")
                itemtype = get("itemtype")
                if itemtype is not None and "schema.org/Comment" in itemtype:
                    self.schema_comments.append(el)
                prop = get("property")
                itemprop = get("itemprop")
                if (prop is not None and prop.startswith("dc:")) or get("rel") == "author" \
                        or itemprop == "author" or class_found & _BYLINE_BIT:
                    add_byline(el)
                if itemprop == "articleBody":
                    self.article_bodies.append(el)
                # what _drop_invisible() would cut (the body, when it works on this tree itself)
                if tag in invisible_tags or ((get("style") is not None or get("hidden") is not None)
                                              and _own_hidden(el)):
                    add_invisible(el)
            else:
                if class_found & _BYLINE_BIT:
                    add_byline(el)
                if tag in invisible_tags:
                    add_invisible(el)
            if cls is None and eid is None and role is None and tag != "ins" and tag != "iframe":
                continue
            add_element(el)
            add_class(cls or "")
            add_id(eid or "")
            add_role(role or "")
            # which of the finders' name patterns this element's names match (see _NAME_PATTERNS)
            f = 0
            if cls:
                f = class_found & class_bits
            if eid:
                b = known(eid)
                f |= (value_bits(eid) if b is None else b) & id_bits
            if role:
                b = known(role)
                f |= (value_bits(role) if b is None else b) & all_bits
            if tag == "iframe":
                f |= _IFRAME_BIT
            if f:
                add_flagged((el, f))
        self._lines: dict[str, tuple[str, list[int]]] = {}
        self._marked: dict[int, set[lxml.html.HtmlElement]] = {}

    def _text(self, of: str) -> tuple[str, list[int]]:
        """One line per element ("all": class, id and role joined as _attrs() joins them), and
        where each line starts; made on first use."""
        made = self._lines.get(of)
        if made is None:
            v = self._values
            lines = ([f"{c} {i} {r}" for c, i, r in zip(v["class"], v["id"], v["role"])] if of == "all"
                     else v[of])
            text = "\n".join(lines)
            if text.count("\n") != max(len(lines) - 1, 0):  # a value with a newline of its own
                lines = [line.replace("\n", " ") for line in lines]
                text = "\n".join(lines)
            # each line after a newline, the first one too: a word at a line's start has a
            # separator before it, which lets the patterns start with a character class
            made = self._lines[of] = ("\n" + text, list(itertools.accumulate((len(x) + 1 for x in lines[:-1]),
                                                                             initial=1)))
        return made

    def marked(self, bits: int) -> set[lxml.html.HtmlElement]:
        """The elements with any of these _NAME_PATTERNS bits (remembered per bits)."""
        found = self._marked.get(bits)
        if found is None:
            found = self._marked[bits] = {el for el, f in self.flagged if f & bits}
        return found

    def body_flags(self) -> dict[lxml.html.HtmlElement, int]:
        """_element_flags() of every element whose names give any, from the walk's bits (the
        same whole-word patterns, looked up per value); an element not in it has none."""
        out: dict[lxml.html.HtmlElement, int] = {}
        for el, f in self.flagged:
            if f & (_COMMENTISH_BIT | _BOILER_BIT):
                out[el] = (1 if f & _COMMENTISH_BIT else 0) | (2 if f & _BOILER_BIT else 0)
        return out

    def with_id(self, eid: str) -> lxml.html.HtmlElement | None:
        """The first element with this id."""
        try:
            return self.elements[self._values["id"].index(eid)]
        except ValueError:
            return None

    def matching(self, pattern: re.Pattern[str], of: str = "all") -> list[lxml.html.HtmlElement]:
        """Elements whose names (of: "all" = class, id and role as _attrs() joins them; "class";
        "id") the pattern matches, in document order. The pattern gets re.M, so ^ and $ hold
        for each element's line; a match never spans lines (it holds no newline), and its last
        character lies in the line it matched in."""
        bit = _NAME_BIT.get((pattern, of))
        if bit is not None:  # one of the finders' patterns: already looked up in the walk
            return [el for el, f in self.flagged if f & bit]
        if pattern is _BODY_NAME and of == "all":
            # value by value, remembered with the scoring's weights (_weight_bits, bit 1): the
            # pattern holds no whitespace and is bounded by separators, so it matches an
            # element's line where it matches one of the line's values (and the lines of a few
            # hundred elements need not be joined for it, nor all searched case-blind)
            weights, found = _WEIGHT_BITS, []
            v = self._values
            for el, cls, eid, role in zip(self.elements, v["class"], v["id"], v["role"]):
                for value in (cls, eid, role):
                    if value:
                        b = weights.get(value)
                        if (_weight_bits(value) if b is None else b) & 1:
                            found.append(el)
                            break
            return found
        return self._matching_lines(pattern, of)

    def _matching_lines(self, pattern: re.Pattern[str], of: str = "all") -> list[lxml.html.HtmlElement]:
        """matching(), by searching the lines of all the elements' names at once."""
        lined = _LINED.get(pattern)
        if lined is None:
            lined = _LINED[pattern] = _lined(pattern)
        text, starts = self._text(of)
        found: list[lxml.html.HtmlElement] = []
        last = -1
        for m in lined.finditer(text):
            k = bisect.bisect_right(starts, max(m.end() - 1, m.start())) - 1
            if k != last:
                found.append(self.elements[k])
                last = k
        return found


_LINED: dict[re.Pattern[str], re.Pattern[str]] = {}


def _lined(pattern: re.Pattern[str]) -> re.Pattern[str]:
    """The pattern for _Names' text: re.M, so ^ and $ hold per line; a leading "start or
    separator" becomes "separator" (every line follows a newline), which lets the regex engine
    skip ahead to separators instead of trying every word at every character (twice as fast);
    a trailing "separator or end" becomes a lookahead, so a match never takes the separator
    the next word needs."""
    src = pattern.pattern
    for lead, fast in (("(^|[\\s_-])", "[\\s_-]"), ("(^|\\s)", "\\s")):
        if src.startswith(lead):
            src = fast + src[len(lead):]
    for tail, ahead in (("([\\s_-]|$)", "(?=[\\s_-]|$)"), ("(\\s|$)", "(?=\\s|$)")):
        if src.endswith(tail):
            src = src[: -len(tail)] + ahead
    return re.compile(src, pattern.flags | re.M)


# ---- metadata ----------------------------------------------------------------------------

def _jsonld_objects(tree: lxml.html.HtmlElement) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for script in tree.iter("script"):
        if (script.get("type") or "").lower() != "application/ld+json" or not script.text:
            continue
        try:
            data = json.loads(script.text.strip().rstrip(";"))
        except (ValueError, RecursionError):
            continue
        stack = [data]
        while stack:
            item = stack.pop()
            if isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, dict):
                out.append(item)
                if "@graph" in item:
                    stack.append(item["@graph"])
    return out


def _types(obj: dict[str, Any]) -> set[str]:
    t = obj.get("@type", [])
    return {str(x).lower() for x in (t if isinstance(t, list) else [t])}


def _names(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [n for v in value for n in _names(v)]
    if isinstance(value, dict):
        return _names(value.get("name"))
    text = fold_ws(str(value))
    return [text] if text else []


def _meta(tree: lxml.html.HtmlElement) -> dict[str, str]:
    out: dict[str, str] = {}
    for m in tree.iter("meta"):
        key = (m.get("property") or m.get("name") or m.get("itemprop") or m.get("http-equiv") or "").strip().lower()
        value = m.get("content")
        if key and value and key not in out:
            out[key] = fold_ws(value)
    return out


def extract_metadata(tree: lxml.html.HtmlElement, url: str, jsonld: list[dict[str, Any]] | None = None,
                     names: _Names | None = None) -> Metadata:
    """jsonld and names: the page's JSON-LD objects and names walk, when the caller has them."""
    md = Metadata()

    def put(field: str, value: Any, source: str) -> None:
        if value in (None, "", []) or getattr(md, field) not in (None, "", []):
            return
        setattr(md, field, value)
        md.sources[field] = source

    for obj in _jsonld_objects(tree) if jsonld is None else jsonld:
        if not _types(obj) & ARTICLE_TYPES:
            continue
        put("title", fold_ws(str(obj.get("headline") or obj.get("name") or "")) or None, "json-ld")
        put("authors", _names(obj.get("author")), "json-ld")
        put("editors", _names(obj.get("editor")), "json-ld")
        put("reviewers", _names(obj.get("reviewedBy")), "json-ld")
        put("published", to_iso_date(obj.get("datePublished")), "json-ld")
        put("modified", to_iso_date(obj.get("dateModified")), "json-ld")
        put("last_reviewed", to_iso_date(obj.get("lastReviewed")), "json-ld")
        put("publisher", (_names(obj.get("publisher")) or [None])[0], "json-ld")
        put("copyright", (_names(obj.get("copyrightHolder")) or [None])[0], "json-ld")
        put("description", fold_ws(str(obj.get("description") or "")) or None, "json-ld")
        put("language", obj.get("inLanguage") if isinstance(obj.get("inLanguage"), str) else None, "json-ld")
        section = obj.get("articleSection")
        put("category", section[0] if isinstance(section, list) and section else section, "json-ld")
    meta = _meta(tree)
    put("title", meta.get("og:title"), "og")
    put("authors", [meta["article:author"]] if "article:author" in meta and not meta["article:author"].startswith("http") else [], "og")
    put("published", to_iso_date(meta.get("article:published_time")), "og")
    put("modified", to_iso_date(meta.get("article:modified_time") or meta.get("og:updated_time")), "og")
    put("description", meta.get("og:description"), "og")
    put("category", meta.get("article:section"), "og")
    put("publisher", meta.get("og:site_name"), "og")
    for dc in ("dc.title", "dcterms.title"):
        put("title", meta.get(dc), "dublin-core")
    for dc in ("dc.creator", "dcterms.creator"):
        put("authors", [meta[dc]] if dc in meta else [], "dublin-core")
    for dc in ("dc.date", "dcterms.created", "dcterms.issued", "dc.date.issued"):
        put("published", to_iso_date(meta.get(dc)), "dublin-core")
    put("modified", to_iso_date(meta.get("dcterms.modified")), "dublin-core")
    put("publisher", meta.get("dc.publisher") or meta.get("dcterms.publisher"), "dublin-core")
    put("copyright", meta.get("dc.rights") or meta.get("dcterms.rights"), "dublin-core")
    # one walk for every RDFa property and every byline candidate
    by_property: dict[str, list[lxml.html.HtmlElement]] = {}
    bylines: list[lxml.html.HtmlElement] = []
    for n in (names or _Names(tree)).rdfa_or_byline:
        prop = n.get("property") or ""
        if prop.startswith("dc:"):
            by_property.setdefault(prop, []).append(n)
        if n.get("rel") == "author" or n.get("itemprop") == "author" or "byline" in (n.get("class") or "") \
                or "author-name" in (n.get("class") or ""):
            bylines.append(n)
    for prop, field in (("dc:creator", "authors"), ("dc:editor", "editors"), ("dc:date", "modified"),
                        ("dc:publisher", "publisher"), ("dc:title", "title")):
        nodes = [n for n in by_property.get(prop, []) if not is_hidden(n)]
        if nodes:
            values = [inline_text(n) for n in nodes]
            if field == "authors" or field == "editors":
                put(field, [v for v in values if v], "rdfa")
            elif field == "modified":
                put(field, to_iso_date(values[0]), "rdfa")
            else:
                put(field, values[0] or None, "rdfa")
    put("authors", [meta["author"]] if meta.get("author") else [], "meta")
    put("description", meta.get("description"), "meta")
    put("published", to_iso_date(meta.get("date") or meta.get("pubdate") or meta.get("publish-date")), "meta")
    put("language", meta.get("content-language"), "meta")
    put("copyright", meta.get("copyright"), "meta")
    # visible bylines
    for el in bylines:
        if not is_hidden(el):
            name = re.sub(r"^\s*(by|written by)\s+", "", inline_text(el), flags=re.I).strip()
            if 0 < len(name) <= 80:
                put("authors", [name], "byline")
                break
    for t in tree.iter("time"):
        dt = to_iso_date(t.get("datetime") or inline_text(t))
        if dt:
            put("published", dt, "time")
            break
    h1 = next((h for h in tree.iter("h1") if not is_hidden(h) and inline_text(h)), None)
    if md.title is None:
        title_el = tree.find(".//title")
        if title_el is not None and inline_text(title_el):
            put("title", inline_text(title_el), "title")
        elif h1 is not None:
            put("title", inline_text(h1), "h1")
    for link in tree.iter("link"):
        if (link.get("rel") or "").lower() == "canonical" and link.get("href") \
                and (canonical := join_url(url, link.get("href").strip())) is not None:
            put("canonical_url", canonical, "link")
            break
    html_el = tree if tree.tag == "html" else tree.find(".//html")
    if html_el is not None and html_el.get("lang"):
        put("language", html_el.get("lang"), "html-lang")
    return md


def htmldate_fallback(tree: lxml.html.HtmlElement, md: Metadata, url: str | None = None) -> None:
    """Last resort for a publication date (htmldate, which also reads dates in the URL's
    path), only when nothing else found one. htmldate is given the parsed tree (it copies the
    tree before pruning it): from the text it would parse the whole page a second time. The
    caller cuts the ads and comments out first: a comment's date is not the page's."""
    if md.published or md.modified:
        return
    try:
        from htmldate import find_date

        found = find_date(tree, url=url, extensive_search=False, original_date=True)
    except Exception:  # noqa: BLE001 - a heuristic library must never break parsing
        return
    if found:
        md.published = found
        md.sources["published"] = "htmldate"


# ---- ads ---------------------------------------------------------------------------------

def _ad_kind(el: lxml.html.HtmlElement) -> str | None:
    a = _attrs(el).lower()
    tag = el.tag
    if tag == "ins" and "adsbygoogle" in a:
        return "ad"
    if tag == "iframe":
        src = (el.get("src") or "").lower()
        if any(k in src for k in ("doubleclick", "googlesyndication", "adservice", "/ads/", "amazon-adsystem")):
            return "ad"
        return None
    if not _has(_AD_MARK, a):
        return None
    if "outbrain" in a or "taboola" in a or "recommend" in a:
        return "recommendation"
    if "sponsor" in a:
        return "sponsored"
    if "newsletter" in a or "subscribe" in a:
        return "newsletter"
    if "social" in a or "share" in a:
        return "social"
    return "ad"


_ADSBYGOOGLE = re.compile("adsbygoogle", re.I)
_INVISIBLE_TAGS = SKIP_TAGS - {"form"}  # what _drop_invisible() cuts by tag


_AD_TEXT_LIMIT = 600  # characters: a longer block marked like an ad is no ad


def _text_exceeds(el: lxml.html.HtmlElement, limit: int) -> bool:
    """True when the text inline_text(el) reads holds more than `limit` non-whitespace
    characters, so that inline_text(el) is longer than `limit` too; counting stops there.
    The same text nodes as block_texts (scripts and form controls skipped, their tails kept),
    in any order: only their sum matters. (An element without children gives False: the
    count is looked at from its first child on; _collect_ads measures such a one whole.)"""
    if _text_in_c is not None and isinstance(el.tag, str):  # (counted from the text nodes)
        return _text_in_c.text_exceeds(el, limit, SKIP_TAGS)
    count = sum(map(len, el.text.split())) if el.text and el.tag not in SKIP_TAGS else 0
    stack = list(el)
    while stack:
        node = stack.pop()
        if node.tail:
            count += sum(map(len, node.tail.split()))
        tag = node.tag
        if isinstance(tag, str) and tag not in SKIP_TAGS:
            if node.text:
                count += sum(map(len, node.text.split()))
            stack.extend(node)
        if count > limit:
            return True
    return False


def _collect_ads(tree: lxml.html.HtmlElement, url: str,
                 names: _Names | None = None) -> tuple[list[Ad], set[lxml.html.HtmlElement]]:
    names = names or _Names(tree)
    ads: list[Ad] = []
    # Elements themselves, not id()s: lxml makes proxies on demand, and a dead proxy's id is reused.
    removed: set[lxml.html.HtmlElement] = set()
    # only ad-named elements, <ins class=adsbygoogle> and iframes can be ads (in document order:
    # an ad inside one already taken is not another ad)
    marked = _NAME_BIT[(_AD_MARK, "all")] | _NAME_BIT[(_ADSBYGOOGLE, "all")]
    for el, flags in names.flagged:
        if not flags & marked:
            if not flags & _IFRAME_BIT:
                continue
        elif el.tag in ("html", "body"):
            continue
        kind = _ad_kind(el)
        if kind is None:
            continue
        if any(a in removed for a in el.iterancestors()):
            continue
        # a big block marked "share" may be the article with a share bar inside: only small ones
        # (counting stops at the limit: a big block's full text would be built only to be dropped)
        small_only = el.tag not in ("ins", "iframe")
        if small_only and _text_exceeds(el, _AD_TEXT_LIMIT):
            continue
        text = inline_text(el)
        if len(text) > _AD_TEXT_LIMIT and small_only:
            continue
        link = next((a.get("href") for a in el.iter("a") if a.get("href") and not a.get("href").startswith("#")), None)
        slot = el.get("id") or (el.get("class") or "").split(" ")[0] or el.tag
        ads.append(Ad(kind=kind, slot=slot, text=text or None, url=join_url(url, link) if link else None))
        removed.add(el)
    return ads, removed


# ---- comments ----------------------------------------------------------------------------

def _resolve_relative(text: str, fetched_at: datetime | None) -> str | None:
    m = _RELATIVE.search(text or "")
    if not m or fetched_at is None:
        return to_iso_date(text) if text else None
    n = 1 if m.group(1).lower() in ("a", "an", "one") else int(m.group(1))
    unit = m.group(2).lower()
    seconds = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 604800,
               "month": 2629800, "year": 31557600}[unit] * n
    when = fetched_at.astimezone(timezone.utc) - timedelta(seconds=seconds)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _posted(el: lxml.html.HtmlElement | None, fetched_at: datetime | None) -> str | None:
    if el is None:
        return None
    dt = el.get("datetime") or el.get("content") or el.get("title")
    if dt:
        parsed = to_iso_date(dt)
        if parsed:
            return parsed
    text = inline_text(el)
    if text.lower() in ("yesterday",) and fetched_at is not None:
        return (fetched_at - timedelta(days=1)).strftime("%Y-%m-%d")
    return _resolve_relative(text, fetched_at)


def _first(el: lxml.html.HtmlElement, xpath: str) -> lxml.html.HtmlElement | None:
    found = _xpath(xpath)(el)
    return found[0] if found else None


def _item_author(li: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
    """_first(li, _AUTHOR_CLASS), walked in Python (stops at the first hit; the XPath finds all):
    each branch's [1] keeps the first match among siblings, so the union's first in document
    order is the first descendant that is a <cite> or has such a class."""
    for d in li.iterdescendants():
        tag = d.tag
        if tag == "cite":
            return d
        if tag.__class__ is str:
            cls = d.get("class")
            if cls is not None and ("fn" in cls or "author" in cls or "name" in cls or "user" in cls):
                return d
    return None


def _item_stamp(li: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
    """_first(li, ".//time[@datetime]"), else the first in document order of
    `.//time | .//*[contains(@class,'comment-date') or contains(@class,'comment-meta')]//a |
    .//*[contains(@class,'date') or contains(@class,'time')]`, walked in Python (stops at the
    first hit)."""
    for t in li.iterdescendants("time"):
        if t.get("datetime") is not None:
            return t
    for d in li.iterdescendants():
        tag = d.tag
        if tag == "time":
            return d
        if tag.__class__ is not str:
            continue
        cls = d.get("class")
        if cls is not None and ("date" in cls or "time" in cls):
            return d
        if tag == "a":  # inside a comment-date/-meta element below li
            node = d.getparent()
            while node is not li:
                c = node.get("class")
                if c is not None and ("comment-date" in c or "comment-meta" in c):
                    return d
                node = node.getparent()
    return None


# Inside a comment's author element, what is not the name: its date, permalink, reply and edit
# links ("nomaduk 10.29.2012 Log in to Reply", "Trevor | Posted at 12:45pm")
_NOT_NAME = re.compile(r"date|time|reply|permalink|edit|meta|comment-?link|count|number", re.I)
_URL_WORD = re.compile(r"\bhttps?://\S+")
_NAME_EDGES = " |·•,;:-–—"
_SAID = re.compile(r"\s*\b(said|says|wrote)\s*(\.\.\.|…|:)?$", re.I)


def _author_text(el: lxml.html.HtmlElement) -> str:
    """The name an author element shows, without the date, permalink or reply link some
    templates put beside it in the same element, a URL printed before it, or a trailing
    "says:" / "said...". The whole text when nothing else is left."""
    whole = fold_ws(el.text) if not len(el) else inline_text(el)  # (most hold just the name)
    skip = [d for d in el.iterdescendants() if d.tag.__class__ is str and (
        ((cls := d.get("class")) and _NOT_NAME.search(cls)) or (d.tag == "a" and "#" in (d.get("href") or "")))
            ] if len(el) else None
    name = inline_text(_without(el, [d for d in skip if not any(a in skip for a in d.iterancestors())])) \
        if skip else whole
    if "http" in name:
        name = _URL_WORD.sub(" ", name)
    name = fold_ws(_SAID.sub("", name)).strip(_NAME_EDGES)
    return name or whole


def _without(el: lxml.html.HtmlElement, parts: list[lxml.html.HtmlElement]) -> lxml.html.HtmlElement:
    """A copy of the element with the given descendants left out (their tails kept): for its
    text only, the page's tree stays whole."""
    copy_ = copy.deepcopy(el)
    for cut in [_same_place(p, el, copy_) for p in parts]:
        if cut.getparent() is not None:
            drop_tree(cut)
    return copy_


def _first_named(el: lxml.html.HtmlElement, words: tuple[str, ...],
                 tag: str | None = None) -> lxml.html.HtmlElement | None:
    """_first(el, ".//*[contains(@class,w1) or ...][1]") (with `.//TAG | ` before it, if tag),
    walked in Python (stops at the first hit): [1] keeps the first match among siblings, so the
    first in document order is the first descendant with such a class (or that tag)."""
    for d in el.iterdescendants():
        t = d.tag
        if t.__class__ is not str:
            continue
        if t == tag:
            return d
        cls = d.get("class")
        if cls is not None and any(w in cls for w in words):
            return d
    return None


@dataclass
class _Found:
    """A comment and the elements it was read from: not article text, so the body is looked for
    without them."""
    comment: Comment
    elements: tuple[lxml.html.HtmlElement, ...]


def _make_comment(cid: str | None, author: str | None, posted: str | None, text: str) -> Comment:
    key = cid or "h:" + hashlib.sha256(f"{author}\n{text}".encode()).hexdigest()[:16]
    m = _REPLY.match(text)
    return Comment(id=cid, key=key, number=None, author=author or None, posted=posted, text=text,
                   reply_to=m.group(1) if m else None)


def _own_text(el: lxml.html.HtmlElement, exclude: list[lxml.html.HtmlElement]) -> str:
    """The element's paragraphs, leaving out nested replies and the given parts."""
    skip = set(exclude)
    parts: list[str] = []
    for child in el:
        if child in skip:
            continue
        parts.extend(block_texts(child) if isinstance(child.tag, str) else [])
    return "\n\n".join(parts)


_ITEM_ID = re.compile(r"^(li-|div-|dsq-)?comment-?\d+$|^c\d{3,}$|^comment_\d+$", re.I)
_ITEM_CLASS = re.compile(r"(^|\s)(comment|comment-odd|comment-even|comments-alt|type-comment|jomentry2?|"
                         r"commentbody|comment-item|dsq-comment)(\s|$)", re.I)
_LIST_CLASS = re.compile(r"(^|[\s_-])(commentlist|comment-list|comments-list|dsq-comments)([\s_-]|$)", re.I)
_TEXT_CLASS = re.compile(r"comment-?content|comment-?body|comment-?text|comment-?entry|commenttext|comtext|"
                         r"commentext|comment-?message|post-message|(^|[\s_-])(message|text|content|entry)([\s_-]|$)", re.I)
_CHROME_CLASS = re.compile(r"author|avatar|gravatar|vcard|meta|header|reply|date|time|permalink|count|number|"
                           r"rating|vote|actions|footer|byline|says|cite", re.I)
_AUTHOR_CLASS = ".//*[contains(@class,'fn') or contains(@class,'author') or contains(@class,'name') or " \
                "contains(@class,'user')][1] | .//cite[1]"


_NON_DIGIT = re.compile(r"\D")
_NOT_ITEMS = frozenset({"ol", "ul", "dl", "form", "body", "html", "section", "span"})


def _comment_candidates(tree: lxml.html.HtmlElement, names: _Names | None = None) -> list[lxml.html.HtmlElement]:
    """Elements that are one comment each: named so (class "comment", ids like comment-123,
    li-comment-123, dsq-comment-123) or the entries of a list named as a comment list."""
    names = names or _Names(tree)
    item_bits = _NAME_BIT[(_ITEM_ID, "id")] | _NAME_BIT[(_ITEM_CLASS, "class")]
    list_bit = _NAME_BIT[(_LIST_CLASS, "all")]
    named_list = [el for el, f in names.flagged if f & item_bits]  # document order
    named = set(named_list)
    entries = {c for el, f in names.flagged if f & list_bit
               for c in el if c.tag in ("li", "dt", "dd")}
    if entries - named:  # list entries without names of their own: document order from a walk
        found = [el for el in tree.iter() if el in named or el in entries]
    else:
        found = named_list
    found = [el for el in found if el.tag not in _NOT_ITEMS]
    # One comment is often two nested candidates (li#li-comment-1 > div#comment-1): the inner
    # one is the outer one's body when their ids carry the same number, or when the outer has
    # no id and the inner is its first candidate; keep the outer (it holds the replies).
    found_set = set(found)
    twins: set[lxml.html.HtmlElement] = set()
    for el in found:
        direct = _within(el, found_set, None, True)  # the candidates nearest below el, in document order
        if not direct:
            continue
        digits = _NON_DIGIT.sub("", el.get("id") or "")
        for d in direct:
            d_digits = _NON_DIGIT.sub("", d.get("id") or "")
            if (digits and d_digits == digits) or (not digits and d is direct[0] and
                                                     not _holds_any(d, found_set)):
                twins.add(d)
                break
    return [el for el in found if el not in twins and not _in_hidden_or_widget(el, hidden=False, names=names)]


# Class words for content a page does not show (templates, inactive tabs) and for sidebar
# lists of other posts' comments: neither is this page's thread.
_HIDDEN_CLASS = re.compile(r"(^|\s)(hidden|hide|d-none|is-hidden|quicktabs-hide|template)(\s|$)", re.I)
_WIDGET_CLASS = re.compile(r"(^|[\s_-])(recent-?comments?|recentcomments)([\s_-]|$)", re.I)


def _in_hidden_or_widget(el: lxml.html.HtmlElement, *, hidden: bool = True, names: _Names | None = None) -> bool:
    """Inside a recent-comments widget, or (with `hidden`) inside something the page hides by
    class. Named comment items skip the second test: threads hide collapsed replies that way.
    names: the names walk of el's tree, whose bits say which elements are so named (usually
    none: then nothing to walk)."""
    if names is not None:
        marks = names.marked(_WIDGET_BITS | (_NAME_BIT[(_HIDDEN_CLASS, "class")] if hidden else 0))
        return bool(marks) and (el in marks or any(a in marks for a in el.iterancestors()))
    for node in (el, *el.iterancestors()):
        cls = node.get("class") or ""
        eid = node.get("id")  # (whole words: looked up per value, as _names_match does)
        if (hidden and _has(_HIDDEN_CLASS, cls)) or _has(_WIDGET_CLASS, cls) or (eid and _has(_WIDGET_CLASS, eid)):
            return True
    return False


def _within(top: lxml.html.HtmlElement, stop: set[lxml.html.HtmlElement],
            wanted: set[lxml.html.HtmlElement] | None, keep_stops: bool) -> list[lxml.html.HtmlElement]:
    """top's element descendants, in document order, that are in `wanted` (None: none are),
    not entering those in `stop` (listed too when keep_stops): a comment item's own elements
    without its nested replies, the comment items nearest below an element."""
    if _subtree_in_c is not None:  # (read from libxml2's nodes: parsers/_names_walk.pyx)
        return _subtree_in_c.within(top, stop, wanted, keep_stops)
    out: list[lxml.html.HtmlElement] = []
    stack = [c for c in reversed(top) if isinstance(c.tag, str)]
    while stack:
        node = stack.pop()
        if node in stop:
            if keep_stops:
                out.append(node)
            continue
        if wanted is not None and node in wanted:
            out.append(node)
        stack.extend(c for c in reversed(node) if isinstance(c.tag, str))
    return out


def _holds_any(top: lxml.html.HtmlElement, members: set[lxml.html.HtmlElement]) -> bool:
    """An element below top (not top itself) is one of members."""
    if _subtree_in_c is not None:
        return _subtree_in_c.holds_any(top, members)
    return any(o in members for o in top.iter() if o is not top)


def _own_elements(item: lxml.html.HtmlElement, others: set[lxml.html.HtmlElement]) -> list[lxml.html.HtmlElement]:
    """All of the item's elements but the nested comments (and what they hold), in document order."""
    own: list[lxml.html.HtmlElement] = []
    stack = [c for c in reversed(item) if isinstance(c.tag, str)]
    while stack:
        el = stack.pop()
        if el in others:
            continue
        own.append(el)
        stack.extend(c for c in reversed(el) if isinstance(c.tag, str))
    return own


def _item_text(item: lxml.html.HtmlElement, others: set[lxml.html.HtmlElement],
               named: set[lxml.html.HtmlElement] | None = None,
               text_named: set[lxml.html.HtmlElement] | None = None) -> str:
    """A comment's own words: its text container if it names one, else the item without its
    author/date/reply chrome; nested replies left out either way. others: the page's other
    comment items (the item itself may be in it: only its descendants are looked up). named:
    the elements with a class, id or role, if known (no other can be a text container);
    text_named: those whose names read as a text container (_TEXT_CLASS), if known."""
    # the item's own elements: its subtree without the nested comments (document order); with
    # the names walk's sets only those named (no other can be a text container or chrome)
    own: list[lxml.html.HtmlElement] | None = None
    if named is not None and text_named is not None:
        containers = _within(item, others, text_named, False)
    else:
        own = _own_elements(item, others)
        containers = [el for el in own if (named is None or el in named) and _names_match(_TEXT_CLASS, el)]
    containers = [c for c in containers if not _holds_any(c, others)] or containers
    if containers:
        size = {c: len(fold_ws(text_of(c))) for c in containers}
        best = max(containers, key=lambda c: size[c])
        while True:  # "comment-body" often wraps meta + "comment-content": go to the inner text
            inner = [c for c in containers if c is not best and best in set(c.iterancestors())]
            pick = max(inner, key=lambda c: size[c]) if inner else None
            if pick is None or size[pick] < 0.5 * size[best]:
                break
            best = pick
        nested = [el for el in best.iter() if el in others and el is not best]
        return _own_text(best, nested) if nested else "\n\n".join(block_texts(best))
    skip = [el for el in item if isinstance(el.tag, str) and (el in others or _holds_any(el, others)
                                                               or _names_match(_CHROME_CLASS, el))]
    text = _own_text(item, skip)
    # the author, date and reply chrome may sit deeper (li > div > table > td > div.comment-author)
    pool = own if own is not None else _within(item, others, named, False)
    chrome = [el for el in pool if (named is None or el in named) and el.get("class")
              and _has(_CHROME_CLASS, el.get("class")) and not _holds_any(el, others)]
    chrome = [el for el in chrome if not any(a in chrome for a in el.iterancestors())]
    if any(c.getparent() is not item for c in chrome):  # (the direct children are left out above)
        cut = "\n\n".join(block_texts(_without(item, chrome)))
        if cut:
            return cut
    return text


def _definition_comment(dt: lxml.html.HtmlElement, fetched_at: datetime | None) -> _Found | None:
    """A comment written as a <dt> (the author, "X said...") and the <dd>s after it (the text,
    then a footer with the time), as Blogger's classic templates do."""
    dds: list[lxml.html.HtmlElement] = []
    sib = dt.getnext()
    while sib is not None and sib.tag != "dt":
        if sib.tag == "dd":
            dds.append(sib)
        sib = sib.getnext()
    if not dds:
        return None
    body = next((d for d in dds if _names_match(_TEXT_CLASS, d)), dds[0])
    text = "\n\n".join(block_texts(body))
    if not text or _CHROME_COMMENT.match(text):
        return None
    named = _first_named(dt, ("author", "fn", "name"))  # the name beside a number and a date
    author = _author_text(named if named is not None else dt) or None
    stamp = None
    for d in [*(d for d in dds if d is not body), dt]:  # a footer <dd>, else beside the name
        stamp = _first(d, ".//time | .//*[contains(@class,'time') or contains(@class,'date')]")
        if stamp is not None:
            break
    return _Found(_make_comment(dt.get("id") or None, author, _posted(stamp, fetched_at), text), (dt, *dds))


# A comment's footer line in Movable Type's and TypePad's templates: "Posted by: NAME | DATE",
# "Posted by NAME at DATE" (the date holds a digit: "at home" is part of a name, not a date)
_POSTED_BY = re.compile(r"^(?:posted|written|submitted)\s+by:?\s+(?P<who>\S.*?)\s*(?:\||\bat\b|\bon\b)\s*"
                        r"(?P<when>[^|]*\d[^|]*)$", re.I)
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})


def _posted_by_footer(text: str, fetched_at: datetime | None) -> tuple[str, str, str | None] | None:
    """(the text without its last paragraph, author, posted) when that paragraph is a
    "Posted by" footer."""
    head, _, last = text.rpartition("\n\n")
    m = _POSTED_BY.match(last)
    if m is None:
        return None
    when = m.group("when").strip()
    return head, m.group("who").strip(), to_iso_date(when) or _resolve_relative(when, fetched_at)


# A comment's own line naming who wrote it and when, first or last in its text, when no element
# says so: "by NAME on DATE", "NAME — DATE", "NAME | DATE", "NAME On DATE", "NAME said on DATE"
_BY_LINE = re.compile(r"^(?:posted |written )?by:?\s+(?P<who>[^\n]{1,60}?)"
                      r"(?:\s+(?:on|at|\||—|–|-)(?:\s+(?P<when>[^\n]*\d[^\n]*))?)?$", re.I)
_NAME_DATE_LINE = re.compile(r"^(?P<who>[^\n]{1,60}?)\s+(?:—|–|\||-|on|said on|wrote on|says)\s+"
                             r"(?P<when>[^\n]*\d[^\n]*)$", re.I)
_DATE_WORDS = re.compile(r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s|\d{1,2}[:/.]\d{1,2}|"
                         r"\bago\b|\byesterday\b|\btoday\b", re.I)
# what a written time is made of: a line holding any other word is a sentence, not a time
_TIME_TOKEN = re.compile(r"(\d+(st|nd|rd|th|am|pm|h)?|(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*|"
                         r"(mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)[a-z]*|at|on|of|the|am|pm|a|p|m|"
                         r"utc|gmt|[ecmp][sd]?t|cest|cet|bst|ist|aest|jst|ago|an|one|"
                         r"(second|minute|min|hour|hr|day|week|month|year)s?|yesterday|today)", re.I)
_TIME_CHROME = re.compile(r"\b(reply|said|says|wrote|permalink|link|quote)\b|#", re.I)  # "... 2:58 pm. Reply #"


def _reads_as_time(text: str) -> bool:
    """Every word of it is a word of a written date or time ("Thursday, November 1 at 2:57
    pm", "3 hours ago"), and it names a month, a clock time or an "ago"."""
    return bool(_DATE_WORDS.search(text + " ")) and all(
        _TIME_TOKEN.fullmatch(w) for w in re.findall(r"[^\W_]+", text))


def _name_date_line(text: str, fetched_at: datetime | None) -> tuple[str, str, str | None] | None:
    """(the text without the line, author, posted) when one of the comment's first two or last
    two paragraphs is a short line of its author and time (see _BY_LINE, _NAME_DATE_LINE): the
    markup named neither. A line of the comment itself is not taken: a name and a time need
    "by" before them, or a time that reads as one (a month, a clock time, "ago")."""
    paragraphs = text.split("\n\n")
    n = len(paragraphs)
    for i in dict.fromkeys((0, 1, n - 2, n - 1)) if n > 1 else ():
        if not 0 <= i < n:
            continue
        line = paragraphs[i]
        if len(line) > 120:
            continue
        m = _BY_LINE.match(line)
        if m is None:
            m = _NAME_DATE_LINE.match(line)
            if m is None or len(m.group("who").split()) > 5:
                continue
        when = m.group("when")
        posted = None
        if when:
            when = _TIME_CHROME.sub(" ", when).strip(" .:|,")
            if not _reads_as_time(when):
                continue
            posted = _resolve_relative(when.strip(), fetched_at)  # None without a year, say
        who = m.group("who").strip(_NAME_EDGES)
        if not who:
            continue
        return "\n\n".join(paragraphs[:i] + paragraphs[i + 1:]), who, posted
    return None


def _anchored_comment(anchor: lxml.html.HtmlElement, items: set[lxml.html.HtmlElement],
                      fetched_at: datetime | None) -> _Found | None:
    """A comment with no element of its own: an empty anchor named like a comment
    (<a id="c64426688"></a>) and the blocks after it, up to its "Posted by" footer, the next
    such anchor, a heading or a form (TypePad's classic templates)."""
    run: list[lxml.html.HtmlElement] = []
    paragraphs = [fold_ws(anchor.tail)] if anchor.tail and anchor.tail.strip() else []
    footer = None
    sib = anchor.getnext()
    while sib is not None and sib.tag not in _HEADINGS and sib.tag != "form":
        if isinstance(sib.tag, str):
            if any(el in items for el in sib.iter()):
                break
            run.append(sib)
            paragraphs.extend(block_texts(sib))
        if sib.tail and sib.tail.strip():
            paragraphs.append(fold_ws(sib.tail))
        if paragraphs and (footer := _posted_by_footer("\n\n".join(paragraphs), fetched_at)) is not None:
            break
        sib = sib.getnext()
    text, author, posted = footer if footer is not None else ("\n\n".join(paragraphs), None, None)
    if not text or _CHROME_COMMENT.match(text):
        return None
    return _Found(_make_comment(anchor.get("id"), author or None, posted, text), (anchor, *run))


def _in_trackbacks(el: lxml.html.HtmlElement, lists: set[lxml.html.HtmlElement] | None = None) -> bool:
    """Inside a list of trackbacks or pingbacks (id or class "trackbacks-list", "pingbacks"):
    links from other sites, not readers' comments. (Plural: one item named "pingback" that
    broken markup leaves open may hold the readers' comments after it.) lists: the page's
    elements so named, if known (_trackback_lists)."""
    if lists is not None:
        return bool(lists) and any(a in lists for a in el.iterancestors())
    for a in el.iterancestors():
        names = f"{a.get('id') or ''} {a.get('class') or ''}"
        if "trackbacks" in names or "pingbacks" in names:
            return True
    return False


def _trackback_lists(names: _Names) -> set[lxml.html.HtmlElement]:
    """The elements whose id or class says "trackbacks" or "pingbacks", from the names walk
    (usually none: then no comment item's ancestors are read)."""
    return {el for el, cls, eid in zip(names.elements, names._values["class"], names._values["id"])
            if "trackbacks" in cls or "pingbacks" in cls or "trackbacks" in eid or "pingbacks" in eid}


def _reblog(text: str) -> bool:
    """A pingback in all but name: the lead tried at the start only, the excerpt only where a
    "[" is (one alternation of both, searched, tried both at every character of a comment)."""
    return _REBLOG_LEAD.match(text) is not None or ("[" in text and _EXCERPT_OPEN.search(text) is not None)


def _comment_items(tree: lxml.html.HtmlElement, fetched_at: datetime | None,
                   names: _Names | None = None) -> list[_Found] | None:
    items = _comment_candidates(tree, names)
    if not items:
        return None
    item_set = set(items)
    named = set(names.elements) if names is not None else None
    text_named = names.marked(_NAME_BIT[(_TEXT_CLASS, "all")]) if names is not None else None
    trackbacks = _trackback_lists(names) if names is not None else None
    out: list[_Found] = []
    taken: set[lxml.html.HtmlElement] = set()  # the <dd>s a <dt> comment has read
    for li in items:
        if li in taken:
            continue
        cls = li.get("class") or ""
        if "pingback" in cls or "trackback" in cls or _in_trackbacks(li, trackbacks):
            continue
        if li.tag == "dt":  # Blogger's <dl>: dt = who, then dd = what and dd = when
            found = _definition_comment(li, fetched_at)
            if found is not None:
                out.append(found)
                taken.update(found.elements)
            continue
        if li.tag == "a" and not len(li) and not (li.text or "").strip():
            found = _anchored_comment(li, item_set, fetched_at)  # TypePad's flat thread
            if found is not None:
                out.append(found)
            continue
        text = _item_text(li, item_set, named, text_named)
        if not text or _CHROME_COMMENT.match(text) or len(text) < 2 or _reblog(text):
            continue
        author_el = _item_author(li)
        author = _author_text(author_el) if author_el is not None else None
        posted = _posted(_item_stamp(li), fetched_at)
        footer = _posted_by_footer(text, fetched_at)
        if footer is None and not (author and posted):
            footer = _name_date_line(text, fetched_at)
        if footer is not None:
            text, who, when = footer
            author, posted = author or who, posted or when
            if not text:
                continue
        if not (author or posted or _ITEM_ID.match(li.get("id") or "")) and (len(items) == 1 or len(text) < 40):
            continue  # a lone or short box named "comment" with no author, date or comment id: chrome
        c = _make_comment(li.get("id") or None, author or None, posted, text)
        parent = next((a for a in li.iterancestors() if a in item_set), None)
        if parent is not None and parent.get("id"):
            # reply_to stays what the text says after "@" (DESIGN.md); the nesting gives the key
            c.reply_to_key = parent.get("id")
        out.append(_Found(c, (li,)))
    return out or None


def _schema_comments(tree: lxml.html.HtmlElement, fetched_at: datetime | None, names: _Names | None = None,
                     jsonld: list[dict[str, Any]] | None = None) -> list[_Found] | None:
    items = (names or _Names(tree)).schema_comments
    out: list[_Found] = []
    for it in items:
        text_el = _first(it, ".//*[@itemprop='text' or @itemprop='commentText' or @itemprop='description'][1]")
        text = "\n\n".join(block_texts(text_el)) if text_el is not None else ""
        author_el = _first(it, ".//*[@itemprop='author']")
        if author_el is not None:
            name = _first(author_el, ".//*[@itemprop='name']")
            author = inline_text(name if name is not None else author_el)
        else:
            author = None
        posted = _posted(_first(it, ".//*[@itemprop='dateCreated' or @itemprop='datePublished'][1]"), fetched_at)
        if text:
            c = _make_comment(it.get("id"), author, posted, text)
            parent = next((a for a in it.iterancestors() if "schema.org/Comment" in (a.get("itemtype") or "")), None)
            if parent is not None:
                c.reply_to_key = parent.get("id")
            out.append(_Found(c, (it,)))
    for obj in _jsonld_objects(tree) if jsonld is None else jsonld:
        comments = obj.get("comment") if isinstance(obj, dict) else None
        if "comment" in _types(obj):
            comments = [obj]
        for cobj in comments if isinstance(comments, list) else ([comments] if comments else []):
            if not isinstance(cobj, dict):
                continue
            text = fold_ws(str(cobj.get("text") or ""))
            if text:
                out.append(_Found(_make_comment(cobj.get("@id") or cobj.get("identifier"),
                                                (_names(cobj.get("author")) or [None])[0],
                                                to_iso_date(cobj.get("dateCreated") or cobj.get("datePublished")),
                                                text), ()))
    return out or None


def _disqus(tree: lxml.html.HtmlElement, fetched_at: datetime | None,
            names: _Names | None = None) -> list[_Found] | None:
    thread = (names or _Names(tree)).with_id("disqus_thread")
    posts = _xpath(".//li[contains(@class,'post')]")(thread) if thread is not None else []
    if not posts:
        return None
    out = []
    for p in posts:
        msg = _first(p, ".//*[contains(@class,'post-message')]")
        if msg is None:
            continue
        author = _first(p, ".//*[contains(@class,'author')]")
        posted = _posted(_first(p, ".//*[contains(@class,'post-meta')]//a[@title] | .//time"), fetched_at)
        c = _make_comment(p.get("id"), _author_text(author) if author is not None else None, posted,
                          "\n\n".join(block_texts(msg)))
        parent = next((a for a in p.iterancestors("li") if "post" in (a.get("class") or "")), None)
        if parent is not None:
            c.reply_to_key = parent.get("id")
        out.append(_Found(c, (p,)))
    return out


_SECTION_WORDS = re.compile(r"(^|[\s_-])(comments?|discussion|responses|replies|discuss)([\s_-]|$)", re.I)

# (the body's) class/id words of comment sections
_COMMENTISH = re.compile(r"(^|[\s_-])(comments?|comment-list|commentlist|respond|disqus)([\s_-]|$)", re.I)

# The patterns the finders look for in names, each with the names it reads ("all": class, id
# and role; "class"; "id"). The names walk looks each class, id and role value up once (cached
# across pages: class strings come back on element after element) and keeps a bit per pattern.
# Searching values one at a time finds what _Names.matching()'s lined search finds: these
# patterns match whole words without spaces (or, for ids, a whole line), so a match never spans
# two values, and a value's start and end stand where its line had a separator or a line end.
_NAME_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (_AD_MARK, "all"), (_ADSBYGOOGLE, "all"), (_ITEM_ID, "id"), (_ITEM_CLASS, "class"),
    (_LIST_CLASS, "all"), (_SECTION_WORDS, "all"), (_COMMENTISH, "all"), (_BOILER, "all"),
    (_HIDDEN_CLASS, "class"), (_WIDGET_CLASS, "class"), (_WIDGET_CLASS, "id"), (_TEXT_CLASS, "all"))
_NAME_BIT: dict[tuple[re.Pattern[str], str], int] = {key: 1 << i for i, key in enumerate(_NAME_PATTERNS)}
_ALL_BITS = sum(1 << i for i, (_, of) in enumerate(_NAME_PATTERNS) if of == "all")
_CLASS_BITS = _ALL_BITS | sum(1 << i for i, (_, of) in enumerate(_NAME_PATTERNS) if of == "class")
_ID_BITS = _ALL_BITS | sum(1 << i for i, (_, of) in enumerate(_NAME_PATTERNS) if of == "id")
_VALUE_BITS: dict[str, int] = {}
_IFRAME_BIT = 1 << len(_NAME_PATTERNS)  # (set by the names walk for an <iframe>: a name of no pattern)
# (in _value_bits' answer for a value holding "byline" or "author-name", as written: a class
# so named marks a byline candidate; no element's flags carry it)
_BYLINE_BIT = 1 << (len(_NAME_PATTERNS) + 1)
# matches where any of them does (all are case-blind; no group is referred back to)
# _name_flags' two, as _NAME_PATTERNS bits
_WIDGET_BITS = _NAME_BIT[(_WIDGET_CLASS, "class")] | _NAME_BIT[(_WIDGET_CLASS, "id")]
_COMMENTISH_BIT, _BOILER_BIT = _NAME_BIT[(_COMMENTISH, "all")], _NAME_BIT[(_BOILER, "all")]
# Each pattern as _Names.matching() runs it on a line (after a newline) when _lined() makes it
# start with a separator class (the regex engine then skips to separators: faster), else as is.
# A pattern read in two kinds of names (_WIDGET_CLASS: class and id) is searched once for both
# bits: (pattern, after a newline?, the bits it sets).
_FAST_NAME_PATTERNS: tuple[tuple[re.Pattern[str], bool, int], ...] = tuple(
    ((lined, True) if lined.pattern != p.pattern else (p, False))
    + (sum(bit for (q, _), bit in _NAME_BIT.items() if q is p),)
    for p in dict.fromkeys(p for p, _ in _NAME_PATTERNS) for lined in [_lined(p)])


def _factored(words: tuple[str, ...] | list[str]) -> str:
    """An alternation of these regex words with their common leading letters factored out
    ("ad|ads?|advert" as "a(?:d(?:vert||s?))"): at each place the regex engine tries a few
    letters instead of every word. Factoring a common first letter out of alternatives changes
    nothing they match; a word whose next character is special (a class, a group, or a letter
    a quantifier applies to) is kept whole from there."""
    groups: dict[str, list[str]] = {}
    whole: list[str] = []
    for w in words:
        if w and (w[0].isalnum() or w[0] == "-") and not (len(w) > 1 and w[1] in "?*+{"):
            groups.setdefault(w[0], []).append(w[1:])
        else:
            whole.append(w)
    parts = [c + (rest[0] if len(rest) == 1 else "(?:" + _factored(rest) + ")") for c, rest in groups.items()]
    return "|".join(parts + whole)


# _BOILER for lower-cased ASCII lines, factored: the longest alternation, searched in every
# value (it has no word every match holds)
_BOILER_LINED_ASCII = re.compile(r"[\s_-](?:" + _factored(_BOILER_WORDS) + r")(?=[\s_-]|$)", re.M)
assert _lined(_BOILER).pattern == r"[\s_-](" + "|".join(_BOILER_WORDS) + r")(?=[\s_-]|$)"
# The same without re.I, for lower-cased ASCII values (their sources are lower case: \s, \d),
# _BOILER factored
assert all(p.pattern == p.pattern.lower() and p.flags & re.I for p, _, _ in _FAST_NAME_PATTERNS)
_FAST_NAME_PATTERNS_ASCII = tuple(
    (_BOILER_LINED_ASCII if bits == _BOILER_BIT else re.compile(p.pattern, p.flags & ~re.I), after_sep, bits)
    for p, after_sep, bits in _FAST_NAME_PATTERNS)
# both with each pattern's search method bound once (not looked up per value)
_FAST_NAME_SEARCHES = tuple((p.search, after_sep, bits) for p, after_sep, bits in _FAST_NAME_PATTERNS)
_FAST_NAME_SEARCHES_ASCII = tuple((p.search, after_sep, bits) for p, after_sep, bits in _FAST_NAME_PATTERNS_ASCII)

# The patterns every match of which holds "comment", "discuss", "respon", "replies", "disqus"
# or "jomentry" (case aside): not searched in a value holding none of them (most values).
_COMMENT_WORD_BITS = sum(_NAME_BIT[key] for key in (
    (_ITEM_CLASS, "class"), (_LIST_CLASS, "all"), (_SECTION_WORDS, "all"), (_COMMENTISH, "all"),
    (_WIDGET_CLASS, "class"), (_WIDGET_CLASS, "id")))

# Likewise: every match of each of these holds one of its words (an ASCII value holding none
# of them is not searched: "ad" is in advert, gpt-ad, banner-ad; "text" in comtext; "hid" in
# hidden, hide, is-hidden)
_WORDS_NEEDED: tuple[tuple[tuple[str, ...], int], ...] = (
    (("comment", "text", "content", "entry", "message"), _NAME_BIT[(_TEXT_CLASS, "all")]),
    (("ad", "dfp", "sponsor", "outbrain", "taboola", "recommend", "newsletter", "subscribe", "social", "share"),
     _NAME_BIT[(_AD_MARK, "all")]),
    (("hid", "d-none", "template"), _NAME_BIT[(_HIDDEN_CLASS, "class")]),
    (("adsbygoogle",), _NAME_BIT[(_ADSBYGOOGLE, "all")]),
    # (digit runs of three or more read "000" by then: c1234 is c000)
    (("comment", "c000"), _NAME_BIT[(_ITEM_ID, "id")]),
)

# Runs of two or more digits. No _NAME_PATTERNS tells one digit from another or a run of three
# from a longer one (they read digits as \d+ or \d{3,}; their one literal digit, "jomentry2?",
# stands alone), so a value matches as it does with each run written "00" (two digits) or
# "000" (more): "post-1234" and "post-5678", "comment-81" and "comment-97" are looked up once.
_DIGIT_RUN = re.compile(r"\d\d+")


# WordPress's post_class(): "post-7168 post type-post status-publish hentry category-social-media
# tag-ads". Its category-* and tag-* words are the post's topics, not what the element is: a post
# tagged "ads" or filed under "social media" is still the article.
_POST_CLASS = re.compile(r"(^|\s)(hentry|type-[\w-]+)(\s|$)", re.I)
_TAXONOMY_WORDS = re.compile(r"(^|\s)(category|tag)-\S+", re.I)
# "social-media-embed", "twitter-embed": a post the article quotes, not a share bar
_EMBED_WORDS = re.compile(r"(^|\s)\S*embed\S*", re.I)


def _role_words(value: str) -> str:
    """A class, id or role value without the words that say what an element holds rather than
    what it is: the topics WordPress gives a post (see _POST_CLASS), and embeds. Not cached:
    two substring tests answer for almost every value, cheaper than an lru_cache lookup (A/B)."""
    if "mbed" in value:
        value = _EMBED_WORDS.sub(" ", value)
    if "-" in value and _POST_CLASS.search(value):
        return _TAXONOMY_WORDS.sub(" ", value)
    return value


def _lower_role_words(value: str) -> str:
    """_role_words(value).lower() for an ASCII value, the taxonomy regex searched only where
    its words are (lower-casing ASCII moves no character: the case-blind regexes cut the same
    spans from either; the embed test reads the value as written, as _role_words does)."""
    embeds = "mbed" in value
    value = value.lower()
    if embeds:
        value = _EMBED_WORDS.sub(" ", value)
    if ("hentry" in value or "type-" in value) and _POST_CLASS.search(value):
        return _TAXONOMY_WORDS.sub(" ", value)
    return value


def _digits_as_zeros(m: re.Match[str]) -> str:
    return "00" if m.end() - m.start() == 2 else "000"


def _digit_shape(value: str) -> str:
    """The value with its digit runs as zeros (_DIGIT_RUN); its twin in C is
    parsers/_names_walk.pyx digit_shape (no call back into Python for each run)."""
    return _DIGIT_RUN.sub(_digits_as_zeros, value)


def _value_bits(value: str) -> int:
    """Which _NAME_PATTERNS one class, id or role value matches (remembered under the value
    and under its digits-as-zeros form). A newline in a value reads as a space, as in _Names'
    lines."""
    shape = _digit_shape(value) if _subtree_in_c is None else _subtree_in_c.digit_shape(value)
    bits = _VALUE_BITS.get(shape) if shape != value else None
    if bits is None:
        line = shape.replace("\n", " ")
        bits = 0
        skip = 0
        patterns = _FAST_NAME_SEARCHES
        if line.isascii():  # (re.I folds a few non-ASCII letters to ASCII ones: "ſ" reads as "s")
            # lower-cased, an ASCII value matches the case-blind patterns as their case-exact
            # twins (faster: the regex engine compares characters as they are)
            line = _lower_role_words(line)
            patterns = _FAST_NAME_SEARCHES_ASCII
            if not ("comment" in line or "discuss" in line or "respon" in line or "replies" in line
                    or "disqus" in line or "jomentry" in line):
                skip = _COMMENT_WORD_BITS
            for words, word_bits in _WORDS_NEEDED:
                for word in words:  # (a loop, not any(): no generator made per value)
                    if word in line:
                        break
                else:
                    skip |= word_bits
        else:
            line = _role_words(line)
        sep_line = "\n" + line
        for search, after_sep, pattern_bits in patterns:
            if not pattern_bits & skip and search(sep_line if after_sep else line) is not None:
                bits |= pattern_bits
    if "byline" in value or "author-name" in value:  # (digits aside: the same in its shape)
        bits |= _BYLINE_BIT
    if len(_VALUE_BITS) >= 1 << 16:  # unique ids would grow it without end
        _VALUE_BITS.clear()
    _VALUE_BITS[value] = bits
    if shape != value:
        _VALUE_BITS[shape] = bits
    return bits


def _comment_section(tree: lxml.html.HtmlElement, names: _Names | None = None) -> list[lxml.html.HtmlElement]:
    return (names or _Names(tree)).matching(_SECTION_WORDS)


def _repeated_blocks(tree: lxml.html.HtmlElement, fetched_at: datetime | None,
                     sections: list[lxml.html.HtmlElement] | None = None,
                     names: _Names | None = None) -> list[_Found] | None:
    """Sibling blocks in a comment section that each carry an author, a date and text."""
    for section in (_comment_section(tree) if sections is None else sections):
        groups: dict[str, list[lxml.html.HtmlElement]] = {}
        for child in section.iter():
            if child is section or not isinstance(child.tag, str):
                continue
            sig = f"{child.tag}.{child.get('class') or ''}"
            groups.setdefault(sig, []).append(child)
        best: list[_Found] = []
        best_at = -1
        # Largest groups first: a group yields at most one comment per element, so once the
        # best so far has as many, smaller groups cannot beat it (ties go to the earlier group).
        items = list(groups.items())
        for i in sorted(range(len(items)), key=lambda k: -len(items[k][1])):
            sig, els = items[i]
            if len(els) < len(best) or (len(els) == len(best) and i > best_at):
                continue
            if sig.startswith(("a.", "span.", "p.", "time.", "b.", "img.", "br.")):
                continue
            found = []
            for el in els:
                # (ancestor-or-self::form | .//textarea | .//input, stopping at the first)
                if el.tag == "form" or next(el.iterancestors("form"), None) is not None or \
                        next(el.iterdescendants("textarea", "input"), None) is not None or \
                        _in_hidden_or_widget(el, names=names):
                    continue  # the comment form's labels, templates and widgets: not comments
                author_el = _first_named(el, ("author", "user", "name"))
                if author_el is None:
                    continue
                text_el = _first_named(el, ("text", "body", "content", "message"))
                if text_el is None or _in_hidden_or_widget(text_el, names=names):
                    continue
                date_el = _first_named(el, ("date", "time"), "time")
                text = "\n\n".join(block_texts(text_el))
                if text and not _CHROME_COMMENT.match(text):
                    found.append(_Found(_make_comment(el.get("id"), _author_text(author_el),
                                                      _posted(date_el, fetched_at), text), (el,)))
            if len(found) > len(best) or (len(found) == len(best) and found and i < best_at):
                best, best_at = found, i
        if best:
            return best
    return None


def _forum_table(tree: lxml.html.HtmlElement, fetched_at: datetime | None) -> list[_Found] | None:
    # rows first, then their tables: `//table[...]//tr` visits a row once per enclosing table,
    # which on nested tables (broken or 10 MB pages) is quadratic
    # no table named so (most pages): nothing to find, and the XPath would test every row
    if not any(word in cls for t in tree.iter("table") if (cls := t.get("class"))
               for word in ("post", "forum", "thread", "discuss")):
        return None
    rows = _xpath("//tr[td[contains(@class,'author') or contains(@class,'col1') or contains(@class,'user')]]"
                  "[ancestor::table[contains(@class,'post') or contains(@class,'forum') or "
                  "contains(@class,'thread') or contains(@class,'discuss')]]")(tree)
    out = []
    for tr in rows:
        cells = [td for td in tr if td.tag == "td"]
        if len(cells) < 2:
            continue
        author = inline_text(_first(cells[0], ".//b|.//strong|.//a") if _first(cells[0], ".//b|.//strong|.//a") is not None else cells[0])
        text = "\n\n".join(block_texts(cells[-1]))
        if author and text:
            out.append(_Found(_make_comment(tr.get("id"), author, _posted(_first(tr, ".//time"), fetched_at), text),
                              (tr,)))
    return out or None


def extract_comments(tree: lxml.html.HtmlElement, fetched_at: datetime | None, names: _Names | None = None,
                     jsonld: list[dict[str, Any]] | None = None
                     ) -> tuple[list[Comment], ThreadInfo, list[lxml.html.HtmlElement]]:
    """The page's comments, what part of the thread it shows, and the elements the comments
    were read from (in document order: the body is looked for without them)."""
    names = names or _Names(tree)
    sections = _comment_section(tree, names)  # for the last finder and the "present" flag
    for finder in (lambda t, f: _disqus(t, f, names), lambda t, f: _schema_comments(t, f, names, jsonld),
                   lambda t, f: _comment_items(t, f, names), _forum_table,
                   lambda t, f: _repeated_blocks(t, f, sections, names)):
        found = finder(tree, fetched_at)
        if found:
            seen: set[str] = set()
            unique = [f.comment for f in found
                      if not (f.comment.key in seen or seen.add(f.comment.key))]  # type: ignore[func-returns-value]
            by_key = {c.key for c in unique}
            for c in unique:
                if c.reply_to_key and c.reply_to_key not in by_key:
                    c.reply_to_key = None
            # a generic parse cannot know what part of a thread the page shows: it removes nothing
            return unique, ThreadInfo(present=True, parsed_cleanly=False), [el for f in found for el in f.elements]
    return [], ThreadInfo(present=bool(sections), parsed_cleanly=False), []


# ---- body ----------------------------------------------------------------------------------

_BODY_BLOCKS = ("p", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table", "blockquote", "pre", "figure", "dl")




def _text_mass(root: lxml.html.HtmlElement) -> dict[lxml.html.HtmlElement, int]:
    """Characters of text inside each element, in one pass (reverse document order visits an
    element's descendants before the element itself)."""
    if _text_in_c is not None:  # (counted from libxml2's text nodes: parsers/_text_walk.pyx)
        return _text_in_c.text_mass(root, SKIP_TAGS)
    mass: dict[lxml.html.HtmlElement, int] = {}
    for el in reversed(list(root.iter())):
        own = len(el.text or "") if isinstance(el.tag, str) and el.tag not in SKIP_TAGS else 0
        for child in el:
            own += mass.get(child, 0) + len(child.tail or "")
        mass[el] = own
    return mass


def _drop_listed(root: lxml.html.HtmlElement, invisible: list[lxml.html.HtmlElement]) -> None:
    """_drop_invisible(root) for elements found beforehand (_Names.invisible, found in the
    whole tree): root and what holds it stay; one outside root's subtree, or inside a part
    already cut, is cut where it is, which changes nothing in root's subtree (drop_tree only
    moves an element's tail into its previous sibling or parent)."""
    keep = {root, *root.iterancestors()}
    for el in invisible:
        if el not in keep and el.getparent() is not None:
            drop_tree(el)


def _own_hidden(el: lxml.html.HtmlElement) -> bool:
    style = (el.get("style") or "").replace(" ", "").lower()
    return "display:none" in style or "visibility:hidden" in style or el.get("hidden") is not None


def _drop_counted(el: lxml.html.HtmlElement, root: lxml.html.HtmlElement,
                  mass: dict[lxml.html.HtmlElement, int]) -> None:
    """drop_tree(el), with _text_mass(root)'s figures for el's ancestors (up to root) kept
    true: each loses el's text, and el's tail too when drop_tree moves it into the text of a
    parent whose own text is not counted (a script or form control holding el first)."""
    parent = el.getparent()
    lost = mass.get(el, 0)
    if el.getprevious() is None and not (isinstance(parent.tag, str) and parent.tag not in SKIP_TAGS):
        lost += len(el.tail or "")
    drop_tree(el)
    node = parent
    while node is not None:
        mass[node] -= lost
        if node is root:
            break
        node = node.getparent()


def _strip_boilerplate(root: lxml.html.HtmlElement,
                       known: dict[lxml.html.HtmlElement, int] | None = None) -> dict[lxml.html.HtmlElement, int]:
    """Drop navigation and boilerplate containers inside the article container.

    A class or id word ("sidebar", "header", "ad") often names a wrapper that holds the
    article too ("content-with-sidebar", "article-top-header-wrapper"), so a container
    named like boilerplate is dropped only when it holds less than half of the text;
    comment sections go whatever their size. known: _Names.body_flags() of the tree, if any.
    Returns _text_mass(root) as it is after the cut (for _prune_inside: no second count).
    """
    mass = _text_mass(root)
    total = max(mass.get(root, 0), 1)
    stack = [root]
    doomed: list[lxml.html.HtmlElement] = []
    while stack:
        el = stack.pop()
        for child in el:
            if not isinstance(child.tag, str):
                continue
            share = mass.get(child, 0) / total
            if child.tag in ("nav", "aside", "footer", "header"):
                if child.tag == "header" and child.find(".//h1") is not None and not _has(_BOILER, _attrs(child)):
                    stack.append(child)
                elif share < 0.5:
                    doomed.append(child)
                else:
                    stack.append(child)
                continue
            flags = (_element_flags(child) if known is None else known.get(child, 0)) \
                if child.tag not in ("main", "article") else 0
            if flags & 2 and not _has(_POSITIVE, child.get("id") or "") and (share < 0.5 or flags & 1):
                doomed.append(child)
                continue
            stack.append(child)
    for el in doomed:
        _drop_counted(el, root, mass)
    return mass


def _link_density(el: lxml.html.HtmlElement, text_len: int) -> float:
    if _text_in_c is not None:
        return _text_in_c.link_density(el, text_len)
    if text_len == 0:
        return 1.0
    links = 0
    for a in el.iter("a"):  # most links hold only text: .text is text_of() without serializing
        links += len(fold_ws(text_of(a) if len(a) else a.text))
    return links / text_len


_LEAF_BLOCKS = frozenset({"p", "pre", "td", "li", "blockquote", "dd"})
# Children that make an element a container rather than a paragraph (a <div> holding only
# <main> is a wrapper, not one block of text).
_CONTAINER_CHILDREN = frozenset({"p", "div", "table", "ul", "ol", "section", "article", "blockquote", "pre",
                                 "main", "header", "footer", "aside", "nav", "form", "figure", "dl"})


def _drop_invisible(root: lxml.html.HtmlElement) -> None:
    """Scripts, styles, controls and hidden elements never carry article text. A <form> is
    kept: ASP.NET and some CMSs wrap the whole page in one."""
    doomed = []
    for el in root.iter():
        tag = el.tag
        if el is root or not isinstance(tag, str):
            continue
        if (tag in SKIP_TAGS and tag != "form") or \
                ((el.get("style") is not None or el.get("hidden") is not None) and _own_hidden(el)):
            doomed.append(el)
    for el in doomed:
        if el.getparent() is not None:
            drop_tree(el)


@functools.lru_cache(maxsize=1 << 15)
def _name_flags(value: str) -> int:
    """1: a class, id or role value names a comment section; 2: it names boilerplate. These
    patterns match whole words, so an element's names match when one of its values does:
    a class string comes back on element after element and is looked up, not searched."""
    value = _role_words(value)
    return (1 if _COMMENTISH.search(value) else 0) | (2 if _BOILER.search(value) else 0)


def _element_flags(el: lxml.html.HtmlElement) -> int:
    """_name_flags of the element's class, id and role together."""
    get = el.get
    cls, eid, role = get("class"), get("id"), get("role")
    return (_name_flags(cls) if cls else 0) | (_name_flags(eid) if eid else 0) | (_name_flags(role) if role else 0)


def _context_factor(el: lxml.html.HtmlElement, known: dict[lxml.html.HtmlElement, int] | None = None) -> float:
    """How much text inside this element counts toward its containers: boilerplate names and
    page chrome weigh less, but are not excluded (wrappers are often named after their
    sidebars); comment sections hardly count. known: _Names.body_flags() of the tree, if any."""
    tag = el.tag
    if tag in ("nav", "footer", "aside"):
        return 0.3
    if tag == "header" and el.find(".//h1") is None:
        return 0.3
    if tag in ("main", "article"):
        return 1.0
    flags = _element_flags(el) if known is None else known.get(el, 0)
    if flags & 1:
        return 0.05
    if flags & 2 and not _has(_POSITIVE, el.get("id") or ""):
        return 0.5
    return 1.0


_COPYRIGHT = re.compile(r"©|&copy;|\bcopyright\b|all rights? reserved|\ball right reserved", re.I)
_INLINE = frozenset({"a", "b", "strong", "i", "em", "u", "span", "font", "small", "sup", "sub", "mark", "abbr",
                     "cite", "q", "code", "time", "br", "img", "s", "ins", "del"})


def _may_state_copyright(text: str) -> bool:
    """False when _COPYRIGHT cannot match: every match holds "©", or, lowercased, "&copy;",
    "copyr" or "all r" (re.I's extra case pairs such as dotless i and long s are not in these
    letters). A few substring tests instead of a case-blind alternation tried at every
    character: that search was a tenth of the body's time."""
    if "©" in text:
        return True
    low = text.lower()
    return "copyr" in low or "all r" in low or "&copy;" in low


def _block_score(text: str) -> float:
    """A paragraph's weight: longer and more sentence-like text counts more (commas, or full
    stops for scripts that seldom use commas); footer lines that state a copyright hardly count."""
    punct = text.count(",") + text.count("\uff0c") + text.count("\u3001")
    if punct < 2:
        punct = max(punct, text.count(". ") + text.count("\u3002") + text.count("다.") // 2)
    score = 1 + min(punct, 10) + min(len(text) / 100, 5)
    if len(text) < 400 and _may_state_copyright(text) and _COPYRIGHT.search(text):
        score *= 0.1
    return score


def _direct_text(el: lxml.html.HtmlElement, at_least: int = 0) -> str:
    """The text an element holds directly: its text and its children's tails, with inline
    children's text (links, emphasis) included. "" when it is shorter than `at_least` before
    its whitespace is folded (folding only shortens it: the caller wanted no shorter text)."""
    if _text_in_c is not None:
        return _text_in_c.direct_text(el, at_least, _INLINE)
    parts = [el.text or ""]
    for child in el:
        tag = child.tag
        if tag.__class__ is str and tag in _INLINE:
            parts.append(text_of(child) if len(child) else child.text or "")
        parts.append(child.tail or "")
    if at_least and sum(map(len, parts)) + len(parts) - 1 < at_least:
        return ""
    return fold_ws(" ".join(parts))


_FACTOR_TAGS = frozenset({"nav", "footer", "aside", "header", "main", "article"})  # _context_factor() reads these
_MAYBE_LEAF = frozenset({"div", "section", "article", "span"})  # blocks when nothing inside makes them containers


def _holds_container(el: lxml.html.HtmlElement) -> bool:
    for c in el:
        if c.tag in _CONTAINER_CHILDREN:  # (a comment's tag is a function: never in the set)
            return True
    return False


def _score_blocks(root: lxml.html.HtmlElement,
                  known: dict[lxml.html.HtmlElement, int] | None = None) -> dict[lxml.html.HtmlElement, float]:
    """Container scores: each paragraph-like block gives its parent its score, its grandparent
    half; one walk of the tree, carrying the boilerplate weight of the ancestors down. Then
    the containers the publishing system names as the article weigh more."""
    if _text_in_c is not None:  # the walk over libxml2's nodes (parsers/_text_walk.pyx)
        scores = _text_in_c.score_walk(root, known, _context_factor, _block_score, _FACTOR_TAGS, _LEAF_BLOCKS,
                                       _MAYBE_LEAF, _CONTAINER_CHILDREN, _INLINE)
    else:
        scores = _score_walk(root, known)
    weights = _WEIGHT_BITS
    for el in scores:
        get = el.get  # (both patterns, reading the names once)
        bits = 0
        for value in (get("class"), get("id"), get("role")):
            if value:
                found = weights.get(value)
                bits |= _weight_bits(value) if found is None else found
        if bits & 1:
            scores[el] *= 3.0  # the names publishing systems give the article text itself
        elif bits & 2 or el.tag in ("article", "main"):
            scores[el] *= 1.25
    return scores


_WEIGHT_BITS: dict[str, int] = {}


def _weight_bits(value: str) -> int:
    """1: a class, id or role value names the article text (_BODY_NAME); 2: it reads like
    content (_POSITIVE). Remembered per value."""
    if len(_WEIGHT_BITS) >= 1 << 15:  # unique ids would grow it without end
        _WEIGHT_BITS.clear()
    if value.isascii():
        # lower-cased: _POSITIVE's words are plain substrings, and every _BODY_NAME match
        # holds one of them (content, body, entry, text, article, story): not searched without
        low = value.lower()
        bits = 0
        for word in _POSITIVE_WORDS:
            if word in low:
                bits = 2 | (1 if _BODY_NAME_LOWER.search(low) is not None else 0)
                break
    else:  # (re.I folds a few non-ASCII letters to ASCII ones)
        bits = (1 if _BODY_NAME.search(value) else 0) | (2 if _POSITIVE.search(value) else 0)
    _WEIGHT_BITS[value] = bits
    return bits


# _POSITIVE's words, and _BODY_NAME for lower-cased ASCII (their sources are lower case)
_POSITIVE_WORDS = ("article", "content", "entry", "story", "main", "text", "body", "blog")
assert _POSITIVE.pattern == "(article|content|entry|post-body|postbody|story|main|text|body|blog)"
_BODY_NAME_LOWER = re.compile(_BODY_NAME.pattern)


def _score_walk(root: lxml.html.HtmlElement,
                known: dict[lxml.html.HtmlElement, int] | None = None) -> dict[lxml.html.HtmlElement, float]:
    """The walk of _score_blocks() (its Python twin: score_walk in parsers/_text_walk.pyx)."""
    scores: dict[lxml.html.HtmlElement, float] = {}
    stack: list[tuple[lxml.html.HtmlElement, float]] = [(root, 1.0)]
    known_get = known.get if known is not None else None
    while stack:
        el, factor = stack.pop()
        for child in el:
            tag = child.tag
            if tag.__class__ is not str:
                continue
            if known_get is not None and tag not in _FACTOR_TAGS and known_get(child) is None:
                f = factor  # no names, no telling tag: _context_factor() is 1.0
            else:
                f = factor * _context_factor(child, known)
            # Most elements have no children (plain paragraphs, links, images, breaks): their
            # text is their .text, and nothing under them is a link or needs a visit.
            n = len(child)
            if tag in _LEAF_BLOCKS:
                leaf = True
                if n and tag in ("li", "td") and _holds_container(child):
                    stack.append((child, f))
            elif tag in _MAYBE_LEAF:
                # a paragraph unless a child makes it a container; only a container's own
                # text is wanted (reading it means serializing every inline child)
                leaf = not n or not _holds_container(child)
                if not leaf:
                    own = _direct_text(child, 25)
            else:
                leaf = False
                own = _direct_text(child, 25) if n else \
                    (fold_ws(child.text) if child.text and len(child.text) >= 25 else "")
            if not leaf:
                if n:
                    stack.append((child, f))
                # Text written straight into a container, lines split by <br> or empty divs,
                # is a paragraph of that container's own.
                if len(own) >= 25:
                    score = _block_score(own) * f
                    scores[child] = scores.get(child, 0.0) + score
                    if el is not None:
                        scores[el] = scores.get(el, 0.0) + score / 2
                continue
            raw = text_of(child) if n else child.text
            if raw is None or len(raw) < 25:  # (folding whitespace only shortens it)
                continue
            text = fold_ws(raw)
            if len(text) < 25:
                continue
            score = _block_score(text)
            score *= (1 - min(_link_density(child, len(text)) if n else 0 / len(text), 1.0)) * f
            scores[el] = scores.get(el, 0.0) + score
            grand = el.getparent()
            if grand is not None:
                scores[grand] = scores.get(grand, 0.0) + score / 2
    return scores


# class/id words that, inside the article container, mark what is around the article rather
# than of it: captions and photo credits, galleries, bylines and datelines, print/share tools
_INNER_BOILER = re.compile(
    r"(^|[\s_-])(gallery|slideshow|carousel|lightbox|byline|bylines|dateline|"
    r"timestamp|published|updated|author|authors|meta|postmeta|postmetadata|entrymeta|tools|print|share|"
    r"sharing|sociable|social|related|more|read-?more|newsletter|promo|advert|ad|ads|sponsor|tags|subscribe|"
    r"signup)([\s_-]|$)", re.I)


# photo galleries inside the article: their captions repeat what the pictures show, as long as
# they are (a gallery of ten photos has ten captions), so they go whatever their size
_GALLERY = re.compile(r"(gallery|slideshow|carousel|lightbox)([\s_-]|$)", re.I)  # (photogallery, resgallery)
_CAPTION = re.compile(r"(^|[\s_-])(caption|captions|credit|credits|wp-caption-text)([\s_-]|$)", re.I)


def _is_caption(el: lxml.html.HtmlElement, names: int | None = None) -> bool:
    """A figure, its caption or an element named like one; not an embedded post in a <figure>
    (a quoted tweet is the article's, see _EMBED_WORDS). names: _inner_names(el), if known."""
    if el.tag in ("figure", "figcaption"):
        return not any("mbed" in v and _EMBED_WORDS.search(v) for v in (el.get("class"), el.get("id")) if v)
    return bool((_inner_names(el) if names is None else names) & 1)


_INNER_BITS: dict[str, int] = {}


def _inner_names(el: lxml.html.HtmlElement) -> int:
    """What _prune_inside() asks of an element's names, each value looked up once: 1 when
    _CAPTION matches one (as _names_match finds), 2 when _INNER_BOILER does, 4 when _GALLERY does."""
    get = el.get
    bits = 0
    for value in (get("class"), get("id"), get("role")):
        if value:
            found = _INNER_BITS.get(value)
            if found is None:
                if len(_INNER_BITS) >= 1 << 15:  # unique ids would grow it without end
                    _INNER_BITS.clear()
                words = _role_words(value)
                found = _INNER_BITS[value] = ((1 if _has(_CAPTION, words) else 0) | (2 if _has(_INNER_BOILER, words) else 0)
                                              | (4 if _has(_GALLERY, words) else 0))
            bits |= found
    return bits


def _prune_inside(container: lxml.html.HtmlElement, mass: dict[lxml.html.HtmlElement, int] | None = None) -> None:
    """Inside the chosen container, drop what readers skip: figures and their captions,
    elements named like bylines, credits or share tools, and blocks that are mostly links
    (teaser lists, "read more" rows) -- each only when it holds a small share of the text.

    A short container is left alone (its byline may be most of what it says), and so are
    captions when they carry most of the text (a photo story). mass: _text_mass(container),
    if known (from _strip_boilerplate)."""
    if mass is None:
        mass = _text_mass(container)
    total = max(mass.get(container, 0), 1)
    if total < 500:
        return
    captions = 0  # text in figures and captions, each counted once (outermost only)
    inner: dict[lxml.html.HtmlElement, int] = {}  # _inner_names() of the children visited
    stack = [container]
    while stack:
        for child in stack.pop():
            if isinstance(child.tag, str):
                names = inner[child] = _inner_names(child)
                if _is_caption(child, names):
                    captions += mass.get(child, 0)
                else:
                    stack.append(child)
    keep_captions = captions > 0.4 * total
    doomed: list[lxml.html.HtmlElement] = []
    stack = [container]
    while stack:
        el = stack.pop()
        for child in el:
            if not isinstance(child.tag, str):
                continue
            size = mass.get(child, 0)
            if size / total >= 0.3:  # not minor: kept whatever it is named
                stack.append(child)
                continue
            small = size < 400  # bylines, share rows: short; captions may run long
            # (whole-word patterns: _names_match finds what a search of _attrs() finds)
            names = inner.get(child)
            if names is None:
                names = _inner_names(child)
            caption = _is_caption(child, names)
            if caption and not keep_captions:
                doomed.append(child)
                continue
            if small and not names & 1 and names & 2:
                doomed.append(child)
                continue
            if not small and names & 4:
                doomed.append(child)
                continue
            if small and child.tag in ("ul", "ol", "div", "section", "p", "table", "dl") and size \
                    and _link_density(child, folded_length(child)) > 0.5:
                doomed.append(child)
                continue
            # a list that is links and little else (categories, archives, tag lists) is
            # navigation whatever its length
            if not small and child.tag in ("ul", "ol") \
                    and _link_density(child, folded_length(child)) > 0.8:
                doomed.append(child)
                continue
            stack.append(child)
    for el in doomed:
        drop_tree(el)


def _marked_body(root: lxml.html.HtmlElement,
                 candidates: list[lxml.html.HtmlElement] | None = None) -> lxml.html.HtmlElement | None:
    """The element the page itself marks as the article body (schema.org microdata
    itemprop="articleBody"), when it holds real text. candidates: the tree's elements so
    marked, found beforehand (those still in root's subtree count)."""
    if candidates is None:
        marked = [el for el in root.iter() if isinstance(el.tag, str) and el.get("itemprop") == "articleBody"]
    else:
        marked = [el for el in candidates if el is root or any(a is root for a in el.iterancestors())]
    if len(marked) != 1:
        return None
    return marked[0] if folded_length(marked[0]) >= 200 else None


def _title_heading(root: lxml.html.HtmlElement, title: str | None) -> lxml.html.HtmlElement | None:
    """The heading that shows the page's title (the first h1/h2 whose text is in the title)."""
    if not title:
        return None
    wanted = fold_ws(title).lower()
    for el in root.iter("h1", "h2"):
        text = fold_ws(text_of(el)).lower()
        if len(text) >= 10 and (text in wanted or wanted in text):
            return el
    return None


def _near_title(scores: dict[lxml.html.HtmlElement, float], heading: lxml.html.HtmlElement | None) -> None:
    """Containers close to the title heading in the tree (inside its 3rd ancestor) weigh more:
    the article follows its title; sidebars and footers sit further off."""
    if heading is None:
        return
    anchor = heading
    for _ in range(3):
        parent = anchor.getparent()
        if parent is None:
            break
        anchor = parent
    for el in scores:
        if el is anchor or any(a is anchor for a in el.iterancestors()):
            scores[el] *= 1.5


def _chrome_weight(el: lxml.html.HtmlElement, root: lxml.html.HtmlElement,
                   known: dict[lxml.html.HtmlElement, int] | None = None) -> float:
    """The _context_factor() of el and of each of its ancestors up to root, multiplied: below
    1.0 when el is, or sits in, a sidebar, footer, navigation or the like."""
    weight = 1.0
    node: lxml.html.HtmlElement | None = el
    while node is not None:
        weight *= _context_factor(node, known)
        if node is root:
            break
        node = node.getparent()
    return weight


def _named_body_elsewhere(root: lxml.html.HtmlElement, best: lxml.html.HtmlElement,
                          names: _Names | None = None) -> lxml.html.HtmlElement | None:
    """The element the page names as its article text (entry-content, post-body, ...: one, or
    one holding the others), when it lies apart from `best`. Even empty: a post of one photo
    has no text, and a sidebar's is not its."""
    if names is not None:
        named = [el for el in names.matching(_BODY_NAME) if any(a is root for a in el.iterancestors())]
    else:
        named = [el for el in root.iter() if el.tag.__class__ is str and _names_match(_BODY_NAME, el)]
    if not named:
        return None
    outer = named[0]  # document order: the others must lie inside it
    if any(not any(a is outer for a in el.iterancestors()) for el in named[1:]):
        return None
    if best is outer or any(a is outer for a in best.iterancestors()) or any(a is best for a in outer.iterancestors()):
        return None
    return outer


def _best_containers(root: lxml.html.HtmlElement, title: str | None = None,
                     known: dict[lxml.html.HtmlElement, int] | None = None,
                     names: _Names | None = None) -> list[lxml.html.HtmlElement]:
    """The best-scoring container and the siblings that continue it (split by ad slots, say):
    a good score of their own, or the same kind of container as the best one. When that is
    page chrome (a sidebar's "about me" outscoring a post of one photo and a line), the element
    the page names as its article text, if there is one. names: the names walk of root's tree."""
    scores = _score_blocks(root, known)
    if not scores:
        return []
    _near_title(scores, _title_heading(root, title))
    best = max(scores, key=lambda e: scores[e])
    if _chrome_weight(best, root, known) < 1.0:
        named = _named_body_elsewhere(root, best, names)
        if named is not None:
            return [named]
    top = scores[best]
    parent = best.getparent()
    if parent is None:
        return [best]
    chosen = [
        sib for sib in parent
        if sib is best or (isinstance(sib.tag, str) and _context_factor(sib, known) == 1.0 and (
            scores.get(sib, 0.0) >= 0.2 * top
            or (sib.tag == best.tag and sib.get("class") == best.get("class") and scores.get(sib, 0.0) > 0)
        ))
    ]
    return _continued_further_up(best, chosen, scores)


def _continued_further_up(best: lxml.html.HtmlElement, chosen: list[lxml.html.HtmlElement],
                          scores: dict[lxml.html.HtmlElement, float],
                          levels: int = 5) -> list[lxml.html.HtmlElement]:
    """`chosen` (the best container and its continuing siblings) with the blocks that continue
    the article further away: an article cut by figures or ads into sections, each of them
    wrapped anew (section > div > div.post__content), has its parts as cousins, not siblings.
    A part is an element of the best one's tag and class, within its `levels`-th ancestor,
    scoring at least a fifth of it (the share the sibling rule asks). In document order."""
    cls = best.get("class")
    if not cls:
        return chosen
    ancestors = list(itertools.islice(best.iterancestors(), levels))
    if not ancestors:
        return chosen
    region = ancestors[-1]
    taken = set(chosen)
    floor = 0.2 * scores[best]
    extra = {el for el, score in scores.items()
             if score >= floor and el.tag == best.tag and el.get("class") == cls and el not in taken
             and el not in ancestors and any(a is region for a in el.iterancestors())}
    extra = {el for el in extra if not any(a in taken or a in extra for a in el.iterancestors())}
    if not extra:
        return chosen
    wanted = taken | extra
    return [el for el in region.iter() if el in wanted]


def extract_body(root: lxml.html.HtmlElement, url: str, title: str | None = None,
                 names: _Names | None = None) -> Body:
    """The article: the container the page marks as its body, else the best-scoring container
    and the siblings that continue it, with the boilerplate inside them (share bars, related
    posts, author boxes) removed. names: the names walk of the tree `root` belongs to (ads may
    have been cut from it since), for what is invisible and what is marked articleBody.
    The tree is cut as the body is found: pass one nothing else will read."""
    if names is None:
        _drop_invisible(root)
        marked = _marked_body(root)
        known = None
    else:
        _drop_listed(root, names.invisible)
        marked = _marked_body(root, names.article_bodies)
        known = names.body_flags()
    containers = [marked] if marked is not None else _best_containers(root, title, known, names)
    if not containers:
        _strip_boilerplate(root, known)
        paragraphs = block_texts(root)
        return Body(text="\n\n".join(paragraphs), paragraphs=paragraphs, html="")
    nodes: list[lxml.html.HtmlElement] = []
    for container in containers:
        _prune_inside(container, _strip_boilerplate(container, known))
        if len(_direct_text(container)) >= 25:
            nodes.append(container)  # text straight in the container: keep it whole
            continue
        # in a short container (a post of a photo and a line) a line that is mostly a link is
        # still the post's ("Created by X, blog.example"); in a long one it is a teaser
        short = folded_length(container) < 200
        for el in container:
            if not isinstance(el.tag, str):
                continue
            size = folded_length(el)
            if not size or el.tag == "a" or el.tag in ("h1",):
                continue
            if not short and _link_density(el, size) > 0.5 and size < 300:
                continue
            nodes.append(el)
    paragraphs = [p for n in nodes for p in block_texts(n)]
    # the tree is this function's to cut (its callers pass a copy, or a tree they are done
    # with): the nodes are sanitized where they are, unless one holds another
    chosen = set(nodes)
    apart = not any(a in chosen for n in nodes for a in n.iterancestors())
    return Body(text="\n\n".join(paragraphs), paragraphs=paragraphs,
                html=sanitize_fragments(nodes, url, in_place=apart))


def _related_anchors(names: _Names) -> list[lxml.html.HtmlElement]:
    """What `//*[contains(@class,'related')]//a[@href]` selects (links with an href inside an
    element whose class contains "related", each once, in document order), from the names walk:
    the XPath's `//*` tests every element of the page."""
    out: list[lxml.html.HtmlElement] = []
    outer: lxml.html.HtmlElement | None = None  # the last block taken: nested ones add nothing new
    for el, cls in zip(names.elements, names._values["class"]):
        if "related" not in cls:
            continue
        if outer is not None and any(a is outer for a in el.iterancestors()):
            continue
        outer = el
        out.extend(a for a in el.iterdescendants("a") if a.get("href") is not None)
    return out


def _same_place(el: lxml.html.HtmlElement, tree: lxml.html.HtmlElement,
                copy_root: lxml.html.HtmlElement) -> lxml.html.HtmlElement:
    """The element of a deep copy of `tree` that stands where `el` stands in `tree`."""
    steps = []
    node = el
    while node is not tree:
        parent = node.getparent()
        steps.append(parent.index(node))
        node = parent
    for i in reversed(steps):
        copy_root = copy_root[i]
    return copy_root


def extract_generic(tree: lxml.html.HtmlElement, url: str, fetched_at: datetime | None = None,
                    *, date_search: bool = False, consume: bool = False) -> ParsedPage:
    """A ParsedPage from any tree. date_search: when the markup names no date, ask htmldate
    (its heuristics cost about a millisecond a page). The tree is not modified, unless
    `consume`: the caller has no further use for it, and the body is cut out of the tree
    itself instead of a deep copy (the body comes last: everything else has read the tree)."""
    jsonld = _jsonld_objects(tree)  # parsed once, for the metadata and the comments
    names = _Names(tree)  # one walk for every finder that goes by class, id and the like
    md = extract_metadata(tree, url, jsonld, names)
    comments, thread, comment_els = extract_comments(tree, fetched_at, names, jsonld)
    ads, ad_ids = _collect_ads(tree, url, names)
    related = []
    for a in _related_anchors(names)[:20]:
        title = inline_text(a)
        if len(title) > 10:
            related.append(Related(title=title, url=join_url(url, a.get("href"))))
    # ads and what the comments were read from are not article text: cut before the body is found
    cut = [*ad_ids, *comment_els]
    if consume:
        work = tree
        doomed = cut
    else:
        work = copy.deepcopy(tree)
        # The copy has the same shape: find the cut elements in it by their child positions from
        # the root, all before removing any (not by XPath: tags like <fb:like> make paths XPath
        # cannot evaluate; not by walking both trees: a few parents per element are cheaper)
        doomed = [_same_place(el, tree, work) for el in cut]
    for el in doomed:
        if el.getparent() is not None:
            drop_tree(el)
    if date_search:  # (not from the ads or the comments: the page's own date)
        htmldate_fallback(work, md, url)
    body_root = work.find(".//body")
    if body_root is None:
        body_root = work
    # In the tree itself the names walk has already found what is invisible and what the page
    # marks as its article body: no walk for them (in a copy they would have to be found again)
    body = extract_body(body_root, url, md.title, names if consume else None)
    warnings = [] if body.paragraphs else ["no article text found"]
    return ParsedPage(url=url, profile="generic", parser_version=PARSER_VERSION, metadata=md, body=body,
                      ads=ads, related=related, comments=comments, warnings=warnings, thread=thread)
