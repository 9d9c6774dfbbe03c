"""Content-addressed payload store: one row per sha256, compressed with zstd.

The blob interface (put/get/verify) is what the rest of storage uses, so the layout behind
it (plain zstd today, deltas or object storage later) can change without touching callers.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone

import zstandard
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Blob

ZSTD_LEVEL = 10
# Below this size compression rarely pays for its header.
_MIN_COMPRESS = 64


class BlobCorrupt(Exception):
    """A stored blob no longer hashes to its digest."""


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def put_blob(session: Session, payload: bytes) -> str:
    """Store `payload` once per digest; returns the digest. Inside the caller's transaction."""
    digest = sha256_hex(payload)
    if session.get(Blob, digest) is not None:
        return digest
    codec, data = "identity", payload
    if len(payload) >= _MIN_COMPRESS:
        packed = zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(payload)
        if len(packed) < len(payload):
            codec, data = "zstd", packed
    session.add(
        Blob(
            digest=digest,
            size=len(payload),
            stored_size=len(data),
            codec=codec,
            data=data,
            created_at=datetime.now(timezone.utc),
        )
    )
    return digest


def _decode(blob: Blob) -> bytes:
    if blob.codec == "identity":
        return bytes(blob.data)
    if blob.codec == "zstd":
        return zstandard.ZstdDecompressor().decompress(bytes(blob.data), max_output_size=blob.size)
    raise BlobCorrupt(f"blob {blob.digest}: unknown codec {blob.codec!r}")


def get_blob(session: Session, digest: str, *, verify: bool = True) -> bytes:
    """The payload bytes, verified against their sha256 unless told otherwise."""
    blob = session.get(Blob, digest)
    if blob is None:
        raise KeyError(f"no blob {digest}")
    try:
        payload = _decode(blob)
    except zstandard.ZstdError as exc:
        raise BlobCorrupt(f"blob {digest} does not decompress: {exc}") from None
    if verify and sha256_hex(payload) != digest:
        raise BlobCorrupt(f"blob {digest} does not match its digest")
    return payload


def iter_digests(session: Session):  # type: ignore[no-untyped-def]
    yield from session.scalars(select(Blob.digest).order_by(Blob.digest))
