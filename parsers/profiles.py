"""Site profiles as data: one TOML file per site (config/sites/*.toml), read by one engine.

A profile says how a site is recognized (hosts, URL patterns, a markup signature), where each
field is (CSS, or XPath when the selector starts with '/' or '('), how to clean it, which
fields are volatile (kept out of the content hash), which are required (a parse that misses
them is degraded and does not take part in versioning), what a comment looks like, which
blocks are ads or widgets, and which fields fall back to generic extraction. The format is
documented in docs/profiles.md; a bad file fails at load naming the file, the key and what is
wrong.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import lxml.etree
import lxml.html
from lxml.cssselect import CSSSelector
from cssselect import SelectorError

from parsers.records import AD_KINDS, Ad, Body, Comment, Metadata, ParsedPage, Related, ThreadInfo
from parsers.sanitize import sanitize_fragments
from parsers.urls import join_url
from parsers.textutil import block_texts, fold_ws, inline_text, is_hidden, text_of, to_iso_date
from parsers.version import PARSER_VERSION

SCALAR_FIELDS = ("title", "published", "modified", "last_reviewed", "publisher", "copyright",
                 "canonical_url", "language", "description", "category")
LIST_FIELDS = ("authors", "editors", "reviewers")
DATE_FIELDS = ("published", "modified", "last_reviewed")
METADATA_FIELDS = SCALAR_FIELDS + LIST_FIELDS
HASHED_FIELDS = ("title", "authors", "editors", "reviewers", "published", "modified", "paragraphs")
REQUIRABLE = METADATA_FIELDS + ("body",)


class ProfileError(ValueError):
    """A profile file that cannot be used: names the file, the key and what is wrong."""


class Selector:
    """A compiled CSS or XPath selector (XPath when it starts with '/' or '(')."""

    def __init__(self, text: str, where: str) -> None:
        self.text = text
        try:
            if text.lstrip().startswith(("/", "(", "./")):
                self._fn = lxml.etree.XPath(text)
            else:
                self._fn = CSSSelector(text)
        except (SelectorError, lxml.etree.XPathSyntaxError, lxml.etree.XPathEvalError) as exc:
            raise ProfileError(f"{where}: invalid selector {text!r}: {exc}") from None

    def __call__(self, el: lxml.html.HtmlElement) -> list[Any]:
        try:
            out = self._fn(el)
        except lxml.etree.XPathEvalError:
            return []
        return out if isinstance(out, list) else [out]


@dataclass
class FieldRule:
    select: Selector
    attr: str | None = None  # take this attribute instead of the text
    strip: list[re.Pattern[str]] = field(default_factory=list)
    date_formats: list[str] = field(default_factory=list)
    split: re.Pattern[str] | None = None  # for list fields: split one text into names


@dataclass
class CommentRule:
    item: Selector
    author: Selector
    text: Selector
    container: Selector | None = None
    number: Selector | None = None
    number_pattern: re.Pattern[str] = re.compile(r"(\d+)")
    id_attr: str | None = None
    id_select: Selector | None = None
    id_script_pattern: re.Pattern[str] | None = None  # an id found in a script before the item
    date: Selector | None = None
    date_formats: list[str] = field(default_factory=list)
    hidden: Selector | None = None  # a hidden continuation of long comments
    reply_pattern: re.Pattern[str] | None = None
    numbered_newest_first: bool = True
    nested: bool = False  # replies sit inside their parent's item (threaded lists)
    exclude: Selector | None = None  # items that are not reader comments (pingbacks)
    pagination: Selector | None = None  # present when the thread is split over pages


@dataclass
class AdRule:
    select: Selector
    kind: str
    slot: str | None = None
    text: Selector | None = None  # the part of the block that is its content (not its chrome)


@dataclass
class Profile:
    name: str
    file: str
    hosts: list[str]
    url_patterns: list[re.Pattern[str]]
    signature: list[Selector]
    signature_min: int
    required: list[str]
    volatile: list[str]
    fallback: list[str]
    fields: dict[str, FieldRule]
    body_select: Selector
    body_exclude: list[Selector]
    comments: CommentRule | None
    ads: list[AdRule]
    related: Selector | None
    hash: str

    def matches_url(self, url: str) -> bool:
        host = (urlsplit(url).hostname or "").lower()
        if host in self.hosts:
            return True
        return any(p.search(url) for p in self.url_patterns)

    def signature_score(self, tree: lxml.html.HtmlElement) -> int:
        return sum(1 for sel in self.signature if sel(tree))


# ---- loading ------------------------------------------------------------------------------

_TOP_KEYS = {"site", "fields", "body", "comments", "ads", "related"}
_SITE_KEYS = {"name", "hosts", "url_patterns", "signature", "signature_min", "required", "volatile", "fallback"}
_FIELD_KEYS = {"select", "attr", "strip", "date_formats", "split"}
_BODY_KEYS = {"select", "exclude"}
_COMMENT_KEYS = {"container", "item", "author", "text", "number", "number_pattern", "id_attr", "id_select",
                 "id_script_pattern", "date", "date_formats", "hidden", "reply_pattern", "numbered_newest_first",
                 "nested", "exclude", "pagination"}
_AD_KEYS = {"select", "kind", "slot", "text"}
_RELATED_KEYS = {"select"}


class _Reader:
    def __init__(self, file: Path) -> None:
        self.file = file

    def fail(self, key: str, what: str) -> ProfileError:
        return ProfileError(f"{self.file}: {key}: {what}")

    def keys(self, table: Any, allowed: set[str], where: str) -> dict[str, Any]:
        if not isinstance(table, dict):
            raise self.fail(where, f"must be a table, not {type(table).__name__}")
        unknown = sorted(set(table) - allowed)
        if unknown:
            raise self.fail(f"{where}.{unknown[0]}" if where else unknown[0],
                            f"unknown key; known keys here: {', '.join(sorted(allowed))}")
        return table

    def str_(self, table: dict[str, Any], key: str, where: str, default: Any = None, required: bool = False) -> Any:
        if key not in table:
            if required:
                raise self.fail(f"{where}.{key}", "is required")
            return default
        if not isinstance(table[key], str):
            raise self.fail(f"{where}.{key}", f"must be a string, not {type(table[key]).__name__}")
        return table[key]

    def strs(self, table: dict[str, Any], key: str, where: str) -> list[str]:
        value = table.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(f"{where}.{key}", "must be a list of strings")
        return value

    def sel(self, table: dict[str, Any], key: str, where: str, required: bool = False) -> Selector | None:
        text = self.str_(table, key, where, required=required)
        return Selector(text, f"{self.file}: {where}.{key}") if text is not None else None

    def regex(self, text: str | None, where: str) -> re.Pattern[str] | None:
        if text is None:
            return None
        try:
            return re.compile(text, re.I | re.S)
        except re.error as exc:
            raise self.fail(where, f"invalid regular expression {text!r}: {exc}") from None


def load_profile(file: str | Path) -> Profile:
    path = Path(file)
    raw = path.read_bytes()
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProfileError(f"{path}: not valid TOML: {exc}") from None
    r = _Reader(path)
    r.keys(data, _TOP_KEYS, "")
    site = r.keys(data.get("site", {}), _SITE_KEYS, "site")
    lists = {k: r.strs(site, k, "site") for k in ("hosts", "url_patterns", "signature", "required", "volatile", "fallback")}
    fields: dict[str, FieldRule] = {}
    for name, spec in r.keys(data.get("fields", {}), set(METADATA_FIELDS), "fields").items():
        where = f"fields.{name}"
        spec = r.keys(spec, _FIELD_KEYS, where)
        fields[name] = FieldRule(
            select=r.sel(spec, "select", where, required=True),  # type: ignore[arg-type]
            attr=r.str_(spec, "attr", where),
            strip=[r.regex(p, f"{where}.strip") for p in r.strs(spec, "strip", where)],  # type: ignore[misc]
            date_formats=r.strs(spec, "date_formats", where),
            split=r.regex(r.str_(spec, "split", where), f"{where}.split"),
        )
    body = r.keys(data.get("body", {}), _BODY_KEYS, "body")
    body_select = r.sel(body, "select", "body", required=True)
    comments = None
    if "comments" in data:
        c = r.keys(data["comments"], _COMMENT_KEYS, "comments")
        newest_first = c.get("numbered_newest_first", True)
        nested = c.get("nested", False)
        for key, value in (("numbered_newest_first", newest_first), ("nested", nested)):
            if not isinstance(value, bool):
                raise r.fail(f"comments.{key}", "must be true or false")
        comments = CommentRule(
            container=r.sel(c, "container", "comments"),
            item=r.sel(c, "item", "comments", required=True),  # type: ignore[arg-type]
            author=r.sel(c, "author", "comments", required=True),  # type: ignore[arg-type]
            text=r.sel(c, "text", "comments", required=True),  # type: ignore[arg-type]
            number=r.sel(c, "number", "comments"),
            number_pattern=r.regex(r.str_(c, "number_pattern", "comments", r"(\d+)"), "comments.number_pattern"),  # type: ignore[arg-type]
            id_attr=r.str_(c, "id_attr", "comments"),
            id_select=r.sel(c, "id_select", "comments"),
            id_script_pattern=r.regex(r.str_(c, "id_script_pattern", "comments"), "comments.id_script_pattern"),
            date=r.sel(c, "date", "comments"),
            date_formats=r.strs(c, "date_formats", "comments"),
            hidden=r.sel(c, "hidden", "comments"),
            reply_pattern=r.regex(r.str_(c, "reply_pattern", "comments"), "comments.reply_pattern"),
            numbered_newest_first=newest_first,
            nested=nested,
            exclude=r.sel(c, "exclude", "comments"),
            pagination=r.sel(c, "pagination", "comments"),
        )
    ads = []
    ad_list = data.get("ads", [])
    if not isinstance(ad_list, list):
        raise r.fail("ads", "must be an array of tables ([[ads]])")
    for i, spec in enumerate(ad_list):
        where = f"ads[{i}]"
        spec = r.keys(spec, _AD_KEYS, where)
        kind = r.str_(spec, "kind", where, required=True)
        if kind not in AD_KINDS:
            raise r.fail(f"{where}.kind", f"{kind!r} is not one of {', '.join(AD_KINDS)}")
        ads.append(AdRule(r.sel(spec, "select", where, required=True), kind, r.str_(spec, "slot", where),  # type: ignore[arg-type]
                          r.sel(spec, "text", where)))
    related = None
    if "related" in data:
        related = r.sel(r.keys(data["related"], _RELATED_KEYS, "related"), "select", "related", required=True)
    for key, allowed in (("required", REQUIRABLE), ("volatile", HASHED_FIELDS), ("fallback", METADATA_FIELDS)):
        for value in lists[key]:
            if value not in allowed:
                raise r.fail(f"site.{key}", f"{value!r} is not one of {', '.join(allowed)}")
    signature_min = site.get("signature_min", max(1, len(lists["signature"])))
    if not isinstance(signature_min, int) or isinstance(signature_min, bool):
        raise r.fail("site.signature_min", "must be an integer")
    return Profile(
        name=path.stem,
        file=str(path),
        hosts=[h.lower() for h in lists["hosts"]],
        url_patterns=[r.regex(p, "site.url_patterns") for p in lists["url_patterns"]],  # type: ignore[misc]
        signature=[Selector(s, f"{path}: site.signature") for s in lists["signature"]],
        signature_min=signature_min,
        required=lists["required"] or ["title", "body"],
        volatile=lists["volatile"],
        fallback=lists["fallback"],
        fields=fields,
        body_select=body_select,  # type: ignore[arg-type]
        body_exclude=[Selector(s, f"{path}: body.exclude") for s in r.strs(body, "exclude", "body")],
        comments=comments,
        ads=ads,
        related=related,
        hash=hashlib.sha256(raw).hexdigest(),
    )


def bundled_dir() -> Path:
    try:
        import parsers.bundled_sites as bundled  # the wheel maps config/sites here

        return Path(bundled.__file__).parent
    except ImportError:
        return Path(__file__).resolve().parent.parent / "config" / "sites"


@lru_cache(maxsize=16)
def _load_dir(directory: str, mtimes: tuple[tuple[str, float], ...]) -> dict[str, Profile]:
    return {Path(f).stem: load_profile(f) for f, _ in mtimes}


def load_profiles(extra_dirs: list[Path] | tuple[Path, ...] = ()) -> dict[str, Profile]:
    """Bundled profiles, then those in extra_dirs (a user's profile of the same name wins)."""
    out: dict[str, Profile] = {}
    for d in [bundled_dir(), *map(Path, extra_dirs)]:
        if not d.is_dir():
            if d != bundled_dir():
                raise ProfileError(f"profiles directory {d} does not exist")
            continue
        files = tuple(sorted((str(f), f.stat().st_mtime) for f in d.glob("*.toml")))
        out.update(_load_dir(str(d), files))
    return out


def choose_profile(url: str, tree: lxml.html.HtmlElement | None, profiles: dict[str, Profile]) -> Profile | None:
    """By host or URL pattern first; else by markup signature (mirrors, localhost, web archives)."""
    for p in profiles.values():
        if p.matches_url(url):
            return p
    if tree is None:
        return None
    best, best_score = None, 0
    for p in profiles.values():
        if not p.signature:
            continue
        score = p.signature_score(tree)
        if score >= p.signature_min and score > best_score:
            best, best_score = p, score
    return best


# ---- applying -----------------------------------------------------------------------------

def _visible(nodes: list[Any]) -> list[Any]:
    return [n for n in nodes if not isinstance(n, lxml.html.HtmlElement) or not is_hidden(n)]


def _value(node: Any, attr: str | None) -> str:
    if isinstance(node, str):  # an XPath string result
        return fold_ws(node)
    if attr:
        return fold_ws(node.get(attr))
    return inline_text(node)


def _clean(text: str, rule: FieldRule) -> str:
    for pattern in rule.strip:
        text = pattern.sub("", text)
    return fold_ws(text)


def _field(tree: lxml.html.HtmlElement, name: str, rule: FieldRule, url: str) -> Any:
    nodes = _visible(rule.select(tree))
    if name in LIST_FIELDS:
        values: list[str] = []
        for n in nodes:
            text = _clean(_value(n, rule.attr), rule)
            parts = rule.split.split(text) if rule.split else [text]
            values.extend(p.strip() for p in parts if p.strip())
        return list(dict.fromkeys(values))
    for n in nodes:
        text = _clean(_value(n, rule.attr), rule)
        if not text:
            continue
        if name in DATE_FIELDS:
            return to_iso_date(text, rule.date_formats)
        if name == "canonical_url":
            return join_url(url, text)
        return text
    return None


def _preceding_script_id(item: lxml.html.HtmlElement, pattern: re.Pattern[str]) -> str | None:
    """The id a script just before the item announces (adp_post_blocks.push("post_1"))."""
    node = item.getprevious()
    while node is not None:
        if isinstance(node.tag, str):
            if node.tag == "script":
                m = pattern.search(node.text or "")
                return m.group(1) if m else None
            if node.tag not in ("tbody",) and inline_text(node):
                return None  # another item or content sits between: no id for this one
        node = node.getprevious()
    # The script may sit at the end of the previous block (e.g. inside a preceding tbody).
    return None


def _comment_text(el: lxml.html.HtmlElement) -> list[str]:
    return block_texts(el)


def _comments(tree: lxml.html.HtmlElement, rule: CommentRule, fetched_at: datetime | None) -> tuple[list[Comment], ThreadInfo]:
    scope = tree
    if rule.container is not None:
        containers = rule.container(tree)
        if not containers:
            return [], ThreadInfo(present=False)
        scope = containers[0]
    items = rule.item(scope)
    if rule.exclude is not None:
        excluded = set(rule.exclude(scope))
        items = [i for i in items if i not in excluded]
    item_set = set(items)
    keys: dict[lxml.html.HtmlElement, Comment] = {}
    by_key: dict[str, Comment] = {}
    thread = ThreadInfo(present=True, parsed_cleanly=True)
    out: list[Comment] = []
    for item in items:
        author_nodes = rule.author(item)
        author = inline_text(author_nodes[0]) if author_nodes else None
        text_nodes = rule.text(item)
        if rule.nested:  # a reply's text is not its parent's
            text_nodes = [n for n in text_nodes if _owner(n, item_set) is item]
            author_nodes = [n for n in author_nodes if _owner(n, item_set) is item]
            author = inline_text(author_nodes[0]) if author_nodes else None
        paragraphs = [p for n in text_nodes for p in _comment_text(n)]
        if rule.hidden is not None:
            paragraphs += [p for n in rule.hidden(item) for p in _comment_text(n)]
        text = "\n\n".join(paragraphs)
        number = None
        if rule.number is not None:
            nodes = rule.number(item)
            m = rule.number_pattern.search(inline_text(nodes[0])) if nodes else None
            number = int(m.group(1)) if m else None
        cid = None
        if rule.id_attr:
            cid = item.get(rule.id_attr) or None
        if cid is None and rule.id_select is not None:
            nodes = rule.id_select(item)
            cid = _value(nodes[0], None) if nodes else None
        if cid is None and rule.id_script_pattern is not None:
            cid = _preceding_script_id(item, rule.id_script_pattern)
        posted = None
        if rule.date is not None:
            nodes = rule.date(item)
            if nodes:
                posted = to_iso_date(_value(nodes[0], "datetime" if isinstance(nodes[0], lxml.html.HtmlElement) and nodes[0].get("datetime") else None), rule.date_formats)
        if not text or (rule.number is not None and number is None):
            thread.parsed_cleanly = False
        if not text:
            continue
        reply_to = None
        if rule.reply_pattern is not None:
            m = rule.reply_pattern.search(text)
            reply_to = m.group(1).strip() if m else None
        key = cid or (str(number) if number is not None else
                      "h:" + hashlib.sha256(f"{author}\n{text}".encode()).hexdigest()[:16])
        if key in by_key:  # the same comment shown twice (a page that repeats its markup): once
            keys[item] = by_key[key]
            continue
        comment = Comment(id=cid, key=key, number=number, author=author, posted=posted, text=text,
                          reply_to=reply_to)
        if rule.nested:
            parent = _owner(item.getparent(), item_set) if item.getparent() is not None else None
            if parent is not None and parent in keys:
                comment.reply_to_key = keys[parent].key
                comment.reply_to = comment.reply_to or keys[parent].author
        keys[item] = by_key[key] = comment
        out.append(comment)
    _resolve_replies(out, newest_first=rule.numbered_newest_first)
    numbers = [c.number for c in out if c.number is not None]
    paged = rule.pagination is not None and bool(rule.pagination(tree))
    if numbers:
        thread.first_number, thread.last_number = numbers[0], numbers[-1]
        thread.complete = not paged and sorted(numbers) == list(range(1, max(numbers) + 1))
    else:
        # Without post numbers only the absence of pagination says the whole thread is shown.
        thread.complete = not paged and (not out or rule.pagination is not None)
    return out, thread


def _owner(node: lxml.html.HtmlElement | None, items: set[lxml.html.HtmlElement]) -> lxml.html.HtmlElement | None:
    """The innermost comment item holding `node` (itself included)."""
    while node is not None:
        if node in items:
            return node
        node = node.getparent()
    return None


def _resolve_replies(comments: list[Comment], *, newest_first: bool) -> None:
    """reply_to_key: the nearest earlier comment by the named author."""
    for i, c in enumerate(comments):
        if not c.reply_to or c.reply_to_key:
            continue
        name = c.reply_to.lower()
        older = comments[i + 1:] if newest_first else list(reversed(comments[:i]))
        for o in older:
            if (o.author or "").lower() == name:
                c.reply_to_key = o.key
                break


def _ad(el: lxml.html.HtmlElement, rule: AdRule, url: str) -> Ad:
    slot = rule.slot or el.get("id") or (el.get("class") or "").split(" ")[0] or el.tag
    parts = rule.text(el) if rule.text is not None else [el]
    text = " ".join(inline_text(p) for p in parts if isinstance(p, lxml.html.HtmlElement)) or None
    links = [a for a in el.iter("a") if a.get("href") and not a.get("href").startswith("#")]
    # A widget's own link is its "more..." link, not the title linking to the home page.
    more = [a for a in links if fold_ws(text_of(a)).lower().startswith("more")]
    link = (more or links or [None])[0]
    link = link.get("href") if link is not None else None
    return Ad(kind=rule.kind, slot=slot, text=text, url=join_url(url, link) if link else None)


def apply_profile(profile: Profile, tree: lxml.html.HtmlElement, url: str,
                  fetched_at: datetime | None = None) -> tuple[ParsedPage, list[str]]:
    """The records this profile finds; returns (page, missing required fields)."""
    md = Metadata()
    for name, rule in profile.fields.items():
        value = _field(tree, name, rule, url)
        if value:
            setattr(md, name, value)
            md.sources[name] = f"profile:{profile.name}"
    # Ads first: what is an ad is never body or comment.
    ads: list[Ad] = []
    ad_elements: list[lxml.html.HtmlElement] = []
    for rule in profile.ads:
        for el in rule.select(tree):
            ancestors = set(el.iterancestors())
            if any(a is el or a in ancestors for a in ad_elements):
                continue  # inside a slot already recorded
            ads.append(_ad(el, rule, url))
            ad_elements.append(el)
    # Elements, not id()s: lxml proxies come and go, and a dead one's id is reused.
    excluded = {e for sel in profile.body_exclude for e in sel(tree)} | set(ad_elements)
    body_nodes = [n for n in _visible(profile.body_select(tree))
                  if n not in excluded and not any(a in excluded for a in n.iterancestors())]
    paragraphs = [p for n in body_nodes for p in block_texts(n)]
    body = Body(text="\n\n".join(paragraphs), paragraphs=paragraphs, html=sanitize_fragments(body_nodes, url))
    related = []
    if profile.related is not None:
        for a in profile.related(tree):
            title = inline_text(a)
            if title:
                href = a.get("href")
                related.append(Related(title=title, url=join_url(url, href) if href else None))
    comments, thread = ([], ThreadInfo()) if profile.comments is None else _comments(tree, profile.comments, fetched_at)
    page = ParsedPage(url=url, profile=profile.name, parser_version=PARSER_VERSION, metadata=md, body=body,
                      ads=ads, related=related, comments=comments, thread=thread, profile_hash=profile.hash,
                      volatile=list(profile.volatile))
    missing = [f for f in profile.required if (not paragraphs if f == "body" else not getattr(md, f))]
    return page, missing


# ---- explaining (for `pagetrail profiles check`) -------------------------------------------

def _excerpt(nodes: list[Any], limit: int = 80) -> str:
    if not nodes:
        return ""
    text = nodes[0] if isinstance(nodes[0], str) else inline_text(nodes[0])
    text = fold_ws(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def explain_profile(profile: Profile, tree: lxml.html.HtmlElement) -> list[dict[str, Any]]:
    """What every selector of the profile matches on this page: count and a short excerpt."""
    rows: list[dict[str, Any]] = []

    def row(part: str, sel: Selector | None, scope: lxml.html.HtmlElement = tree) -> None:
        if sel is None:
            return
        nodes = sel(scope)
        rows.append({"part": part, "selector": sel.text, "count": len(nodes), "excerpt": _excerpt(nodes)})

    for i, sel in enumerate(profile.signature):
        row(f"site.signature[{i}]", sel)
    for name, rule in profile.fields.items():
        nodes = rule.select(tree)
        excerpt = _value(nodes[0], rule.attr)[:80] if nodes else ""
        rows.append({"part": f"fields.{name}", "selector": rule.select.text, "count": len(nodes), "excerpt": excerpt})
    row("body.select", profile.body_select)
    for i, sel in enumerate(profile.body_exclude):
        row(f"body.exclude[{i}]", sel)
    c = profile.comments
    if c is not None:
        row("comments.container", c.container)
        items = c.item(tree)
        row("comments.item", c.item)
        if items:
            for part in ("author", "text", "number", "date", "hidden", "id_select"):
                sel = getattr(c, part)
                if sel is not None:
                    nodes = [n for it in items for n in sel(it)]
                    rows.append({"part": f"comments.{part}", "selector": sel.text,
                                 "count": len(nodes), "excerpt": _excerpt(nodes)})
        row("comments.exclude", c.exclude)
        row("comments.pagination", c.pagination)
    for i, ad in enumerate(profile.ads):
        row(f"ads[{i}] ({ad.kind})", ad.select)
    row("related.select", profile.related)
    return rows
