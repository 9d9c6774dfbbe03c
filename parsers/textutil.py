"""Text out of lxml elements, the way a reader sees it (shared by profiles and generic extraction)."""

from __future__ import annotations

import re
import time
from datetime import date, datetime, timedelta, timezone

import lxml.html
from lxml import etree
from dateutil import parser as dateparser

SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "iframe", "object", "embed", "svg",
                       "button", "input", "select", "textarea", "form"})
BLOCK_TAGS = frozenset({
    "p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table", "section",
    "article", "blockquote", "pre", "dd", "dt", "dl", "header", "footer", "figure", "figcaption", "td", "th",
    "hr", "main", "aside", "nav", "tbody", "thead",
})
try:  # text_of(), block_texts() over libxml2's nodes, where setup.py could compile them (parsers/_text_walk.pyx)
    from parsers import _text_walk as _in_c
except ImportError:
    _in_c = None  # type: ignore[assignment]
_WS = re.compile(r"[ \t\r\f\v\u00a0\u2009\u200a\u202f]+")
_NL = re.compile(r"\s*\n\s*")


def fold_ws(text: str | None) -> str:
    """Whitespace folded to single spaces, trimmed."""
    return " ".join((text or "").split())


def text_of(el: lxml.html.HtmlElement) -> str:
    """All text inside the element, as lxml's text_content() gives it, without its tail.
    Serialized by libxml2 in C: two to three times faster than text_content()'s XPath."""
    if _in_c is not None:  # the same text nodes, without tostring()'s arguments to read
        return _in_c.text_of(el)
    return etree.tostring(el, method="text", encoding=str, with_tail=False)


def folded_length(el: lxml.html.HtmlElement) -> int:
    """len(fold_ws(text_of(el))): how much text the element shows."""
    if _in_c is not None:  # (counted in C, without the string, where the text is ASCII)
        return _in_c.folded_length(el)
    return len(fold_ws(text_of(el)))


def drop_tree(el: lxml.html.HtmlElement) -> None:
    """el.drop_tree(): the element and all inside it removed, its tail kept."""
    if _in_c is not None:  # (the same steps, parent and previous sibling read as nodes)
        _in_c.drop_tree(el)
    else:
        el.drop_tree()


def is_hidden(el: lxml.html.HtmlElement) -> bool:
    """Hidden by inline style or the hidden attribute, itself or an ancestor."""
    node = el
    while node is not None and isinstance(node.tag, str):
        style = (node.get("style") or "").replace(" ", "").lower()
        if "display:none" in style or "visibility:hidden" in style or node.get("hidden") is not None:
            return True
        node = node.getparent()
    return False


def block_texts(el: lxml.html.HtmlElement) -> list[str]:
    """The element's text as paragraphs: a break at every block element, scripts skipped.

    Iterative (an explicit stack), so pages nested thousands deep cannot exhaust recursion.
    """
    if _in_c is not None:
        return _in_c.block_texts(el, SKIP_TAGS, BLOCK_TAGS)
    parts: list[str] = []
    if el.text and el.tag not in SKIP_TAGS:
        parts.append(el.text)
    # stack items: (node, entering?) — on exit we add the closing break and the tail
    stack: list[tuple[lxml.html.HtmlElement, bool]] = [(c, True) for c in reversed(el)]
    while stack:
        node, entering = stack.pop()
        tag = node.tag if isinstance(node.tag, str) else ""
        if entering:
            if tag in SKIP_TAGS or not tag:
                if node.tail:
                    parts.append(node.tail)
                continue
            block = tag in BLOCK_TAGS
            if block:
                parts.append("\n")
            if node.text:
                parts.append(node.text)
            if len(node):
                stack.append((node, False))
                stack.extend((c, True) for c in reversed(node))
            else:  # no children (most nodes): leave it at once, no exit entry
                if block:
                    parts.append("\n")
                if node.tail:
                    parts.append(node.tail)
        else:
            if tag in BLOCK_TAGS:
                parts.append("\n")
            if node.tail:
                parts.append(node.tail)
    text = "".join(parts)
    return [p for p in (fold_ws(x) for x in text.split("\n")) if p]


def inline_text(el: lxml.html.HtmlElement) -> str:
    """All text of the element on one line (scripts and form controls skipped)."""
    return " ".join(block_texts(el))


def to_iso_date(value: str | None, formats: list[str] | tuple[str, ...] = ()) -> str | None:
    """A date or date-time as ISO 8601: dates as YYYY-MM-DD, times in UTC with Z."""
    if not value:
        return None
    value = fold_ws(value)
    for fmt in formats:
        try:
            parsed = datetime.strptime(value, fmt)
        except ValueError:
            continue
        return _iso(parsed, has_time=any(c in fmt for c in "HIMS"))
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return value
    written = _iso_8601(value) or _written_english(value)
    if written is not None:
        return written
    if not _DIGIT.search(value):
        # no year in it: dateutil would fail or fill in its default year, 1900 (refused below),
        # slowly ("Reply", "Permalink": the text of elements classed like dates)
        return None
    try:
        parsed = dateparser.parse(value, fuzzy=False, default=datetime(1900, 1, 1))
    except (ValueError, OverflowError, TypeError):
        return None
    if parsed is None or parsed.year < 1990 or parsed.year > 2100:
        return None
    has_time = bool(re.search(r"\d{1,2}:\d{2}", value))
    return _iso(parsed, has_time)


_DIGIT = re.compile(r"\d")
_MONTHS = {name: i for i, names in enumerate((
    ("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",), ("jun", "june"),
    ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
    ("dec", "december")), start=1) for name in names}
# "July 18th, 2012, 8:12 am", "Nov 1, 2012 at 2:57 pm", "March 12, 2013": how most pages write
# a comment's time; read here in a few microseconds (dateutil takes a hundred, and gives the
# same answer for these: tests/test_textutil_dates.py)
# (and "26 October 2012 17:38"; a time may end in a zone's abbreviation: "4:16 AM PDT")
_CLOCK = r"(?:,? (?:at )?(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2}))? ?(?P<ap>[AaPp][Mm])?(?: (?P<tz>[A-Z]{3,5}))?)?"
_WRITTEN_ENGLISH = re.compile(
    r"(?P<mon>[A-Za-z]{3,9})\.? (?P<day>\d{1,2})(?:st|nd|rd|th)?,? (?P<year>\d{4})" + _CLOCK)
_WRITTEN_DAY_FIRST = re.compile(
    r"(?P<day>\d{1,2})(?:st|nd|rd|th)? (?P<mon>[A-Za-z]{3,9})\.?,? (?P<year>\d{4})" + _CLOCK)
# A zone abbreviation dateutil does not know it leaves out (the time reads as UTC), as it does
# UTC and GMT (which are UTC); these words it reads as something else, and the machine's own
# zone names it reads as local time: for those it decides.
_NOT_A_ZONE = frozenset({*_MONTHS, "mon", "monday", "tue", "tues", "tuesday", "wed", "wednesday", "thu",
                         "thur", "thurs", "thursday", "fri", "friday", "sat", "saturday", "sun", "sunday",
                         "hour", "hours", "minute", "minutes", "second", "seconds"})


def _written_english(value: str) -> str | None:
    """to_iso_date() of a month-day-year (or day-month-year) date with an optional 12- or
    24-hour time, else None (dateutil decides)."""
    m = _WRITTEN_ENGLISH.fullmatch(value) or _WRITTEN_DAY_FIRST.fullmatch(value)
    if m is None:
        return None
    month = _MONTHS.get(m.group("mon").lower())
    year, day = int(m.group("year")), int(m.group("day"))
    if month is None or not 1990 <= year <= 2100:
        return None
    zone = m.group("tz")
    if zone is not None and (zone.lower() in _NOT_A_ZONE
                             or (zone in time.tzname and zone not in ("UTC", "GMT"))):
        return None
    if m.group("h") is None:
        try:
            return date(year, month, day).strftime("%Y-%m-%d")
        except ValueError:
            return None
    hour, minute, second = int(m.group("h")), int(m.group("mi")), int(m.group("s") or 0)
    ap = (m.group("ap") or "").lower()
    if ap:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ap == "pm" else 0)
    try:
        parsed = datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)
    except ValueError:
        return None
    return parsed.strftime("%Y-%m-%dT%H:%M:%SZ")


# "2019-11-19T07:03:25+00:00", "2019-11-20T06:35:39.403Z", "2012-07-24 04:16": how <time
# datetime> and meta tags write a moment; read here (dateutil takes a hundred microseconds,
# and gives the same moment: tests/test_textutil_dates.py)
_ISO_MOMENT = re.compile(r"(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})[T ](?P<h>\d{2}):(?P<mi>\d{2})"
                         r"(?::(?P<s>\d{2})(?:\.\d{1,6})?)?(?:(?P<z>Z)|(?P<sign>[+-])(?P<oh>\d{2}):?(?P<om>\d{2}))?")


def _iso_8601(value: str) -> str | None:
    """to_iso_date() of an ISO 8601 date and time, with or without an offset, else None
    (dateutil decides)."""
    m = _ISO_MOMENT.fullmatch(value)
    if m is None:
        return None
    year = int(m.group("y"))
    if not 1990 <= year <= 2100:
        return None
    zone = timezone.utc
    if m.group("sign") is not None:
        if int(m.group("om")) > 59:
            return None
        offset = timedelta(hours=int(m.group("oh")), minutes=int(m.group("om")))
        if offset >= timedelta(hours=24):
            return None
        zone = timezone(-offset if m.group("sign") == "-" else offset)
    try:
        parsed = datetime(year, int(m.group("mo")), int(m.group("d")), int(m.group("h")), int(m.group("mi")),
                          int(m.group("s") or 0), tzinfo=zone)
    except ValueError:  # (hour 24, a 30th of February: dateutil's call)
        return None
    return _iso(parsed, True)


def _iso(parsed: datetime | date, has_time: bool) -> str:
    if not has_time or not isinstance(parsed, datetime):
        return parsed.strftime("%Y-%m-%d")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
