"""Reading the times and revision references users type (CLI and HTTP API alike)."""

from __future__ import annotations

import re
from datetime import datetime, time, timezone

from storage.refs import RevisionRef, parse_ref

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_COMPACT = re.compile(r"^\d{14}$")  # Wayback style YYYYMMDDhhmmss


class BadTime(ValueError):
    pass


def parse_moment(text: str) -> datetime:
    """An ISO 8601 moment, in UTC. A date alone means the END of that day (UTC), so "as of
    2019-03-03" includes everything archived on 3 March. No offset given means UTC."""
    raw = text.strip()
    if _DATE_ONLY.match(raw):
        try:
            day = datetime.strptime(raw, "%Y-%m-%d").date()
        except ValueError:
            raise BadTime(f"not a real date: {text!r}") from None
        return datetime.combine(day, time.max, tzinfo=timezone.utc)
    if _COMPACT.match(raw):
        try:
            return datetime.strptime(raw, "%Y%m%d%H%M%S").replace(tzinfo=timezone.utc)
        except ValueError:
            raise BadTime(f"not a real time: {text!r}") from None
    try:
        dt = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise BadTime(
            f"cannot read {text!r} as a date or time; give ISO 8601, at least YYYY-MM-DD "
            "(e.g. 2019-03-03 or 2019-03-03T14:00:00Z)"
        ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


def parse_revision_ref(text: str) -> int | RevisionRef | datetime:
    """A revision ordinal (1, 2, 3 ...), a stable ref "<page_uid>:<ordinal>" (as exports and
    `history --json` print them), or a moment."""
    raw = text.strip()
    ref = parse_ref(raw)
    if ref is not None:
        return ref
    if raw.isdigit() and len(raw) < 8:
        n = int(raw)
        if n < 1:
            raise BadTime("revision ordinals start at 1")
        return n
    try:
        return parse_moment(raw)
    except BadTime as exc:
        raise BadTime(
            f"{exc}; or give a revision: its ordinal (1, 2, 3 ...) or its ref <page_uid>:<ordinal> "
            "(`pagetrail history URL --json` lists them)"
        ) from None


def utc_now() -> datetime:
    return datetime.now(timezone.utc)
