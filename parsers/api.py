"""parse(): bytes in, a ParsedPage out — never an exception.

The profile is chosen by host or URL pattern, else by markup signature; a page no profile
claims goes to generic extraction. A profile whose required fields find nothing gives a
degraded record (generic extraction fills in, a warning says why) that the archive keeps but
does not version.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
import re
from urllib.parse import urlsplit
from datetime import datetime

from parsers.generic import extract_generic, extract_metadata
from parsers.htmlload import decode_body, header_charset, parse_html
from parsers.profiles import Profile, ProfileError, apply_profile, choose_profile, load_profiles
from parsers.records import Metadata, ParsedPage
from parsers.urls import join_url
from parsers.version import PARSER_VERSION

_NOT_HTML_HINTS = ("image/", "audio/", "video/", "font/", "application/pdf", "application/zip",
                   "application/octet-stream", "application/json", "text/css", "javascript")


def _headers(headers: Mapping[str, str] | Sequence[tuple[str, str]] | None) -> dict[str, str]:
    if not headers:
        return {}
    items = headers.items() if isinstance(headers, Mapping) else headers
    return {k.lower(): v for k, v in items}


def _fill_fallbacks(page: ParsedPage, profile: Profile, generic: Metadata) -> None:
    for name in profile.fallback:
        if getattr(page.metadata, name) in (None, "", []) and getattr(generic, name) not in (None, "", []):
            setattr(page.metadata, name, getattr(generic, name))
            page.metadata.sources[name] = f"generic:{generic.sources.get(name, 'markup')}"


def parse(
    body: bytes | str,
    url: str,
    *,
    headers: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
    fetched_at: datetime | None = None,
    profile: Profile | str | None = None,
    profiles: dict[str, Profile] | None = None,
) -> ParsedPage:
    """Parse one page. profile: None (choose), "generic", a profile name, or a loaded Profile.
    profiles: the profiles to choose among (default: the bundled ones)."""
    try:
        return _parse(body, url, _headers(headers), fetched_at, profile, profiles)
    except Exception as exc:  # noqa: BLE001 - any bytes in, a record out
        return ParsedPage(url=url, profile="generic", parser_version=PARSER_VERSION,
                          warnings=[f"parser error, nothing extracted: {type(exc).__name__}: {exc}"])


def _parse(body: bytes | str, url: str, headers: dict[str, str], fetched_at: datetime | None,
           profile: Profile | str | None, profiles: dict[str, Profile] | None) -> ParsedPage:
    _charset, ctype = header_charset(headers)
    if ctype and any(h in ctype for h in _NOT_HTML_HINTS):
        return ParsedPage(url=url, profile="generic", parser_version=PARSER_VERSION,
                          warnings=[f"not an HTML page (Content-Type {ctype}): nothing extracted"])
    text, _used, warnings = decode_body(body, headers)
    if not text or text.isspace():  # (not text.strip(): a copy of the whole page)
        return ParsedPage(url=url, profile="generic", parser_version=PARSER_VERSION,
                          warnings=warnings + ["empty document"])
    tree = parse_html(text)
    chosen: Profile | None
    if isinstance(profile, Profile):
        chosen = profile
    elif profile == "generic":
        chosen = None
    else:
        available = profiles if profiles is not None else load_profiles()
        if isinstance(profile, str):
            if profile not in available:
                raise ProfileError(f"unknown profile {profile!r}; known: {', '.join(sorted(available))}")
            chosen = available[profile]
        else:
            chosen = choose_profile(url, tree, available)
    links = page_links(tree, url)  # first: a generic extraction consumes the tree
    if chosen is None:
        page = extract_generic(tree, url, fetched_at, date_search=True, consume=True)
    else:
        page, missing = apply_profile(chosen, tree, url, fetched_at)
        if missing:
            generic = extract_generic(tree, url, fetched_at, date_search=True, consume=True)
            generic.degraded = True
            generic.profile_hash = chosen.hash
            generic.failed_profile = chosen.name
            generic.warnings.insert(0, f"profile {chosen.name}: required field(s) {', '.join(missing)} "
                                       "found nothing; generic extraction used, not versioned "
                                       "(fix the profile, then `pagetrail reparse`)")
            page = generic
        else:
            _fill_fallbacks(page, chosen, extract_metadata(tree, url))
    page.warnings = warnings + page.warnings
    page.links = links
    return page


# a link from the site's root ("/path?query#fragment", not "//host"): no ";" (urljoin drops
# empty parameters), no tab, CR or LF (urljoin removes them)
_ROOTED = re.compile(r"/(?!/)[^;\t\r\n]*")


def _hrefs_in_python(tree) -> list[tuple[str, str | None]]:  # type: ignore[no-untyped-def]
    """(href, rel) of every <a> and <area> with an href, in document order (page_links() reads
    them in C where parsers/_links_walk.pyx is compiled)."""
    return [(href, a.get("rel")) for a in tree.iter("a", "area") if (href := a.get("href")) is not None]


try:  # the links read from libxml2's nodes (parsers/_links_walk.pyx): page_links() in C
    from parsers import _links_walk as _links_in_c
except ImportError:
    _links_in_c = None  # type: ignore[assignment]


def page_links(tree, url: str) -> list[str]:  # type: ignore[no-untyped-def]
    """Absolute http(s) links of the page, without fragments, each once, in document order."""
    base = url
    base_el = tree.find(".//base")
    if base_el is not None and base_el.get("href"):
        base = join_url(url, base_el.get("href").strip()) or url
    # "/path" links resolve to the base's scheme and host + the link as written, when nothing
    # in them is rewritten by urljoin (dot segments, empty ";" or "?", tabs and newlines)
    try:
        parts = urlsplit(base)
        origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else None
    except ValueError:  # a malformed base: urljoin decides, link by link, as before
        origin = None

    def absolute_of(href: str, rel: str | None) -> str | None:
        return _absolute(href, rel, base, origin)

    if _links_in_c is not None:  # (the same rules; the common links read as bytes)
        return _links_in_c.page_links(tree, origin, absolute_of)
    out: dict[str, None] = {}
    for href, rel in _hrefs_in_python(tree):
        absolute = absolute_of(href, rel)
        if absolute is not None:
            out.setdefault(absolute, None)
    return list(out)


def _absolute(href: str, rel: str | None, base: str, origin: str | None) -> str | None:
    """The link an <a href> or <area href> makes on a page (base: the page's base URL; origin:
    its "scheme://host", if http(s)): absolute, fragment cut, http(s) only; None for no link
    (a fragment, javascript:, mailto:, rel=nofollow, a malformed URL)."""
    href = href.strip()
    if not href or href.startswith(("#", "javascript:", "mailto:", "tel:", "data:")):
        return None
    if rel and "nofollow" in rel.lower().split():
        return None
    if href.startswith(("http://", "https://")) and "/." not in href and " " not in href \
            and "[" not in href.split("/", 3)[2]:  # (a "[" in the host: join_url checks it)
        absolute = href.split("#", 1)[0]  # already absolute: urljoin would return it as is
    elif origin is not None and href[0] == "/" and _ROOTED.fullmatch(href) and "/." not in href \
            and not (target := href.split("#", 1)[0]).endswith("?"):  # (urljoin drops an empty query)
        absolute = origin + target
    else:
        joined = join_url(base, href)
        if joined is None:  # a malformed link: that link only is lost
            return None
        absolute = joined.split("#", 1)[0]
    return absolute if absolute.startswith(("http://", "https://")) else None
