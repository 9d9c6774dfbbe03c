"""Extraction benchmark: pagetrail's generic extractor beside trafilatura, same pages, same run.

    .venv/bin/pip install --target bench/.deps -r bench/requirements-extraction.txt   # once
    .venv/bin/python bench/extraction.py [--data ../shared/datasets] [--limit N]

Scores with ../shared/tools/extract_eval.py (each benchmark's own metric) on scrapinghub
(181 pages, body) and dragnet (966 training pages: body, comments, spurious comments), and
prints one table: P/R/F1, comments P/R/F1, spurious-comment rate and pages/s (one core each).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PEERS = {"trafilatura (comments separate)": "{tools}/peers.py:trafilatura_split",
         "trafilatura (comments off)": "{tools}/peers.py:trafilatura_body",
         "trafilatura (fast)": "{tools}/peers.py:trafilatura_fast"}
OURS = {"pagetrail generic": f"{HERE}/adapters.py:pagetrail_generic"}


def run(dataset: str, data_dir: Path, extractor: str, tools: Path, limit: int | None, out: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE / ".deps"), str(ROOT), os.environ.get("PYTHONPATH", "")]))
    cmd = [sys.executable, str(tools / "extract_eval.py"), "--dataset", dataset, "--data-dir", str(data_dir),
           "--extractor", extractor, "--out-dir", str(out)]
    if dataset == "dragnet":
        cmd += ["--split", "train"]
    if limit:
        cmd += ["--limit", str(limit)]
    subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
    (result,) = list(out.glob("*.json"))  # the harness names it after the data folder
    data = json.loads(result.read_text())
    result.unlink()
    return data


def fmt(x: object) -> str:
    return f"{x:.3f}" if isinstance(x, float) else ("-" if x is None else str(x))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "datasets")
    ap.add_argument("--tools", type=Path, default=ROOT.parent / "shared" / "tools")
    ap.add_argument("--limit", type=int, help="only the first N pages of each dataset")
    ap.add_argument("--dump", action="store_true", help="print the raw summaries too")
    args = ap.parse_args()
    extractors = {**OURS, **{k: v.format(tools=args.tools) for k, v in PEERS.items()}}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for dataset, sub in (("scrapinghub", "scrapinghub"), ("dragnet", "dragnet-train")):
            for name, spec in extractors.items():
                summary = run(dataset, args.data / sub, spec, args.tools, args.limit, Path(tmp))
                if args.dump:
                    print(json.dumps(summary.get("summary", summary), indent=1)[:2000])
                rows.append((dataset, name, summary.get("summary", summary)))
    print(f"machine: {os.cpu_count()} cores; each extractor on one core")
    head = ["dataset", "extractor", "body P", "body R", "body F1", "comm P", "comm R", "comm F1", "spurious", "pages/s"]
    print(" | ".join(head))
    for dataset, name, s in rows:
        print(" | ".join([dataset, name] + [fmt(s.get(k)) for k in (
            "body_precision", "body_recall", "body_f1", "comments_precision", "comments_recall", "comments_f1",
            "spurious_comments_rate", "pages_per_second")]))
    print("(pages/s above: the harness's wall clock per page; it swings with the machine's load)\n")
    speed = [sys.executable, str(HERE / "extraction_speed.py"), "--data", str(args.data), "--tools", str(args.tools)]
    if args.limit:
        speed += ["--limit", str(args.limit)]
    return subprocess.run(speed).returncode


if __name__ == "__main__":
    sys.exit(main())
