"""Undoing HTTP Content-Encoding (gzip, deflate, br, zstd) with a size limit.

Archives keep payloads as the server sent them; parsing needs the decoded bytes. Fetching and
reparsing both decode through here, so a capture parses the same either way. A body that
decodes past `limit` bytes (a decompression bomb) is cut there and reported.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence

import zstandard

DEFAULT_LIMIT = 50 * 1024 * 1024


class DecodingError(ValueError):
    """The payload does not decode with the encoding it claims."""


def encodings_of(headers: Mapping[str, str] | Sequence[tuple[str, str]] | None) -> list[str]:
    """The Content-Encoding codings in the order they were applied ("identity" dropped)."""
    if not headers:
        return []
    items = headers.items() if isinstance(headers, Mapping) else headers
    values = [v for k, v in items if k.lower() == "content-encoding"]
    codings = [c.strip().lower() for v in values for c in v.split(",")]
    return [c for c in codings if c and c != "identity"]


def _inflate(obj, data: bytes, limit: int) -> tuple[bytes, bool]:  # type: ignore[no-untyped-def]
    # max_length bounds the output: a bomb never expands past limit + 1 bytes in memory.
    out = obj.decompress(data, limit + 1)
    return (out[:limit], True) if len(out) > limit else (out, False)


def _decode_one(coding: str, data: bytes, limit: int) -> tuple[bytes, bool]:
    try:
        if coding in ("gzip", "x-gzip"):
            return _inflate(zlib.decompressobj(16 + zlib.MAX_WBITS), data, limit)
        if coding == "deflate":
            try:
                return _inflate(zlib.decompressobj(), data, limit)
            except zlib.error:  # servers that send raw deflate without the zlib header
                return _inflate(zlib.decompressobj(-zlib.MAX_WBITS), data, limit)
        if coding == "zstd":
            reader = zstandard.ZstdDecompressor().stream_reader(data)
            out = reader.read(limit + 1)
            return (out[:limit], True) if len(out) > limit else (out, False)
        if coding == "br":
            import brotli  # httpx's optional brotli support provides it when installed

            out = brotli.decompress(data)
            return (out[:limit], True) if len(out) > limit else (out, False)
    except ImportError:
        raise DecodingError("the payload is brotli-encoded and no brotli module is installed") from None
    except (zlib.error, zstandard.ZstdError) as exc:
        raise DecodingError(f"{coding} payload does not decode: {exc}") from None
    raise DecodingError(f"unknown content-encoding {coding!r}")


def decode_payload(
    payload: bytes,
    headers: Mapping[str, str] | Sequence[tuple[str, str]] | None,
    limit: int = DEFAULT_LIMIT,
) -> tuple[bytes, bool]:
    """(decoded bytes, cut at limit?) — raises DecodingError for a payload that won't decode."""
    data, cut = payload, False
    for coding in reversed(encodings_of(headers)):
        data, was_cut = _decode_one(coding, data, limit)
        cut = cut or was_cut
    return data, cut
