"""CPU time per page of each extractor on the same pages, in one process, interleaved rounds.

The scoring harness times each page by wall clock in its own process; on a shared 2-core
machine that swings by 2x between runs. Here every extractor parses every page once per round,
rounds alternate extractors, and the table gives the median of the rounds' CPU seconds
(time.process_time), so a busy neighbour slows all of them alike.

    .venv/bin/python bench/extraction_speed.py [--data ../shared/datasets] [--rounds 5] [--limit N]

Run by bench/extraction.py after its quality table; runnable alone.
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def load_pages(data: Path, limit: int | None) -> list[str]:
    """Both benchmarks' HTML, decoded as the harness decodes it (UTF-8, errors replaced)."""
    files = sorted((data / "scrapinghub" / "html").glob("*.html.gz"))[:limit] + \
        sorted((data / "dragnet-train" / "HTML").glob("*.html"))[:limit]
    out = []
    for f in files:
        raw = f.read_bytes()
        out.append((gzip.decompress(raw) if f.suffix == ".gz" else raw).decode("utf-8", "replace"))
    return out


def extractors(tools: Path) -> dict[str, Callable[[str], object]]:
    sys.path[:0] = [str(HERE / ".deps"), str(ROOT), str(tools)]
    import peers  # the harness's adapters: the same calls the quality table makes

    from adapters import pagetrail_generic

    return {"pagetrail generic": pagetrail_generic,
            "trafilatura (comments separate)": peers.trafilatura_split,
            "trafilatura (comments off)": peers.trafilatura_body,
            "trafilatura (fast)": peers.trafilatura_fast}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "datasets")
    ap.add_argument("--tools", type=Path, default=ROOT.parent / "shared" / "tools")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--limit", type=int, help="only the first N pages of each dataset")
    args = ap.parse_args()
    warnings.simplefilter("ignore")  # dateutil's unknown-timezone warnings, once per page
    pages = load_pages(args.data, args.limit)
    fns = extractors(args.tools)
    for fn in fns.values():  # imports and first-call set-up are not what a crawl pays per page
        for html in pages[:5]:
            fn(html)
    seconds: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(args.rounds):
        for name, fn in fns.items():
            t0 = time.process_time()
            for html in pages:
                fn(html)
            seconds[name].append(time.process_time() - t0)
    ours = statistics.median(seconds["pagetrail generic"])
    print(f"CPU per page, {len(pages)} pages (scrapinghub + dragnet), median of {args.rounds} interleaved rounds, one core")
    print("extractor | ms/page | pages/s (CPU) | pagetrail's speed-up")
    for name, runs in seconds.items():
        med = statistics.median(runs)
        print(f"{name} | {med / len(pages) * 1000:.2f} | {len(pages) / med:.1f} | {med / ours:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
