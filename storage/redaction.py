"""Removing personal data from the archive, with an audit trail.

A redaction replaces a comment's author and every version of its text with REDACTED (the
comment row, its key, ids, number, reply links and dates stay, so threads stay intact and
counts do not change), deletes the search-index rows of those texts, and records who did it,
when, why and what was removed in the `redaction` table — all in ONE transaction.

With raw redaction the captures the personal data was found in lose their payload too: the
blob is removed (its delta dependants re-based first, storage.integrity), the capture keeps
its row with `redacted` set and the digest it had in `redacted_digest`; the records derived
from it are kept only in redacted form. `reparse` and raw exports skip redacted captures.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Redaction
from storage.queries import iso

# What replaces a redacted author or text: fixed, so a reader sees something was removed.
REDACTED = "[redacted]"


def _entry(r: Redaction) -> dict[str, Any]:
    return {
        "id": r.id,
        "at": iso(r.at),
        "who": r.who,
        "reason": r.reason,
        "target": {"kind": r.target_kind, "value": r.target_value, "url": r.scope_url},
        "removed": r.removed,
        "raw_redacted": bool(r.raw_redacted),
    }


def list_redactions(session: Session) -> list[dict[str, Any]]:
    """Every recorded redaction, oldest first: id, at (ISO 8601 UTC), who, reason,
    target {kind, value, url}, removed (counts and ids), raw_redacted."""
    rows = session.scalars(select(Redaction).order_by(Redaction.at, Redaction.id)).all()
    return [_entry(r) for r in rows]
