"""What changed between two revisions: a unified diff of metadata and body, then comments.

One function builds the data (`diff_data`); `render_diff` turns it into the readable text.
"""

from __future__ import annotations

import difflib
from typing import Any

from storage.queries import DiffSide, iso

# Metadata fields shown in a diff, in this order.
DIFF_FIELDS = (
    "title", "authors", "editors", "reviewers", "published", "modified", "last_reviewed",
    "publisher", "copyright", "description", "category",
)


def _field_text(value: Any) -> str:
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return "" if value is None else str(value)


def _lines(record: dict[str, Any]) -> list[str]:
    md = record.get("metadata", {})
    lines = [f"{name}: {_field_text(md.get(name))}" for name in DIFF_FIELDS]
    lines.append("")
    for p in record.get("body", {}).get("paragraphs", []):
        lines.append(p)
        lines.append("")
    return lines


def _side_json(side: DiffSide) -> dict[str, Any]:
    return {
        "revision": side.revision.ordinal,
        "ref": side.ref,
        "valid_from": iso(side.revision.first_seen),
        "at": iso(side.at),
        "content_hash": side.revision.content_hash,
    }


def diff_data(url: str, a: DiffSide, b: DiffSide) -> dict[str, Any]:
    md_a, md_b = a.record.get("metadata", {}), b.record.get("metadata", {})
    metadata = {
        name: {"from": md_a.get(name), "to": md_b.get(name)}
        for name in DIFF_FIELDS
        if md_a.get(name) != md_b.get(name)
    }
    label_a = f"revision {a.revision.ordinal} ({iso(a.revision.first_seen)})"
    label_b = f"revision {b.revision.ordinal} ({iso(b.revision.first_seen)})"
    unified = list(
        difflib.unified_diff(_lines(a.record), _lines(b.record), label_a, label_b, lineterm="", n=1)
    )
    keys_a = {c["key"]: c for c in a.comments}
    keys_b = {c["key"]: c for c in b.comments}
    return {
        "url": url,
        "from": _side_json(a),
        "to": _side_json(b),
        "metadata": metadata,
        "body": {
            "from": a.record.get("body", {}).get("paragraphs", []),
            "to": b.record.get("body", {}).get("paragraphs", []),
        },
        "unified_diff": unified,
        "comments_added": [c for k, c in keys_b.items() if k not in keys_a],
        "comments_removed": [c for k, c in keys_a.items() if k not in keys_b],
        "comments_edited": [
            {"key": k, "from": keys_a[k]["text"], "to": c["text"]}
            for k, c in keys_b.items()
            if k in keys_a and keys_a[k]["text"] != c["text"]
        ],
    }


def _comment_line(c: dict[str, Any]) -> str:
    label = f"Post {c['number']}" if c.get("number") is not None else c["key"]
    text = " ".join((c.get("text") or "").split())
    if len(text) > 100:
        text = text[:97] + "..."
    return f"  {label} by {c.get('author') or 'anonymous'}: {text}"


def render_diff(d: dict[str, Any]) -> str:
    out = [f"diff of {d['url']}"]
    if d["from"]["revision"] == d["to"]["revision"]:
        out.append(f"(both sides are revision {d['to']['revision']}: no content change)")
    out.extend(d["unified_diff"] or ["(metadata and body are identical)"])
    out.append("")
    out.append(f"comments added ({len(d['comments_added'])}):")
    out.extend(_comment_line(c) for c in d["comments_added"])
    out.append(f"comments removed ({len(d['comments_removed'])}):")
    out.extend(_comment_line(c) for c in d["comments_removed"])
    if d["comments_edited"]:
        out.append(f"comments edited ({len(d['comments_edited'])}):")
        out.extend(f"  {e['key']}" for e in d["comments_edited"])
    return "\n".join(out)
