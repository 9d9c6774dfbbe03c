"""Side-by-side, word-level diffs of two revisions' paragraphs (pure; no HTML here).

Paragraphs are aligned first (difflib on whole paragraphs); paragraphs that were replaced are
paired one to one and diffed word by word. The result is plain data: rows of two sides, each a
list of (kind, text) segments with kind "equal" | "del" | "ins". Templates escape the text.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

# Words, runs of whitespace, and single punctuation marks: fine enough to highlight a changed
# word or comma, coarse enough that a rewritten sentence reads as a rewrite.
_TOKEN = re.compile(r"\s+|\w+|[^\w\s]", re.UNICODE)

Segment = tuple[str, str]


@dataclass
class Row:
    """One line of the side-by-side view. A side is None when the paragraph does not exist there."""

    left: list[Segment] | None
    right: list[Segment] | None
    kind: str  # "equal" | "changed" | "deleted" | "inserted"
    left_no: int | None = None  # 1-based paragraph numbers
    right_no: int | None = None


@dataclass
class SideBySide:
    rows: list[Row] = field(default_factory=list)

    @property
    def changed(self) -> int:
        return sum(1 for r in self.rows if r.kind != "equal")


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def _merge(segments: list[Segment]) -> list[Segment]:
    out: list[Segment] = []
    for kind, text in segments:
        if not text:
            continue
        if out and out[-1][0] == kind:
            out[-1] = (kind, out[-1][1] + text)
        else:
            out.append((kind, text))
    return out


def word_diff(a: str, b: str) -> tuple[list[Segment], list[Segment]]:
    """Left and right segments of two strings, deleted words marked on the left, inserted on the right."""
    ta, tb = tokens(a), tokens(b)
    sm = difflib.SequenceMatcher(None, ta, tb, autojunk=False)
    left: list[Segment] = []
    right: list[Segment] = []
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        if op == "equal":
            left.append(("equal", "".join(ta[i1:i2])))
            right.append(("equal", "".join(tb[j1:j2])))
            continue
        if op in ("delete", "replace"):
            left.append(("del", "".join(ta[i1:i2])))
        if op in ("insert", "replace"):
            right.append(("ins", "".join(tb[j1:j2])))
    return _merge(left), _merge(right)


def side_by_side(a: list[str], b: list[str]) -> SideBySide:
    out = SideBySide()
    sm = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        if op == "equal":
            for k in range(i2 - i1):
                seg: list[Segment] = [("equal", a[i1 + k])]
                out.rows.append(Row(seg, list(seg), "equal", i1 + k + 1, j1 + k + 1))
            continue
        # Pair replaced paragraphs in order; the surplus on either side is wholly deleted/inserted.
        n = (i2 - i1) if op != "insert" else 0
        m = (j2 - j1) if op != "delete" else 0
        for k in range(max(n, m)):
            la = a[i1 + k] if k < n else None
            rb = b[j1 + k] if k < m else None
            if la is not None and rb is not None:
                left, right = word_diff(la, rb)
                out.rows.append(Row(left, right, "changed", i1 + k + 1, j1 + k + 1))
            elif la is not None:
                out.rows.append(Row([("del", la)], None, "deleted", i1 + k + 1, None))
            elif rb is not None:
                out.rows.append(Row(None, [("ins", rb)], "inserted", None, j1 + k + 1))
    return out


def as_json(sbs: SideBySide) -> list[dict[str, object]]:
    """The API's form of a side-by-side diff."""
    return [
        {
            "kind": r.kind,
            "from_paragraph": r.left_no,
            "to_paragraph": r.right_no,
            "from": [list(s) for s in r.left] if r.left is not None else None,
            "to": [list(s) for s in r.right] if r.right is not None else None,
        }
        for r in sbs.rows
    ]
