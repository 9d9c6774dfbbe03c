"""body.html: the article's structure kept, everything active removed (an allowlist)."""

from __future__ import annotations

import copy
from collections.abc import Iterable
import lxml.html

from parsers.textutil import drop_tree
from parsers.urls import join_url

ALLOWED_TAGS = frozenset({
    "p", "a", "em", "strong", "b", "i", "u", "s", "sub", "sup", "small", "mark", "code", "pre", "kbd",
    "blockquote", "q", "cite", "abbr", "br", "hr", "ul", "ol", "li", "dl", "dt", "dd",
    "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tfoot", "tr", "th", "td", "caption",
    "figure", "figcaption", "img", "span", "div", "section", "article", "time",
})
DROP_WITH_CONTENT = frozenset({"script", "style", "noscript", "template", "iframe", "object", "embed",
                               "form", "input", "button", "select", "textarea", "svg", "math", "link", "meta"})
ALLOWED_ATTRS = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "td": {"colspan", "rowspan"},
                 "th": {"colspan", "rowspan", "scope"}, "time": {"datetime"}, "ol": {"start"}}
_SAFE_SCHEMES = ("http:", "https:", "mailto:")
_NONE: frozenset[str] = frozenset()


def _clean(el: lxml.html.HtmlElement, base_url: str) -> None:
    for node in list(el.iter()):
        if node is el:
            continue
        if not isinstance(node.tag, str) or node.tag in DROP_WITH_CONTENT:
            drop_tree(node)
        elif node.tag not in ALLOWED_TAGS:
            node.drop_tag()
    for node in el.iter():
        tag = node.tag
        if not isinstance(tag, str):
            continue
        names = node.keys()
        if not names:  # most elements: nothing to remove or rewrite
            continue
        allowed = ALLOWED_ATTRS.get(tag, _NONE)
        for name in names:
            if name not in allowed:
                del node.attrib[name]
        # only <a href> and <img src> are allowed to keep a link
        for name in ("href",) if tag == "a" else ("src",) if tag == "img" else ():
            value = node.get(name)
            if value is None:
                continue
            absolute = join_url(base_url, value.strip()) if base_url.startswith("http") else value.strip()
            if absolute is None or not absolute.lower().startswith(_SAFE_SCHEMES):
                del node.attrib[name]
            else:
                node.set(name, absolute)


def sanitize_fragments(elements: Iterable[lxml.html.HtmlElement], base_url: str, *, in_place: bool = False) -> str:
    """The elements as sanitized HTML, one after another. in_place: the caller has no further
    use for the elements and none of them holds another, so they are cleaned themselves instead
    of copies (a copy of the whole article otherwise)."""
    out = []
    for el in elements:
        c = el if in_place else copy.deepcopy(el)
        c.tail = None
        if not isinstance(c.tag, str) or c.tag in DROP_WITH_CONTENT:
            continue
        _clean(c, base_url)
        if c.tag not in ALLOWED_TAGS:
            c.tag = "div"
        for name in list(c.attrib):
            if name not in ALLOWED_ATTRS.get(c.tag, set()):
                del c.attrib[name]
        out.append(lxml.html.tostring(c, encoding="unicode", method="html").strip())
    return "\n".join(out)
