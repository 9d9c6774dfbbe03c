"""Pure parsers: (bytes, url, headers, fetched_at, profile) -> ParsedPage.

No network, no database: the same inputs give the same records.
"""

from parsers._compiled import prefer_current_sources

prefer_current_sources()  # first: a compiled module its source has moved past is not used


from parsers.records import (  # noqa: E402
    Ad,
    Body,
    Comment,
    Metadata,
    ParsedPage,
    Related,
    ThreadInfo,
)
from parsers.version import PARSER_VERSION  # noqa: E402
from parsers.api import parse  # noqa: E402

__all__ = [
    "PARSER_VERSION",
    "Ad",
    "Body",
    "Comment",
    "Metadata",
    "ParsedPage",
    "Related",
    "ThreadInfo",
    "parse",
]
