"""Re-encode an existing archive's blobs into the delta layout, resumably.

Blobs written before deltas existed (layout 0) are each a keyframe. `relayout` walks pages in
batches (by page id), and re-encodes each page's layout-0 blobs in capture order exactly as
`put_blob` would have stored them (a delta of the page's previous payload, a page's first one
a delta of a sibling page's), committing once per batch. Killed at any moment, a batch is
either all re-encoded or untouched; running it again continues with the pages that still
have layout-0 blobs, and once none are left it does nothing (idempotent).

A payload's digest never changes, so captures, exports and reparse are unaffected. A layout-0
blob that new captures already lean on (a crawl ran after the upgrade) stays a keyframe, so
their chains keep their depth. Run it while crawls are paused: a concurrent put_blob could
choose a base whose depth changes under it (`verify` would report the depth mismatch).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine, exists, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from storage import blobs, faults
from storage.blobs import LAYOUT_DELTA, encode, restore_uncached, site_sibling_blob
from storage.models import Blob, Capture, Page


@dataclass
class RelayoutReport:
    pages: int = 0
    batches: int = 0
    reencoded: int = 0  # layout-0 blobs now stored in the delta layout
    kept: int = 0  # layout-0 blobs kept as keyframes (others lean on them, or no delta paid)
    bytes_before: int = 0  # stored bytes of the blobs this run re-encoded, before ...
    bytes_after: int = 0  # ... and after
    remaining: int = 0  # layout-0 blobs left when this run stopped
    seconds: float = 0.0


def pending(session: Session) -> int:
    """Layout-0 blobs still to re-encode."""
    return int(session.scalar(select(func.count()).select_from(Blob).where(Blob.layout == 0)) or 0)


def _next_pages(s: Session, after: int, n: int) -> list[int]:
    return list(
        s.scalars(
            select(Capture.page_id)
            .join(Blob, Blob.digest == Capture.blob_digest)
            .where(Blob.layout == 0, Capture.page_id > after)
            .group_by(Capture.page_id)
            .order_by(Capture.page_id)
            .limit(n)
        )
    )


def _relayout_page(s: Session, page_id: int, site_last: dict[int, str], rep: RelayoutReport) -> None:
    rows = s.execute(
        select(Capture.blob_digest, Blob.layout, Blob.stored_size)
        .join(Blob, Blob.digest == Capture.blob_digest)
        .where(Capture.page_id == page_id)
        .order_by(Capture.fetched_at, Capture.id)
    ).all()
    site_id = s.scalar(select(Page.site_id).where(Page.id == page_id))
    assert site_id is not None
    prev: str | None = None
    seen: set[str] = set()
    for digest, layout, stored_size in rows:
        if digest in seen:
            prev = digest
            continue
        seen.add(digest)
        if layout != 0 or s.scalar(select(exists().where(Blob.base_digest == digest))):
            if layout == 0:  # others lean on it: it stays a keyframe, now of the new layout
                s.execute(update(Blob).where(Blob.digest == digest).values(layout=LAYOUT_DELTA))
                rep.kept += 1
            prev = digest
            continue
        payload = restore_uncached(s, digest)  # verified: never re-encode bytes that are wrong
        sibling = None
        if prev is None:
            sibling = site_last.get(site_id) or site_sibling_blob(s, page_id)
        enc = encode(s, payload, base_digest=prev, sibling_digest=sibling, exclude=frozenset({digest}))
        s.execute(
            update(Blob)
            .where(Blob.digest == digest)
            .values(
                codec=enc.codec,
                data=enc.data,
                stored_size=len(enc.data),
                base_digest=enc.base_digest,
                depth=enc.depth,
                seq=enc.seq,
                is_keyframe=enc.is_keyframe,
                layout=LAYOUT_DELTA,
            )
        )
        if enc.is_keyframe:
            rep.kept += 1
        else:
            rep.reencoded += 1
        rep.bytes_before += int(stored_size)
        rep.bytes_after += len(enc.data)
        prev = digest
    if prev is not None:
        site_last[site_id] = prev


def relayout(
    engine: Engine,
    *,
    batch_pages: int = 100,
    max_batches: int | None = None,
    on_batch: Callable[[RelayoutReport], None] | None = None,
) -> RelayoutReport:
    """Re-encode layout-0 blobs page by page, one transaction per batch of pages."""
    started = time.perf_counter()
    sessions = sessionmaker(engine, expire_on_commit=False)
    rep = RelayoutReport()
    after = 0
    site_last: dict[int, str] = {}
    while max_batches is None or rep.batches < max_batches:
        with sessions.begin() as s:
            pages = _next_pages(s, after, batch_pages)
            if not pages:
                break
            for page_id in pages:
                _relayout_page(s, page_id, site_last, rep)
            faults.checkpoint("relayout:before_commit")
        after = pages[-1]
        rep.pages += len(pages)
        rep.batches += 1
        faults.checkpoint("relayout:after_batch")
        if on_batch is not None:
            on_batch(rep)
    with sessions.begin() as s:
        if max_batches is None or rep.batches < max_batches:
            # Blobs no capture names have no page to chain in: they stay keyframes.
            named = select(Capture.id).where(Capture.blob_digest == Blob.digest)
            s.execute(
                update(Blob)
                .where(Blob.layout == 0, ~exists(named))
                .values(layout=LAYOUT_DELTA)
                .execution_options(synchronize_session=False)
            )
        rep.remaining = pending(s)
    rep.seconds = time.perf_counter() - started
    return rep


def main(argv: list[str] | None = None) -> int:
    """python -m storage.relayout --db URL [--batch N]: re-encode an archive into deltas."""
    import argparse

    from storage.db import open_engine

    ap = argparse.ArgumentParser(prog="python -m storage.relayout", description=main.__doc__)
    ap.add_argument("--db", required=True)
    ap.add_argument("--batch", type=int, default=100, help="pages per transaction")
    args = ap.parse_args(argv)
    engine = open_engine(args.db, must_exist=True)

    def progress(r: RelayoutReport) -> None:
        print(f"  {r.pages} pages, {r.reencoded} re-encoded, {r.kept} kept as keyframes", flush=True)

    rep = relayout(engine, batch_pages=args.batch, on_batch=progress)
    saved = rep.bytes_before - rep.bytes_after
    print(f"done: {rep.pages} pages in {rep.batches} batches, {rep.reencoded} blobs re-encoded, "
          f"{saved} bytes saved, {rep.remaining} left, {rep.seconds:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

