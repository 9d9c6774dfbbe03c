"""parse(): choose a profile, run it, fall back to generic extraction. (placeholder until the profile engine lands)"""
from __future__ import annotations


def parse(body, url, *, headers=None, fetched_at=None, profile=None):
    raise NotImplementedError("parsers.parse is being written")
