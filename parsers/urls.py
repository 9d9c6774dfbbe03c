"""The one URL normalizer (DESIGN.md, Pages and URLs), used by every layer.

Scheme and host lower-cased, default port dropped, fragment dropped, tracking parameters
removed, query sorted, percent-encoding made canonical (w3lib does the last three).
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit, urlunsplit

from w3lib.url import canonicalize_url, url_query_cleaner

# Query parameters that identify a campaign or a click, never a document.
TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "mc_cid", "mc_eid",
        "_ga", "_gl", "igshid", "ref_src", "spm", "mkt_tok", "oly_anon_id", "oly_enc_id",
        "vero_id", "__s", "_hsenc", "_hsmi",
    }
)
_TRACKING_PREFIXES = ("utm_", "pk_", "hsa_")
_DEFAULT_PORTS = {"http": 80, "https": 443}


class InvalidURL(ValueError):
    """The text is not an absolute http(s) URL."""


def _is_tracking(name: str) -> bool:
    low = name.lower()
    return low in TRACKING_PARAMS or low.startswith(_TRACKING_PREFIXES)


def normalize_url(url: str) -> str:
    """Normalize an absolute http(s) URL; raises InvalidURL for anything else."""
    url = (url or "").strip()
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise InvalidURL(f"not a URL: {url!r} ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise InvalidURL(f"not an absolute http(s) URL: {url!r}")
    host = parts.hostname.lower().rstrip(".")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        raise InvalidURL(f"bad port in URL: {url!r}") from None
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    if parts.username or parts.password:
        auth = parts.username or ""
        if parts.password:
            auth += ":" + parts.password
        netloc = f"{auth}@{netloc}"
    path = re.sub(r"/{2,}", "/", parts.path) or "/"
    rebuilt = urlunsplit((scheme, netloc, path, parts.query, ""))
    if parts.query:
        keep = [k for k in _query_keys(parts.query) if not _is_tracking(k)]
        rebuilt = url_query_cleaner(rebuilt, keep, unique=False, keep_fragments=False)
    return canonicalize_url(rebuilt, keep_fragments=False)


# An absolute http(s) URL that urljoin gives back unchanged whatever the base: printable ASCII
# (urllib removes tabs and newlines), a host (no "[" or "]": an IPv6 one goes to urljoin, which
# checks it), no "#" or ";" (urllib drops an empty fragment or parameters), not ending in "?"
# (an empty query, dropped too).
_PRINTABLE = [chr(c) for c in range(0x21, 0x7f)]
_AS_IS = re.compile("https?://[{host}]+(?:[/?][{rest}]*)?(?<!\\?)".format(
    host="".join(re.escape(c) for c in _PRINTABLE if c not in "#/;?[]"),
    rest="".join(re.escape(c) for c in _PRINTABLE if c not in "#;")))


def join_url(base: str, href: str) -> str | None:
    """urljoin(base, href), or None where urllib refuses it (a malformed IPv6 host such as
    "http://[bad/", a host with characters that normalize to "/", "?", "#" or "@"): a page's links are its authors' text, and one broken link
    must cost that link only, never the page's record."""
    if href.startswith(("http://", "https://")) and _AS_IS.fullmatch(href):
        return href  # what urljoin returns for it: nothing in it that urllib would rewrite
    try:
        return urljoin(base, href)
    except ValueError:
        return None


def _query_keys(query: str) -> list[str]:
    return [pair.split("=", 1)[0] for pair in query.split("&") if pair]


def host_of(url: str) -> str:
    """host[:port] of a normalized URL: the unit of politeness."""
    return urlsplit(url).netloc.rsplit("@", 1)[-1]
