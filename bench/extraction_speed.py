"""CPU time per page of each extractor on the same pages, interleaved, one fresh process per round.

The scoring harness times each page by wall clock in its own process; on a shared 2-core
machine that swings by 2x between runs. Here every extractor parses every page once per round,
page by page in turn (so a busy neighbour slows all of them alike), and the table gives the
median of the rounds' CPU seconds (time.process_time).

Each round runs in a new process. Both tools remember things across pages (pagetrail the
class and id words it has looked up, trafilatura and htmldate their lru_caches): within a round
that is what a crawl of many sites gets, but a second pass over the same pages would find
everything remembered, which no crawl does.

    .venv/bin/python bench/extraction_speed.py [--data ../shared/datasets] [--rounds 5] [--limit N]

Run by bench/extraction.py after its quality table; runnable alone.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any
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


def one_round(data: Path, tools: Path, limit: int | None, warm_up: int = 5) -> dict[str, Any]:
    """{"pages": N, "seconds": CPU seconds of each extractor over all N pages}, the extractors
    taking turns page by page. The first few pages
    are parsed beforehand, untimed: imports and first-call set-up are not what a crawl pays
    per page."""
    warnings.simplefilter("ignore")  # dateutil's unknown-timezone warnings, once per page
    pages = load_pages(data, limit)
    fns = extractors(tools)
    for fn in fns.values():
        for html in pages[:warm_up]:
            fn(html)
    seconds = dict.fromkeys(fns, 0.0)
    clock = time.process_time
    for html in pages:
        for name, fn in fns.items():
            t0 = clock()
            fn(html)
            seconds[name] += clock() - t0
    from parsers._compiled import compiled_modules

    return {"pages": len(pages), "seconds": seconds, "compiled": compiled_modules()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "datasets")
    ap.add_argument("--tools", type=Path, default=ROOT.parent / "shared" / "tools")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--limit", type=int, help="only the first N pages of each dataset")
    ap.add_argument("--one-round", action="store_true", help=argparse.SUPPRESS)  # a round's own process
    args = ap.parse_args()
    if args.one_round:
        print(json.dumps(one_round(args.data, args.tools, args.limit)))
        return 0
    seconds: dict[str, list[float]] = {}
    n = 0
    compiled: list[str] = []
    for _ in range(args.rounds):
        cmd = [sys.executable, __file__, "--one-round", "--data", str(args.data), "--tools", str(args.tools)]
        if args.limit:
            cmd += ["--limit", str(args.limit)]
        result = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
        n = result["pages"]
        compiled = result["compiled"]
        for name, s in result["seconds"].items():
            seconds.setdefault(name, []).append(s)
    ours = statistics.median(seconds["pagetrail generic"])
    print(f"CPU per page, {n} pages (scrapinghub + dragnet), median of {args.rounds} rounds "
          "(each a fresh process, extractors taking turns page by page), one core")
    # compiled at install when the machine has a C compiler (setup.py); PAGETRAIL_PURE_PYTHON=1 runs the source
    print(f"pagetrail's parsers: {len(compiled)} modules compiled ({', '.join(compiled)})" if compiled
          else "pagetrail's parsers: running as Python (not compiled, or PAGETRAIL_PURE_PYTHON=1)")
    print("extractor | ms/page | pages/s (CPU) | pagetrail's speed-up")
    for name, runs in seconds.items():
        med = statistics.median(runs)
        print(f"{name} | {med / n * 1000:.2f} | {n / med:.1f} | {med / ours:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
