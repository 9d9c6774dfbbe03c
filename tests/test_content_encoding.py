"""Content-Encoding undone with a limit: what fetching and reparsing both rely on."""

from __future__ import annotations

import gzip
import zlib

import pytest
import zstandard

from parsers.content_encoding import DecodingError, decode_payload, encodings_of


def test_codings_in_order_and_identity_dropped():
    assert encodings_of([("Content-Encoding", "gzip, identity"), ("X", "y")]) == ["gzip"]
    assert encodings_of({"content-encoding": "deflate,gzip"}) == ["deflate", "gzip"]
    assert encodings_of(None) == []


@pytest.mark.parametrize(
    "coding,encode",
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda b: zlib.compress(b)[2:-4]),  # raw deflate, no zlib header
        ("zstd", lambda b: zstandard.ZstdCompressor().compress(b)),
    ],
)
def test_round_trip(coding, encode):
    body = "<p>Caf\u00e9 \u2014 liver</p>".encode() * 100
    assert decode_payload(encode(body), [("Content-Encoding", coding)]) == (body, False)


def test_stacked_codings_are_undone_last_first():
    body = b"<html>stacked</html>"
    payload = gzip.compress(zlib.compress(body))
    assert decode_payload(payload, {"Content-Encoding": "deflate, gzip"}) == (body, False)


def test_a_bomb_is_cut_at_the_limit():
    bomb = gzip.compress(b"\0" * 20_000_000)
    out, cut = decode_payload(bomb, {"Content-Encoding": "gzip"}, limit=100_000)
    assert cut and len(out) == 100_000


def test_truncated_gzip_gives_what_arrived():
    out, cut = decode_payload(gzip.compress(b"hello world" * 1000)[:200], {"Content-Encoding": "gzip"})
    assert out.startswith(b"hello world") and not cut


def test_garbage_is_a_clear_error():
    with pytest.raises(DecodingError, match="gzip payload does not decode"):
        decode_payload(b"not gzip at all", {"Content-Encoding": "gzip"})
    with pytest.raises(DecodingError, match="unknown content-encoding"):
        decode_payload(b"x", {"Content-Encoding": "lzma9"})
