"""Geometry of a page's timeline plot (an inline SVG drawn by templates/_timeline.html).

Three lanes over one time axis: revisions as bands (each a link to the page as of its start),
captures as ticks (each a link to the page as of that fetch), and the number of visible comments
as a step line. Pure data out; the template escapes every label.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from pagetrail.timeparse import parse_moment

WIDTH = 800
LEFT, RIGHT = 8, 8
REV_Y, REV_H = 8, 34
CAP_Y, CAP_H = 50, 16
COM_Y, COM_H = 76, 56
AXIS_Y = 150
HEIGHT = 172
MAX_TICKS = 2000  # a plot, not a table: the captures table lists them all


@dataclass
class Band:
    x: float
    w: float
    label: str
    title: str
    at: str  # ISO moment the link opens the as-of view at
    revert: bool
    index: int


@dataclass
class Tick:
    x: float
    title: str
    at: str
    kind: str  # css class: ok | error | notmod | gone


@dataclass
class Plot:
    width: int = WIDTH
    height: int = HEIGHT
    bands: list[Band] = field(default_factory=list)
    ticks: list[Tick] = field(default_factory=list)
    comment_path: str = ""
    comment_max: int = 0
    axis: list[tuple[float, str]] = field(default_factory=list)
    start: str = ""
    end: str = ""
    lanes: dict[str, int] = field(default_factory=lambda: {
        "rev_y": REV_Y, "rev_h": REV_H, "cap_y": CAP_Y, "cap_h": CAP_H,
        "com_y": COM_Y, "com_h": COM_H, "axis_y": AXIS_Y,
    })


def _t(iso: str) -> datetime:
    return parse_moment(iso)


def _fmt(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def build(history: dict[str, Any], captures: list[dict[str, Any]], counts: list[dict[str, Any]]) -> Plot | None:
    times = [_t(c["fetched_at"]) for c in captures if c["fetched_at"]]
    times += [_t(r["first_seen"]) for r in history["revisions"]]
    if not times:
        return None
    t0, t1 = min(times), max(times)
    if t1 - t0 < timedelta(hours=1):  # a single moment still gets a visible span
        t0, t1 = t0 - timedelta(hours=12), t1 + timedelta(hours=12)
    span = (t1 - t0).total_seconds()
    usable = WIDTH - LEFT - RIGHT

    def x(dt: datetime) -> float:
        return round(LEFT + usable * (dt - t0).total_seconds() / span, 2)

    plot = Plot(start=_fmt(t0), end=_fmt(t1))
    revs = history["revisions"]
    for i, r in enumerate(revs):
        start = _t(r["first_seen"])
        end = _t(r["valid_to"]) if r["valid_to"] else t1
        x0, x1 = x(start), x(end)
        title = (
            f"Revision {r['revision']}: valid from {_fmt(start)}"
            + (f" to {_fmt(_t(r['valid_to']))}" if r["valid_to"] else " (current)")
            + (f"; same content as revision {r['same_as']}" if r["same_as"] else "")
            + (f" — {r['title']}" if r["title"] else "")
        )
        plot.bands.append(
            Band(x0, max(x1 - x0, 3.0), f"r{r['revision']}", title, r["first_seen"], bool(r["same_as"]), i)
        )
    for c in captures[-MAX_TICKS:]:
        if not c["fetched_at"]:
            continue
        if c["error_kind"] or (c["status"] and c["status"] >= 500):
            kind = "error"
        elif c["status"] in (404, 410):
            kind = "gone"
        elif c["not_modified"]:
            kind = "notmod"
        else:
            kind = "ok"
        what = c["error_kind"] or (f"HTTP {c['status']}" if c["status"] else "no response")
        plot.ticks.append(Tick(x(_t(c["fetched_at"])), f"Capture {_fmt(_t(c['fetched_at']))}: {what}, {c['outcome']}",
                               c["fetched_at"], kind))
    if counts:
        top = max(1, max(p["visible"] for p in counts))
        plot.comment_max = top
        base = COM_Y + COM_H

        def y(v: int) -> float:
            return round(base - COM_H * v / top, 2)

        d = [f"M{LEFT},{base}"]
        last_y = base
        for p in counts:
            px = x(_t(p["at"]))
            d.append(f"H{px}")
            last_y = y(p["visible"])
            d.append(f"V{last_y}")
        d.append(f"H{WIDTH - RIGHT}")
        plot.comment_path = " ".join(d)
    # Axis: up to 5 evenly spaced labels.
    n = 4
    for k in range(n + 1):
        dt = t0 + (t1 - t0) * k / n
        label = dt.strftime("%Y-%m-%d") if span > 3 * 86400 else dt.strftime("%m-%d %H:%M")
        plot.axis.append((x(dt), label))
    return plot
