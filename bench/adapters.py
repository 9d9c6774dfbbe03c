"""pagetrail's generic extractor as an extract_eval.py extractor: html str -> {body, comments}."""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import parsers  # noqa: E402


def pagetrail_generic(html: str) -> dict[str, str]:
    page = parsers.parse(html, "http://bench.invalid/page", profile="generic")
    return {"body": page.body.text, "comments": "\n\n".join(c.text for c in page.comments)}
