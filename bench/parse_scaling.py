"""How parse time grows with input size: pagetrail's parse beside trafilatura, same inputs, one run.

    .venv/bin/pip install --target bench/.deps -r bench/requirements-extraction.txt   # once
    .venv/bin/python bench/parse_scaling.py [--repeat 3]

Inputs are built from a fixture page in the reference markup (tests/fixtures/sample/
liver-reference.html): its article and comment thread repeated until the page is 50 KB ... 10 MB,
plus pages nested 1,000 and 5,000 elements deep. Each cell is the median of --repeat runs of one
parse (CPU seconds of this process); the last column is trafilatura's time over pagetrail's.
Parse time should grow about linearly with size: a ratio that climbs with size means some step
is worse than linear.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "bench" / ".deps"))

import parsers  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "sample" / "liver-reference.html"


def sized(target: int) -> str:
    html = FIXTURE.read_text(encoding="utf-8", errors="replace")
    head, sep, rest = html.partition("<body")
    body_start = rest.index(">") + 1
    body = rest[body_start:].rsplit("</body>", 1)[0]
    copies = max(1, target // max(len(body), 1))
    return head + sep + rest[:body_start] + body * copies + "</body></html>"


def nested(depth: int) -> str:
    return ("<html><body>" + "<div>" * depth + "<p>Deep text, with a comma, long enough to be a paragraph.</p>"
            + "</div>" * depth + "</body></html>")


def timed(fn, text: str, repeat: int) -> float:  # type: ignore[no-untyped-def]
    runs = []
    for _ in range(repeat):
        t = time.process_time()
        fn(text)
        runs.append(time.process_time() - t)
    return statistics.median(runs)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    try:
        import trafilatura
    except ImportError:
        print("trafilatura is missing: .venv/bin/pip install --target bench/.deps -r bench/requirements-extraction.txt")
        return 1

    def ours(text: str) -> None:
        parsers.parse(text, "http://www.wisegeek.com/x.htm", profile="generic")

    def theirs(text: str) -> None:
        trafilatura.extract(text, include_comments=True)

    cases = [(f"{n // 1000} KB" if n < 1_000_000 else f"{n // 1_000_000} MB", sized(n))
             for n in (50_000, 200_000, 1_000_000, 4_000_000, 10_000_000)]
    cases += [(f"nested {d}", nested(d)) for d in (1000, 5000)]
    print(f"{'input':<12} {'bytes':>10} {'pagetrail s':>12} {'MB/s':>7} {'trafilatura s':>14} {'MB/s':>7} {'ratio':>6}")
    for name, text in cases:
        a, b = timed(ours, text, args.repeat), timed(theirs, text, args.repeat)
        mb = len(text.encode()) / 1e6
        print(f"{name:<12} {len(text.encode()):>10} {a:>12.3f} {mb / max(a, 1e-9):>7.1f} {b:>14.3f} "
              f"{mb / max(b, 1e-9):>7.1f} {b / max(a, 1e-9):>6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
