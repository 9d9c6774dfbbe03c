"""Fixity and referential integrity of the blob store, and re-basing before a blob goes away.

`verify` re-hashes stored payloads — through their deltas, from the database alone, never
from the cache — against their sha256 digests, and checks that every capture's blob exists
(with the size the capture recorded), that every delta's base exists, that chains end at a
keyframe within the depth bound, and that each row's bookkeeping (depth, keyframe flag,
codec) agrees with its chain. Each problem names the captures whose payload needs that blob (the
captures naming it or any delta below it): what a damaged blob costs. `site=HOST` restricts the
check to the blobs that site's captures need (their chains included).

`rebase_dependants` re-encodes the deltas of a blob against another base (or as keyframes),
in the caller's transaction, so the blob can then be deleted or redacted while every other
capture still restores byte-identically. `remove_blob` does both.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import String, delete, exists, func, literal, select, update
from sqlalchemy.orm import Session, aliased

from storage import blobs
from storage.blobs import (
    CODEC_DELTA,
    LAYOUT_DELTA,
    BlobCorrupt,
    _decode,
    compress_delta,
    compress_keyframe,
    restore_uncached,
    sha256_hex,
)
from storage.models import Blob, Capture, Page, Site

# Problem kinds, a fixed list so scripts can act on them.
PROBLEM_KINDS = (
    "corrupt",  # does not decompress, or restores to bytes with another sha256
    "missing_blob",  # a capture names a blob that is not stored
    "missing_base",  # a delta's base is not stored
    "unreachable",  # a chain that never reaches a keyframe (a cycle)
    "too_deep",  # a chain longer than the depth bound
    "depth_mismatch",  # the stored depth is not the chain's length
    "bookkeeping",  # keyframe flag, codec and base disagree
    "size_mismatch",  # a capture's payload size differs from its blob's
)


@dataclass
class Problem:
    kind: str
    digest: str | None
    detail: str
    capture_id: int | None = None
    # Captures whose payload needs this blob (capped at CAPTURES_LISTED); captures_affected counts all.
    captures: list[int] = field(default_factory=list)
    captures_affected: int = 0


# Per problem, at most this many capture ids are listed (the count is always complete).
CAPTURES_LISTED = 100


@dataclass
class VerifyReport:
    blobs_total: int = 0
    blobs_checked: int = 0  # re-hashed
    bytes_checked: int = 0  # payload bytes re-hashed
    captures_checked: int = 0
    keyframes: int = 0
    max_depth_seen: int = 0
    seconds: float = 0.0
    sampled: bool = False
    site: str | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, kind: str, digest: str | None, detail: str, capture_id: int | None = None) -> None:
        self.problems.append(Problem(kind, digest, detail, capture_id))

    def lines(self) -> list[str]:
        """The human report: one summary line, then each problem with the captures it costs."""
        scope = f" of site {self.site}" if self.site else ""
        how = "sampled and re-hashed" if self.sampled else "re-hashed"
        out = [
            f"{self.blobs_checked}/{self.blobs_total} blobs{scope} {how} ({self.bytes_checked} bytes), "
            f"{self.captures_checked} captures checked, {self.keyframes} keyframes, "
            f"max depth {self.max_depth_seen}, {self.seconds:.2f} s"
        ]
        if self.ok:
            out.append("ok: every payload checked restores to its sha256 digest and every reference holds")
            return out
        out.append(f"{len(self.problems)} PROBLEM(S):")
        for p in self.problems:
            out.append(f"  {p.kind}: {p.digest or '-'}")
            out.append(f"      {p.detail}")
            if p.captures_affected:
                more = f" (+{p.captures_affected - len(p.captures)} more)" if p.captures_affected > len(p.captures) else ""
                out.append(f"      captures needing it ({p.captures_affected}): "
                           f"{', '.join(map(str, p.captures))}{more}")
        return out

    def to_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "blobs_total": self.blobs_total,
            "blobs_checked": self.blobs_checked,
            "bytes_checked": self.bytes_checked,
            "captures_checked": self.captures_checked,
            "keyframes": self.keyframes,
            "max_depth_seen": self.max_depth_seen,
            "sampled": self.sampled,
            "site": self.site,
            "seconds": round(self.seconds, 3),
            "problems": [
                {"kind": p.kind, "digest": p.digest, "capture": p.capture_id, "detail": p.detail,
                 "captures": p.captures, "captures_affected": p.captures_affected}
                for p in self.problems
            ],
        }


def verify(
    session: Session, *, sample: int | None = None, max_problems: int = 1000, site: str | None = None
) -> VerifyReport:
    """Check the blob store. sample=None re-hashes every blob (each decoded exactly once, walking
    the delta graph down from its keyframes); sample=N re-hashes N random blobs through their
    whole chains. The referential checks always cover every row (they are plain SQL).
    site=HOST (host or host:port): only the captures of that site's pages and the blobs they
    need, bases included."""
    started = time.perf_counter()
    rep = VerifyReport(sampled=sample is not None, site=site)
    scope = _Scope(session, site)
    rep.blobs_total = int(session.scalar(scope.blobs(select(func.count()).select_from(Blob))) or 0)
    rep.keyframes = int(
        session.scalar(
            scope.blobs(select(func.count()).select_from(Blob).where(Blob.base_digest.is_(None)))
        ) or 0
    )
    _check_references(session, rep, max_problems, scope)
    if sample is None:
        _rehash_all(session, rep, max_problems, scope)
    else:
        _rehash_sample(session, rep, sample, scope)
    for p in rep.problems:
        if p.digest is not None:
            p.captures, p.captures_affected = captures_needing(session, p.digest)
    rep.seconds = time.perf_counter() - started
    return rep


def site_page_ids(site: str):  # type: ignore[no-untyped-def]
    """The pages of a site, as a subquery: HOST matches the host on any port, HOST:PORT exactly."""
    host = site.lower()
    return select(Page.id).join(Site, Site.id == Page.site_id).where(
        (Site.host == host) | Site.host.like(host + ":%")
    )


class _Scope:
    """What a verify covers: everything, or one site's captures and the blobs their payloads need
    (the blobs they name and every base down to the keyframes, found by a recursive query)."""

    def __init__(self, s: Session, site: str | None) -> None:
        self.site = site
        self.digests: set[str] | None = None
        self._cte = None
        if site is None:
            return
        named = select(Capture.blob_digest.label("digest")).where(
            Capture.blob_digest.is_not(None), Capture.page_id.in_(site_page_ids(site))
        )
        needed = named.cte("needed", recursive=True)
        # UNION, not UNION ALL: a damaged archive may hold a cycle, and this must end anyway.
        needed = needed.union(
            select(Blob.base_digest).join(needed, Blob.digest == needed.c.digest).where(
                Blob.base_digest.is_not(None)
            )
        )
        self._cte = needed
        self.digests = set(s.scalars(select(needed.c.digest)))

    def blobs(self, stmt):  # type: ignore[no-untyped-def]
        return stmt if self._cte is None else stmt.where(Blob.digest.in_(select(self._cte.c.digest)))

    def captures(self, stmt):  # type: ignore[no-untyped-def]
        return stmt if self.site is None else stmt.where(Capture.page_id.in_(site_page_ids(self.site)))

    def has(self, digest: str) -> bool:
        return self.digests is None or digest in self.digests


def captures_needing(s: Session, digest: str, listed: int = CAPTURES_LISTED) -> tuple[list[int], int]:
    """Captures whose payload cannot be restored without `digest`: those naming it or any blob
    that is a delta of it, directly or through others. (ids, up to `listed`; the full count)"""
    below = select(literal(digest, String).label("digest")).cte("below", recursive=True)
    below = below.union(select(Blob.digest).join(below, Blob.base_digest == below.c.digest))
    needing = select(Capture.id).where(Capture.blob_digest.in_(select(below.c.digest)))
    count = int(s.scalar(select(func.count()).select_from(needing.subquery())) or 0)
    ids = list(s.scalars(needing.order_by(Capture.id).limit(listed)))
    return ids, count


def _check_references(s: Session, rep: VerifyReport, limit: int, scope: _Scope) -> None:
    rep.captures_checked = int(
        s.scalar(
            scope.captures(select(func.count()).select_from(Capture).where(Capture.blob_digest.is_not(None)))
        ) or 0
    )
    # Captures -> blobs (foreign keys forbid this, unless they were off: SQLite without the
    # pragma, a restore from a partial dump).
    for cap_id, digest in s.execute(
        scope.captures(
            select(Capture.id, Capture.blob_digest)
            .outerjoin(Blob, Blob.digest == Capture.blob_digest)
            .where(Capture.blob_digest.is_not(None), Blob.digest.is_(None))
        ).limit(limit)
    ):
        rep.add("missing_blob", digest, f"capture {cap_id} names a blob that is not stored", cap_id)
    # A 304 records no payload size of its own; any other capture's size is its blob's.
    for cap_id, digest, psize, bsize in s.execute(
        scope.captures(
            select(Capture.id, Capture.blob_digest, Capture.payload_size, Blob.size)
            .join(Blob, Blob.digest == Capture.blob_digest)
            .where(Capture.payload_size.is_not(None), Capture.payload_size != Blob.size)
        ).limit(limit)
    ):
        rep.add("size_mismatch", digest, f"capture {cap_id} received {psize} bytes, blob has {bsize}", cap_id)
    base = aliased(Blob)
    for digest, base_digest in s.execute(
        scope.blobs(
            select(Blob.digest, Blob.base_digest)
            .outerjoin(base, base.digest == Blob.base_digest)
            .where(Blob.base_digest.is_not(None), base.digest.is_(None))
        ).limit(limit)
    ):
        rep.add("missing_base", digest, f"a delta of {base_digest}, which is not stored")
    for digest, base_digest, codec, is_kf in s.execute(
        scope.blobs(
            select(Blob.digest, Blob.base_digest, Blob.codec, Blob.is_keyframe).where(
                (Blob.is_keyframe != Blob.base_digest.is_(None))
                | ((Blob.codec == CODEC_DELTA) != Blob.base_digest.is_not(None))
            )
        ).limit(limit)
    ):
        rep.add("bookkeeping", digest, f"codec {codec}, keyframe flag {is_kf}, base {base_digest}")


def _rehash_all(s: Session, rep: VerifyReport, limit: int, scope: _Scope) -> None:
    """Depth-first from each keyframe: a delta is decoded with its base's payload in hand, so
    every blob is decompressed once and memory holds one payload per level. In a site's scope
    the walk descends only into blobs that site needs."""
    bound = blobs.POLICY.max_depth
    visited = 0
    for kf in _keyframe_digests(s, scope=scope):
        stack: list[tuple[str, bytes | None, int]] = [(kf, None, 0)]
        while stack:
            digest, base_payload, depth = stack.pop()
            visited += 1
            row = s.execute(
                select(Blob.codec, Blob.size, Blob.data, Blob.depth).where(Blob.digest == digest)
            ).first()
            if row is None:
                continue
            codec, size, data, stored_depth = row
            rep.max_depth_seen = max(rep.max_depth_seen, depth)
            if stored_depth != depth:
                rep.add("depth_mismatch", digest, f"stored depth {stored_depth}, chain length {depth}")
            if depth > bound:
                rep.add("too_deep", digest, f"restored through {depth} deltas; the bound is {bound}")
            try:
                payload = _decode(digest, codec, bytes(data), int(size), base_payload)
            except BlobCorrupt as exc:
                rep.add("corrupt", digest, str(exc))
                payload = None
            if payload is not None:
                if sha256_hex(payload) != digest:
                    rep.add("corrupt", digest, "restores to bytes that do not match the digest")
                    payload = None
                else:
                    rep.blobs_checked += 1
                    rep.bytes_checked += len(payload)
            children = [c for c in s.scalars(select(Blob.digest).where(Blob.base_digest == digest)) if scope.has(c)]
            for child in children:
                if payload is None:  # nothing below it can be restored either
                    for lost in filter(scope.has, _subtree(s, child)):
                        rep.add("corrupt", lost, f"a delta below {digest}, which does not restore")
                        visited += 1
                    continue
                stack.append((child, payload, depth + 1))
            if len(rep.problems) >= limit:
                return
    if visited < rep.blobs_total:
        # Some blobs hang off no keyframe: below a missing base (reported above) or in a cycle.
        for digest in s.scalars(scope.blobs(select(Blob.digest).where(Blob.base_digest.is_not(None)))):
            try:
                restore_uncached(s, digest)
            except BlobCorrupt as exc:
                if "missing" in str(exc) or "does not end" in str(exc):
                    rep.add("unreachable", digest, str(exc))
            if len(rep.problems) >= limit:
                return


def _subtree(s: Session, digest: str) -> list[str]:
    """`digest` and every blob that is a delta of it, directly or through others."""
    out, todo = [], [digest]
    while todo:
        d = todo.pop()
        out.append(d)
        todo.extend(s.scalars(select(Blob.digest).where(Blob.base_digest == d)))
    return out


def _keyframe_digests(s: Session, batch: int = 1000, *, scope: _Scope | None = None) -> Iterator[str]:
    """Keyframes by keyset pagination, so a huge archive is never held in one result."""
    after = ""
    while True:
        stmt = select(Blob.digest).where(Blob.base_digest.is_(None), Blob.digest > after)
        page = s.scalars(
            (scope.blobs(stmt) if scope is not None else stmt).order_by(Blob.digest).limit(batch)
        ).all()
        if not page:
            return
        yield from page
        after = page[-1]


def _rehash_sample(s: Session, rep: VerifyReport, n: int, scope: _Scope) -> None:
    bound = blobs.POLICY.max_depth
    for digest, depth in s.execute(scope.blobs(select(Blob.digest, Blob.depth)).order_by(func.random()).limit(n)):
        try:
            payload = restore_uncached(s, digest)
        except BlobCorrupt as exc:
            rep.add("missing_base" if "missing" in str(exc) else "corrupt", digest, str(exc))
            continue
        rep.blobs_checked += 1
        rep.bytes_checked += len(payload)
        rep.max_depth_seen = max(rep.max_depth_seen, depth)
        if depth > bound:
            rep.add("too_deep", digest, f"stored depth {depth}; the bound is {bound}")


# ---- re-basing -------------------------------------------------------------------------------
def _shift_subtree(s: Session, digest: str, shift: int) -> None:
    """Every blob below `digest` is now `shift` deltas nearer (or further from) its keyframe."""
    if shift == 0:
        return
    sub = select(Blob.digest).where(Blob.base_digest == digest).cte("sub", recursive=True)
    sub = sub.union_all(select(Blob.digest).join(sub, Blob.base_digest == sub.c.digest))
    s.execute(
        update(Blob)
        .where(Blob.digest.in_(select(sub.c.digest)))
        .values(depth=Blob.depth + shift)
        .execution_options(synchronize_session=False)
    )


def _store_encoding(
    s: Session, digest: str, payload: bytes, base_digest: str | None, base_payload: bytes | None,
    base_depth: int, old_depth: int,
) -> None:
    """Re-encode one blob's row: a delta of `base_payload`, or a keyframe when that does not
    pay (or there is no base). Its payload — and so its digest — is unchanged."""
    codec, data, depth = None, b"", 0
    if base_digest is not None and base_payload is not None and len(payload) >= 64:
        delta = compress_delta(payload, base_payload)
        kf_codec, kf_data = compress_keyframe(payload, level=3)
        if len(delta) * blobs.POLICY.min_gain <= len(kf_data):
            codec, data, depth = CODEC_DELTA, delta, base_depth + 1
    if codec is None:
        base_digest = None
        codec, data = compress_keyframe(payload)
    s.execute(
        update(Blob)
        .where(Blob.digest == digest)
        .values(
            codec=codec,
            data=data,
            stored_size=len(data),
            base_digest=base_digest,
            depth=depth,
            is_keyframe=base_digest is None,
            layout=LAYOUT_DELTA,
        )
        .execution_options(synchronize_session=False)
    )
    _shift_subtree(s, digest, depth - old_depth)


def rebase_dependants(session: Session, digest: str) -> int:
    """Re-encode every delta of `digest` so that none needs it; returns how many.

    Each dependant becomes a delta of `digest`'s own base (so it and everything below it are
    one delta nearer their keyframe: the depth bound still holds); when `digest` is a
    keyframe, the first dependant becomes a keyframe and the others deltas of it. Runs in the caller's transaction: with the deletion or redaction
    that follows, all or nothing.
    """
    s = session
    deps = s.execute(
        select(Blob.digest, Blob.codec, Blob.size, Blob.data, Blob.depth)
        .where(Blob.base_digest == digest)
        .order_by(Blob.seq, Blob.created_at, Blob.digest)
    ).all()
    if not deps:
        return 0
    # The dependants' payloads need this blob's payload, restored and verified from storage.
    target = restore_uncached(s, digest)
    own = s.execute(select(Blob.base_digest, Blob.depth).where(Blob.digest == digest)).first()
    assert own is not None
    new_base, own_depth = own
    base_payload = restore_uncached(s, new_base) if new_base is not None else None
    base_depth = own_depth - 1
    for dep_digest, codec, size, data, old_depth in deps:
        payload = _decode(dep_digest, codec, bytes(data), int(size), target)
        if sha256_hex(payload) != dep_digest:
            raise BlobCorrupt(f"blob {dep_digest} does not match its digest; not re-basing it")
        _store_encoding(s, dep_digest, payload, new_base, base_payload, base_depth, old_depth)
        if new_base is None:
            # The first dependant is now a keyframe (or whatever it became): the rest lean on it.
            row = s.execute(select(Blob.depth).where(Blob.digest == dep_digest)).first()
            assert row is not None
            new_base, base_payload, base_depth = dep_digest, payload, row[0]
    return len(deps)


class BlobInUse(Exception):
    """A blob that captures still name cannot be removed."""


def remove_blob(session: Session, digest: str) -> int:
    """Delete a blob no capture names any more (after a deletion or redaction), re-basing its
    dependants first. Returns how many were re-based. In the caller's transaction."""
    users = session.scalar(select(func.count()).select_from(Capture).where(Capture.blob_digest == digest))
    if users:
        raise BlobInUse(f"blob {digest} is still named by {users} capture(s); detach them first")
    if not session.scalar(select(exists().where(Blob.digest == digest))):
        raise blobs.BlobMissing(f"no blob {digest}")
    n = rebase_dependants(session, digest)
    session.execute(delete(Blob).where(Blob.digest == digest).execution_options(synchronize_session=False))
    blobs.forget_cached(digest)
    return n


def main(argv: list[str] | None = None) -> int:
    """python -m storage.integrity --db URL [--sample N] [--site HOST] [--json] (the verb is
    `pagetrail verify`, which adds settings, --config and exit code 3 on a problem)."""
    import argparse
    import json

    from storage.db import open_engine

    ap = argparse.ArgumentParser(prog="python -m storage.integrity", description=verify.__doc__)
    ap.add_argument("--db", required=True)
    ap.add_argument("--sample", type=int, default=None)
    ap.add_argument("--site", default=None)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    engine = open_engine(args.db, must_exist=True)
    with Session(engine) as s:
        rep = verify(s, sample=args.sample, site=args.site)
    print(json.dumps(rep.to_dict(), indent=2) if args.json else "\n".join(rep.lines()))
    return 0 if rep.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
