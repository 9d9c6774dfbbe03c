"""Any bytes in, a record out: hypothesis mutates real fixture pages (cuts, deletions, stray
tags, duplicated spans, wrong charset labels, binary noise) and parse() must never raise, must
return a record valid against the shipped JSON Schema, and must stay deterministic."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import jsonschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import parsers

FIXTURES = Path(__file__).parent / "fixtures"
PAGES = sorted([*FIXTURES.glob("sample/*.html"), *FIXTURES.glob("wordpress/*.html"),
                *FIXTURES.glob("comment_shapes/*.html")])
SCHEMA = json.loads((Path(parsers.__file__).parent / "schema" / "parsedpage.schema.json").read_text())
FETCHED = datetime(2020, 1, 1, tzinfo=timezone.utc)
TAGS = [b"<div>", b"</div>", b"<p>", b"</p>", b"<script>", b"</table>", b"<!--", b"-->", b"<![CDATA[", b"<",
        b">", b"&", b"&#x0;", b"\x00", b"\xff\xfe", b"<meta charset='shift_jis'>", b"<li class='comment'>",
        b"<div itemscope itemtype='https://schema.org/Comment'>", b"</html>", b"<body>"]


@st.composite
def mutated(draw: st.DrawFn) -> tuple[bytes, str | None]:
    data = bytearray(draw(st.sampled_from(PAGES)).read_bytes())
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["cut", "delete", "insert", "duplicate", "noise"]))
        at = draw(st.integers(0, len(data)))
        if op == "cut":
            del data[at:]
        elif op == "delete":
            del data[at:at + draw(st.integers(1, 2000))]
        elif op == "insert":
            data[at:at] = draw(st.sampled_from(TAGS)) * draw(st.integers(1, 50))
        elif op == "duplicate":
            data[at:at] = data[at:at + draw(st.integers(1, 5000))] * draw(st.integers(1, 3))
        else:
            data[at:at] = draw(st.binary(min_size=1, max_size=200))
    charset = draw(st.sampled_from([None, "utf-8", "iso-8859-1", "windows-1252", "shift_jis", "utf-16", "bogus"]))
    return bytes(data), charset


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutated())
def test_parse_never_raises_and_stays_valid(case: tuple[bytes, str | None]) -> None:
    body, charset = case
    headers = {"content-type": f"text/html; charset={charset}"} if charset else {}
    for profile in (None, "generic"):
        page = parsers.parse(body, "http://www.wisegeek.com/x.htm", headers=headers, fetched_at=FETCHED,
                             profile=profile)
        record = page.to_dict()
        jsonschema.validate(record, SCHEMA)
        again = parsers.parse(body, "http://www.wisegeek.com/x.htm", headers=headers, fetched_at=FETCHED,
                              profile=profile)
        assert again.to_dict() == record  # the same inputs give the same records
        keys = [c["key"] for c in record["comments"]]
        assert len(keys) == len(set(keys))
