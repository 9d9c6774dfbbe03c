"""Bytes to text to tree, for any input: charsets found and checked, never an exception.

Charset order: a byte-order mark, then the HTTP Content-Type charset, then <meta charset> /
http-equiv, each checked by actually decoding; when the declared charset fails (or is
missing), charset-normalizer detects one and a warning says so. Mojibake is a bug: UTF-8
bytes labelled windows-1252 are noticed (they decode "fine" as cp1252, so the check is that
they also decode as strict UTF-8 with non-ASCII present).
"""

from __future__ import annotations

import codecs
import re
import threading
from collections.abc import Mapping

import lxml.etree
import lxml.html
from charset_normalizer import from_bytes

_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]{1,40})""", re.I)
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
# Labels browsers treat as windows-1252 (the WHATWG encoding standard).
_ALIASES = {"iso-8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252", "us-ascii": "cp1252",
            "ascii": "cp1252", "windows-1252": "cp1252", "x-user-defined": "cp1252"}
# Detected charsets trusted as they are; anything more exotic falls back to cp1252.
_COMMON = frozenset(codecs.lookup(c).name for c in (
    "utf-8", "cp1252", "iso8859-1", "iso8859-2", "iso8859-15", "cp1250", "cp1251", "cp1253", "cp1254",
    "cp1255", "cp1256", "cp1257", "koi8-r", "shift_jis", "euc_jp", "iso2022_jp", "gb2312", "gbk", "gb18030",
    "big5", "euc_kr", "utf-16", "iso8859-5", "iso8859-7", "iso8859-9", "tis-620", "cp874"))
# lxml parser objects must not be shared between threads (the crawler parses in a thread
# pool): one per thread.
_LOCAL = threading.local()


def _parser() -> lxml.html.HTMLParser:
    parser = getattr(_LOCAL, "parser", None)
    if parser is None:
        parser = _LOCAL.parser = _new_parser()
    return parser


def _new_parser() -> lxml.html.HTMLParser:
    # collect_ids=False: libxml2 keeps no table of id attributes (nothing here looks an element
    # up with XPath's id(): profiles' CSS #id reads @id), and reports no duplicate ids
    parser = lxml.html.HTMLParser(recover=True, huge_tree=True, remove_comments=True, remove_pis=True,
                                  no_network=True, default_doctype=False, collect_ids=False)
    # lxml.html picks an element's class in Python for every node it hands out (forms, inputs,
    # labels get their own); the parsers need only HtmlElement, and choosing it in C makes the
    # whole parse about a third faster.
    parser.set_element_class_lookup(lxml.etree.ElementDefaultClassLookup(
        element=lxml.html.HtmlElement, comment=lxml.html.HtmlComment,
        pi=lxml.html.HtmlProcessingInstruction, entity=lxml.html.HtmlEntity))
    return parser


def _codec(label: str | None) -> str | None:
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    label = _ALIASES.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def header_charset(headers: Mapping[str, str] | None) -> tuple[str | None, str | None]:
    """(charset label, content type) from a Content-Type header."""
    if not headers:
        return None, None
    ctype = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
    if not ctype:
        return None, None
    m = re.search(r"charset\s*=\s*[\"']?([^\s;\"']+)", ctype, re.I)
    return (m.group(1) if m else None), ctype.split(";")[0].strip().lower()


def _clean_decode(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def _looks_like_utf8(data: bytes) -> bool:
    if data.isascii():
        return False
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def decode_body(body: bytes | str, headers: Mapping[str, str] | None = None) -> tuple[str, str | None, list[str]]:
    """(text, charset used, warnings). Never raises."""
    if isinstance(body, str):
        return body, None, []
    warnings: list[str] = []
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return body[len(bom):].decode(codec, errors="replace"), codec, warnings
    declared_header, _ = header_charset(headers)
    m = _META_CHARSET.search(body[:4096])
    declared_meta = m.group(1).decode("ascii", "ignore") if m else None
    for origin, label in (("Content-Type header", declared_header), ("<meta charset>", declared_meta)):
        codec = _codec(label)
        if label and codec is None:
            warnings.append(f"unknown charset {label!r} in the {origin}")
            continue
        if codec is None:
            continue
        text = _clean_decode(body, codec)
        if text is None:
            warnings.append(f"the page does not decode as its declared {label} ({origin})")
            continue
        if codec != "utf-8" and _looks_like_utf8(body):
            warnings.append(f"the page is declared {label} ({origin}) but is UTF-8; read as UTF-8")
            return body.decode("utf-8"), "utf-8", warnings
        return text, codec, warnings
    if not body:
        return "", None, warnings
    if _looks_like_utf8(body) or body.isascii():
        return body.decode("utf-8"), "utf-8", warnings
    best = from_bytes(body[:200_000]).best()
    codec = _codec(best.encoding) if best is not None else None
    # On little evidence detectors guess exotic code pages; the web's usual mislabel is cp1252.
    evidence = sum(1 for b in body[:200_000] if b > 0x7F)
    if codec not in _COMMON or (evidence < 20 and codec != "cp1252" and _clean_decode(body, "cp1252")):
        codec = "cp1252"
    if not (declared_header or declared_meta):
        warnings.append(f"no charset declared; detected {codec}")
    else:
        warnings.append(f"detected charset {codec} instead")
    return body.decode(codec, errors="replace"), codec, warnings


_XML_DECLARATION_START = re.compile(r"\s*<\?xml")  # (what text.lstrip().startswith("<?xml") tests)


def parse_html(text: str) -> lxml.html.HtmlElement:
    """A tree for any text: empty, non-HTML, truncated or absurdly nested input included."""
    if text.find("\x00") >= 0:  # (find first: replace counts slowly in a 2-byte-wide str)
        text = text.replace("\x00", "")
    if not text or text.isspace():  # (tested without stripping: a copy of the whole page)
        return lxml.html.fromstring("<html><body></body></html>")
    # An XML declaration with an encoding makes lxml refuse a str; drop it.
    if _XML_DECLARATION_START.match(text):
        text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text, count=1)
    try:
        root = lxml.html.document_fromstring(text, parser=_parser())
    except (lxml.etree.ParserError, ValueError, lxml.etree.XMLSyntaxError):
        root = None
    if root is None:
        root = lxml.html.fromstring("<html><body></body></html>")
        body = root.find("body")
        body.text = text[:1_000_000]
    return root
