"""Content-addressed payload store, stored by difference.

One row per sha256 digest (identical payloads are stored once). A row is either a *keyframe*
(zstd of the payload alone) or a *delta*: zstd of the payload with an earlier payload (its
`base_digest`) as a raw-content dictionary. Rotating widgets make every fetch of a page
different, so plain dedupe never fires; but two fetches of one page share almost every byte,
and a delta against the previous one costs a few hundred bytes instead of ~16 KB.

How a base is chosen (measured on bench/site.py pages, see bench/storage.py):
- Within one page, skip-deltas: the k-th blob of a page's chain (`seq` = k) is a delta of
  the chain's blob k & (k-1). Any blob is then restored through at most popcount(k) deltas,
  i.e. log2(N) for a chain of N, and each delta still has a near neighbour as its base (the
  size is within 2% of delta-against-previous, while a plain chain needs N-1 steps).
- A page's first blob (a chain *root*, seq 0) is a delta of a shallow blob of another page of
  the same site when one is given: the site's chrome (CSS, scripts, menus) is then paid once
  per site, not once per page; a root costs the article's own text (~30% of a keyframe).
- A chain is re-rooted every `reroot_interval` blobs or when the depth bound would be
  exceeded, and any delta that would not pay (not `min_gain` times smaller than the payload
  compressed alone) is stored as a keyframe instead.
So `depth` (deltas between a blob and its keyframe) never exceeds `max_depth`.

Every restored payload is checked against its sha256 (intermediate chain links too). A small
LRU cache of restored payloads, keyed by digest, keeps chains cheap; a digest names its bytes
exactly, so a cached entry can never be stale — only a removed blob must be forgotten.

The blob interface (put/get) is what the rest of storage uses, so the layout behind it can
change (object storage later) without touching callers. This module and storage.integrity /
storage.relayout are the only writers of blob rows.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone

import zstandard
from sqlalchemy import Integer, bindparam, exists, literal, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from storage import txcache
from storage.models import Blob, Capture, Page

# Below this size compression rarely pays for its header.
_MIN_COMPRESS = 64
# Blob.layout: 0 = written before deltas existed (storage.relayout re-encodes those), 1 = now.
LAYOUT_DELTA = 1
CODEC_IDENTITY = "identity"
CODEC_ZSTD = "zstd"  # a keyframe: zstd of the payload alone
CODEC_DELTA = "zstd-delta"  # zstd with the base payload as a raw-content dictionary


@dataclass(frozen=True)
class BlobPolicy:
    """How payloads are laid out. Changing it affects new blobs only; old ones stay readable."""

    max_depth: int = 12  # a blob is restored through at most this many deltas
    reroot_interval: int = 256  # a page's chain starts a new root after this many blobs
    delta_level: int = 10  # zstd level of deltas (measured: level 10 ~3% smaller than 3, ~0.45 ms)
    keyframe_level: int = 19  # keyframes are rare, so they get the strong level
    min_gain: float = 2.0  # a delta must be this many times smaller than a keyframe to be kept
    cross_page: bool = True  # roots may be deltas of another page of the same site
    cache_bytes: int = 64 * 1024 * 1024  # LRU budget for restored payloads


POLICY = BlobPolicy()


def set_policy(policy: BlobPolicy) -> None:
    """Replace the layout policy (settings wiring, tests, benchmarks)."""
    global POLICY
    POLICY = policy
    _CACHE.resize(policy.cache_bytes)


class BlobCorrupt(Exception):
    """A stored blob does not restore to the bytes its digest names."""


class BlobMissing(BlobCorrupt, KeyError):
    """A blob (or a base a delta needs) is not in the store."""


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---- the cache of restored payloads --------------------------------------------------------
class _PayloadCache:
    """LRU by total bytes; thread-safe (crawls store from worker threads)."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.used = 0
        self.items: OrderedDict[str, bytes] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, digest: str) -> bytes | None:
        with self.lock:
            data = self.items.get(digest)
            if data is not None:
                self.items.move_to_end(digest)
            return data

    def put(self, digest: str, data: bytes) -> None:
        if len(data) > self.budget // 4:  # one huge payload must not flush everything else
            return
        with self.lock:
            if digest in self.items:
                self.items.move_to_end(digest)
                return
            self.items[digest] = data
            self.used += len(data)
            while self.used > self.budget and self.items:
                _, old = self.items.popitem(last=False)
                self.used -= len(old)

    def forget(self, digest: str) -> None:
        with self.lock:
            data = self.items.pop(digest, None)
            if data is not None:
                self.used -= len(data)

    def clear(self) -> None:
        with self.lock:
            self.items.clear()
            self.used = 0

    def resize(self, budget: int) -> None:
        with self.lock:
            self.budget = budget
        self.put("", b"")  # evicts down to the new budget
        self.forget("")


_CACHE = _PayloadCache(POLICY.cache_bytes)


def forget_cached(digest: str) -> None:
    """Drop a payload from the cache (a blob removed or redacted must not be served)."""
    _CACHE.forget(digest)


def clear_cache() -> None:
    _CACHE.clear()


# ---- codecs ---------------------------------------------------------------------------------
def _raw_dict(base: bytes) -> zstandard.ZstdCompressionDict:
    return zstandard.ZstdCompressionDict(base, dict_type=zstandard.DICT_TYPE_RAWCONTENT)


def compress_keyframe(payload: bytes, level: int | None = None) -> tuple[str, bytes]:
    if len(payload) < _MIN_COMPRESS:
        return CODEC_IDENTITY, payload
    packed = zstandard.ZstdCompressor(level=level or POLICY.keyframe_level).compress(payload)
    if len(packed) >= len(payload):
        return CODEC_IDENTITY, payload
    return CODEC_ZSTD, packed


def compress_delta(payload: bytes, base: bytes, level: int | None = None, *, base_digest: str | None = None) -> bytes:
    """zstd of `payload` with `base` as a raw-content dictionary. base_digest (the base's
    sha256): the dictionary is digested once and kept for the next payloads on the same base
    (a crawl's new pages of a site are all deltas of one shallow blob of it)."""
    level = level or POLICY.delta_level
    if base_digest is None:
        return zstandard.ZstdCompressor(level=level, dict_data=_raw_dict(base)).compress(payload)
    return zstandard.ZstdCompressor(level=level, dict_data=_base_dict(base_digest, base, level)).compress(payload)


# (base digest, level) -> its dictionary, digested for that level (about a third of a delta's
# CPU went to loading a 70 KB base into zstd's tables, for every delta). A digest names its
# bytes exactly, so an entry never goes stale.
_DICTS: OrderedDict[tuple[str, int], zstandard.ZstdCompressionDict] = OrderedDict()
_DICTS_KEPT = 32  # ~0.7 MB each (70 KB bases, level 10): a crawl round-robins over its sites
_DICTS_LOCK = threading.Lock()


def _base_dict(digest: str, base: bytes, level: int) -> zstandard.ZstdCompressionDict:
    key = (digest, level)
    with _DICTS_LOCK:
        d = _DICTS.get(key)
        if d is not None:
            _DICTS.move_to_end(key)
            return d
    d = _raw_dict(base)
    d.precompute_compress(level=level)  # read-only from here on: shared by threads
    with _DICTS_LOCK:
        _DICTS[key] = d
        while len(_DICTS) > _DICTS_KEPT:
            _DICTS.popitem(last=False)
    return d


def _decode(digest: str, codec: str, data: bytes, size: int, base: bytes | None) -> bytes:
    try:
        if codec == CODEC_IDENTITY:
            return data
        if codec == CODEC_ZSTD:
            return zstandard.ZstdDecompressor().decompress(data, max_output_size=size)
        if codec == CODEC_DELTA:
            if base is None:
                raise BlobCorrupt(f"blob {digest}: a delta without its base")
            dctx = zstandard.ZstdDecompressor(dict_data=_raw_dict(base))
            return dctx.decompress(data, max_output_size=size)
    except zstandard.ZstdError as exc:
        raise BlobCorrupt(f"blob {digest} does not decompress: {exc}") from None
    raise BlobCorrupt(f"blob {digest}: unknown codec {codec!r}")


# ---- chain metadata ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Link:
    """A blob's place in the delta graph, without its data."""

    digest: str
    base_digest: str | None
    depth: int
    seq: int


def _link(s: Session, digest: str) -> Link | None:
    cache = txcache.of(s)  # a storing transaction walks the same chains capture after capture
    if cache is not None and digest in cache.blob_links:
        return cache.blob_links[digest]
    row = s.execute(
        select(Blob.digest, Blob.base_digest, Blob.depth, Blob.seq).where(Blob.digest == digest)
    ).first()
    link = Link(*row) if row is not None else None
    if cache is not None and link is not None:
        cache.blob_links[digest] = link
    return link


def _ancestor(s: Session, start: Link, stop) -> Link | None:  # type: ignore[no-untyped-def]
    """Walk base pointers from `start` to the first link satisfying `stop`; None if the walk
    breaks (a missing base) or exceeds any sane length (a cycle)."""
    node: Link | None = start
    for _ in range(POLICY.max_depth + 64):
        if node is None or stop(node):
            return node
        if node.base_digest is None:
            return None
        node = _link(s, node.base_digest)
    return None


@dataclass(frozen=True)
class Encoding:
    codec: str
    data: bytes
    base_digest: str | None
    depth: int
    seq: int

    @property
    def is_keyframe(self) -> bool:
        return self.base_digest is None


def _keyframe(payload: bytes, seq: int = 0) -> Encoding:
    codec, data = compress_keyframe(payload)
    return Encoding(codec, data, None, 0, seq)


def choose_base(
    s: Session, base_digest: str | None, sibling_digest: str | None
) -> tuple[Link | None, int]:
    """The blob a new payload should be a delta of, and the new blob's chain position.

    base_digest: the same page's latest payload (continue its chain);
    sibling_digest: used when the page has none: a payload of another page of the site.
    """
    p = POLICY
    if p.max_depth <= 0:
        return None, 0
    root_base_depth = min(1, p.max_depth - 1)  # a root's base is a keyframe or a depth-1 root
    prev = _link(s, base_digest) if base_digest else None
    if prev is not None:
        k = prev.seq + 1
        if k < p.reroot_interval:
            target = k & (k - 1)  # skip-delta: clear the lowest set bit
            base = _ancestor(s, prev, lambda n: n.seq <= target)
            if base is not None and base.depth + 1 <= p.max_depth:
                return base, k
        # Re-root: the page's own shallow ancestor, whose bytes are mostly this page's.
        return _ancestor(s, prev, lambda n: n.depth <= root_base_depth), 0
    if sibling_digest and p.cross_page:
        sib = _link(s, sibling_digest)
        if sib is not None:
            return _ancestor(s, sib, lambda n: n.depth <= root_base_depth), 0
    return None, 0


def encode(
    s: Session,
    payload: bytes,
    *,
    base_digest: str | None = None,
    sibling_digest: str | None = None,
    exclude: frozenset[str] = frozenset(),
) -> Encoding:
    """How `payload` should be stored now: a delta of a chosen base, or a keyframe.

    exclude: digests that must not be the base (a blob being removed, or the payload's own).
    """
    if len(payload) < _MIN_COMPRESS:
        return _keyframe(payload)
    base, seq = choose_base(s, base_digest, sibling_digest)
    if base is None or base.digest in exclude:
        return _keyframe(payload)
    try:
        base_payload = get_blob(s, base.digest)
    except BlobCorrupt:
        # A damaged base must not stop the archive from taking new captures: store this one
        # whole (verify reports the damage; new bytes never lean on it).
        return _keyframe(payload)
    delta = compress_delta(payload, base_payload, base_digest=base.digest)
    # Does the delta pay? Only look when it is not obviously tiny (a cheap level-3 estimate
    # of the keyframe; most deltas are <2% of the payload and skip this).
    if len(delta) * 20 > len(payload):
        estimate = len(zstandard.ZstdCompressor(level=3).compress(payload))
        if estimate < len(delta) * POLICY.min_gain:
            return _keyframe(payload)
    return Encoding(CODEC_DELTA, delta, base.digest, base.depth + 1, seq)


# ---- the interface ---------------------------------------------------------------------------
# Built once per dialect (a statement with its values inlined is compiled anew every time).
_INSERT_IGNORE = {
    "postgresql": pg_insert(Blob).on_conflict_do_nothing(index_elements=["digest"]),
    "sqlite": sqlite_insert(Blob).on_conflict_do_nothing(index_elements=["digest"]),
}


def _insert_ignore(s: Session, values: dict[str, object]) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING: two workers storing the same bytes both succeed.
    True when this call inserted the row."""
    stmt = _INSERT_IGNORE["postgresql" if s.get_bind().dialect.name == "postgresql" else "sqlite"]
    return s.connection().execute(stmt, values).rowcount == 1  # Core: no ORM bulk machinery


def put_blob(
    session: Session,
    payload: bytes,
    *,
    base_digest: str | None = None,
    sibling_digest: str | None = None,
) -> str:
    """Store `payload` once per digest; returns the digest. Inside the caller's transaction.

    base_digest: the same page's latest stored payload, which the new one is stored relative
    to; sibling_digest: for a page's first payload, one of another page of the same site.
    Both are hints: any base gives the same bytes back, only the size differs.
    """
    digest = sha256_hex(payload)
    cache = txcache.of(session)
    if cache is not None and digest in cache.blob_links:
        return digest
    if (cache is None or digest not in cache.absent_blobs) and session.scalar(
        select(exists().where(Blob.digest == digest))
    ):
        return digest
    enc = encode(session, payload, base_digest=base_digest, sibling_digest=sibling_digest)
    row = {
        "digest": digest,
        "size": len(payload),
        "stored_size": len(enc.data),
        "codec": enc.codec,
        "data": enc.data,
        "created_at": datetime.now(timezone.utc),
        "base_digest": enc.base_digest,
        "depth": enc.depth,
        "seq": enc.seq,
        "is_keyframe": enc.is_keyframe,
        "layout": LAYOUT_DELTA,
    }
    if cache is not None:
        # Queued with the transaction's other rows (txcache.flush: ON CONFLICT DO NOTHING in
        # one executemany). Should another worker store these bytes first, on another base,
        # this transaction's idea of the chain is a little off: bases are only hints, the
        # bytes restored are the same.
        cache.add(Blob, row)
        cache.pending_blobs.add(digest)
        inserted = True
    else:
        inserted = _insert_ignore(session, row)
    # The next capture of this page will want these bytes as its base: keep them warm.
    _CACHE.put(digest, payload)
    if cache is not None:
        cache.absent_blobs.discard(digest)
        if inserted:  # else another worker stored these bytes first, maybe on another base
            cache.blob_links[digest] = Link(digest, enc.base_digest, enc.depth, enc.seq)
    return digest


@dataclass(frozen=True)
class _Row:
    digest: str
    base_digest: str | None
    codec: str
    size: int
    data: bytes


def _chain_statement(anchor):  # type: ignore[no-untyped-def]
    cols = (Blob.digest, Blob.base_digest, Blob.codec, Blob.size, Blob.data)
    chain = select(*cols, literal(0, Integer).label("n")).where(anchor).cte("chain", recursive=True)
    chain = chain.union_all(
        select(*cols, (chain.c.n + 1).label("n"))
        .join(chain, Blob.digest == chain.c.base_digest)
        .where(chain.c.n < bindparam("cap"))
    )
    c = chain.c
    return select(c.digest, c.base_digest, c.codec, c.size, c.data).order_by(c.n)


# Built once: constructing a recursive CTE costs more Python than running it on SQLite.
_CHAIN = _chain_statement(Blob.digest == bindparam("digest"))


def _chain(s: Session, digest: str) -> list[_Row]:
    """The blob and its bases down to the keyframe, in ONE query (a recursive CTE): a cold
    restore is one round trip whatever the depth. Capped, so a cycle cannot loop forever."""
    rows = s.execute(_CHAIN, {"digest": digest, "cap": POLICY.max_depth + 64}).all()
    return [_Row(r[0], r[1], r[2], int(r[3]), bytes(r[4])) for r in rows]


def _check_chain(digest: str, chain: list[_Row]) -> None:
    if not chain:
        raise BlobMissing(f"no blob {digest}")
    last = chain[-1]
    if last.base_digest is not None:
        if len(chain) > POLICY.max_depth + 64:
            raise BlobCorrupt(f"blob {digest}: its delta chain does not end (a cycle?)")
        raise BlobMissing(f"blob {last.digest} is a delta of {last.base_digest}, which is missing")


def get_blob(session: Session, digest: str, *, verify: bool = True) -> bytes:
    """The payload bytes, restored through its deltas and verified against their sha256.

    verify=False skips only the final check of the asked-for blob when it was cached; chain
    links restored on the way are always checked, since a wrong base silently poisons every
    delta built on it.
    """
    cached = _CACHE.get(digest)
    if cached is not None:
        # Still in this archive? (a removed or redacted blob must not be served from cache;
        # a storing transaction has seen the row already: storage.txcache)
        cache = txcache.of(session)
        if cache is not None and digest in cache.blob_links:
            return cached
        if not session.scalar(select(exists().where(Blob.digest == digest))):
            _CACHE.forget(digest)
            raise BlobMissing(f"no blob {digest}")
        return cached
    cache = txcache.of(session)
    if cache is not None and digest in cache.pending_blobs:
        cache.flush(session)  # queued by this transaction and no longer in memory: write it first
    return _restore(digest, _chain(session, digest), verify)


def _restore(digest: str, full: list[_Row], verify: bool) -> bytes:
    """Decode `digest` from its chain (itself first, down to the keyframe), filling the cache."""
    # Decode from the nearest link whose base is cached (a page's history read in order
    # finds its previous capture's chain warm), else from the keyframe.
    chain: list[_Row] = []
    base_payload: bytes | None = None
    for row in full:
        chain.append(row)
        if row.base_digest is not None:
            base_payload = _CACHE.get(row.base_digest)
            if base_payload is not None:
                break
    else:
        _check_chain(digest, full)
    for row in reversed(chain):
        payload = _decode(row.digest, row.codec, row.data, row.size, base_payload)
        if (verify or row.digest != digest) and sha256_hex(payload) != row.digest:
            raise BlobCorrupt(f"blob {row.digest} does not match its digest")
        _CACHE.put(row.digest, payload)
        base_payload = payload
    assert base_payload is not None
    return base_payload


# The chains of many blobs at once (rows of shared bases may repeat).
_CHAINS = _chain_statement(Blob.digest.in_(bindparam("digests", expanding=True)))


def warm(session: Session, digests: list[str]) -> None:
    """Restore these payloads into the cache with one query for all their chains (a storing
    transaction about to delta many pages' new payloads against their previous ones)."""
    wanted = [d for d in dict.fromkeys(digests) if _CACHE.get(d) is None]
    if not wanted:
        return
    rows = {
        r[0]: _Row(r[0], r[1], r[2], int(r[3]), bytes(r[4]))
        for r in session.execute(_CHAINS, {"digests": wanted, "cap": POLICY.max_depth + 64})
    }
    for digest in wanted:
        full, node = [], rows.get(digest)
        while node is not None and len(full) <= POLICY.max_depth + 64:
            full.append(node)
            node = rows.get(node.base_digest) if node.base_digest is not None else None
        try:
            _restore(digest, full, True)
        except BlobCorrupt:
            pass  # encode() meets it again and stores that page's payload whole


def page_latest_blob(session: Session, page_id: int) -> str | None:
    """The page's latest stored payload (by capture time): what its next one is a delta of.

    A storing transaction (storage.txcache) asks once per page and keeps the answer in step
    with the captures it adds (storage.archive._note_payload)."""
    cache = txcache.of(session)
    latest = cache.latest_blob.get(page_id, txcache.UNKNOWN) if cache is not None else txcache.UNKNOWN
    if latest is txcache.UNKNOWN:
        row = session.execute(
            select(Capture.fetched_at, Capture.id, Capture.blob_digest)
            .where(Capture.page_id == page_id, Capture.blob_digest.is_not(None))
            .order_by(Capture.fetched_at.desc(), Capture.id.desc())
            .limit(1)
        ).first()
        latest = (row[0], row[1], row[2]) if row is not None else None
        if cache is not None:
            cache.latest_blob[page_id] = latest
    return latest[2] if latest is not None else None


def site_sibling_blob(session: Session, page_id: int) -> str | None:
    """The latest 2xx payload of one of the site's most recently created other pages.

    Bounded work at any archive size: index lookups on page.site_id and (page_id, fetched_at).
    """
    site_id = session.scalar(select(Page.site_id).where(Page.id == page_id))
    siblings = (
        select(Page.id)
        .where(Page.site_id == site_id, Page.id != page_id)
        .order_by(Page.id.desc())
        .limit(8)
    )
    return session.scalar(
        select(Capture.blob_digest)
        .where(
            Capture.page_id.in_(siblings),
            Capture.blob_digest.is_not(None),
            Capture.status >= 200,
            Capture.status < 300,
        )
        .order_by(Capture.id.desc())
        .limit(1)
    )


def restore_uncached(session: Session, digest: str) -> bytes:
    """Restore through the whole chain from the database alone, every link verified, the
    cache neither read nor filled (fixity checks must see the stored bytes, not a memory)."""
    chain = _chain(session, digest)
    _check_chain(digest, chain)
    payload: bytes | None = None
    for row in reversed(chain):
        payload = _decode(row.digest, row.codec, row.data, row.size, payload)
        if sha256_hex(payload) != row.digest:
            raise BlobCorrupt(f"blob {row.digest} does not match its digest")
    assert payload is not None
    return payload


def delta_hints(session: Session, page_id: int, site_id: int | None = None) -> tuple[str | None, str | None]:
    """(base_digest, sibling_digest) for put_blob of a new payload of this page: the page's
    latest stored payload, else (its first payload) one of another page of the same site:
    within a storing transaction that stored one already, its latest (a batch of new pages
    then asks the database nothing); else the newest of the site's latest pages."""
    base = page_latest_blob(session, page_id)
    if base is not None or not POLICY.cross_page:
        return base, None
    cache = txcache.of(session)
    if cache is not None and site_id is not None and site_id in cache.site_payload:
        return None, cache.site_payload[site_id]
    return None, site_sibling_blob(session, page_id)


def iter_digests(session: Session) -> Iterator[str]:
    yield from session.scalars(select(Blob.digest).order_by(Blob.digest))
