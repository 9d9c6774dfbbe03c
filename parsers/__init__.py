"""Pure parsers: (bytes, url, headers, fetched_at, profile) -> ParsedPage.

No network, no database: the same inputs give the same records.
"""

from parsers.records import (
    Ad,
    Body,
    Comment,
    Metadata,
    ParsedPage,
    Related,
    ThreadInfo,
)
from parsers.version import PARSER_VERSION
from parsers.api import parse

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
