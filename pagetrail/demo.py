"""`pagetrail demo`: the main job on the embedded default, start to finish, in well under a minute.

A sample health site in the reference site's markup is served on 127.0.0.1 and crawled under
its real name (www.wisegeek.com, mapped by `resolve` — no DNS, no outside traffic) for several
rounds while it changes the way real sites do: widgets and ads rotate on every fetch, a
reader's comment arrives, a moderator removes one, an editor revises a paragraph and the Last
Modified Date. Then the history, an as-of view and the diff are printed. It writes only to its
own demo.db.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from pagetrail.demo_server import Response, SiteServer
from pagetrail.sample_site.content import ARTICLES, LIVER, MAGNESIUM, Post
from pagetrail.sample_site.markup import PageState, render_article, render_index
from pagetrail.settings import Settings
from storage.db import normalize_db_url, sqlite_path

HOST = "www.wisegeek.com"

NEW_POST = Post("post_2409874", 4, "ocelot60", (
    "@fify-- My doctor told me the same about magnesium. The calcification on my liver was found by "
    "accident on a scan, and I was told it needed no treatment at all.",
))
# round -> what happens on the site before that round's crawl
STORY = {
    1: "the site as it is",
    2: "widgets and ads rotate; a reader posts a comment on the liver article",
    3: "a moderator removes a comment on the liver article; the magnesium thread now pages (posts 8 to 4)",
    4: "an editor revises a paragraph of the liver article and its Last Modified Date",
}
REVISED = (
    "When the offending disease or condition is no longer present, there is often no necessary treatment "
    "for liver calcification. Further monitoring with ultrasound may be needed to rule out continued "
    "infection or disease. This is especially true in very young babies or children."
)


class DemoSite:
    """The sample site; `advance` moves it to the state of the next round."""

    def __init__(self) -> None:
        self.round = 0
        self.states = {a.slug: PageState() for a in ARTICLES}
        self.base = ""

    def advance(self, round_no: int) -> None:
        self.round = round_no
        for slug, st in self.states.items():
            self.states[slug] = replace(st, fetch=round_no)  # widgets rotate on every round
        liver = self.states[LIVER.slug]
        if round_no == 2:
            self.states[LIVER.slug] = replace(liver, added=(NEW_POST,))
        if round_no == 3:
            self.states[LIVER.slug] = replace(liver, removed=frozenset({"post_2409872"}))
            # Older posts move to a second thread page: out of view, not removed.
            self.states[MAGNESIUM.slug] = replace(self.states[MAGNESIUM.slug], page_size=5)
        if round_no == 4:
            self.states[LIVER.slug] = replace(self.states[LIVER.slug], edits={(0, 2): REVISED},
                                              modified="2 October 2019")

    def __call__(self, path: str) -> Response | None:
        path = path.split("?", 1)[0]
        if path == "/robots.txt":
            return Response(200, b"User-agent: *\nDisallow: /password-recovery.htm\n", "text/plain")
        if path == "/":
            return Response(200, render_index(self.base).encode())
        for a in ARTICLES:
            if path == a.path:
                return Response(200, render_article(a, self.states[a.slug], self.base).encode())
        return None


def _say(text: str = "") -> None:
    print(text, flush=True)


def run_demo(cli: Callable[[list[str]], int], db: str = "sqlite:///demo.db", rounds: int = 4,
             port: int = 8642) -> int:
    """The demo, showing pagetrail's own verbs: `cli` is the command's main (passed in, so the
    demo does not import the CLI that runs it)."""
    from pagetrail.pipeline import crawl, open_archive

    url = normalize_db_url(db)
    path = sqlite_path(url)
    if path is not None:
        if path.name == "pagetrail.db":
            _say("pagetrail demo: refusing to write into pagetrail.db; the demo keeps its own demo.db")
            return 1
        for suffix in ("", "-wal", "-shm"):  # a fresh demo archive every run
            Path(str(path) + suffix).unlink(missing_ok=True)
    t0 = time.monotonic()
    site = DemoSite()
    with SiteServer(site, port) as server:
        site.base = f"http://{HOST}:{server.port}"
        urls = [site.base + a.path for a in ARTICLES]
        settings = Settings(db=db, resolve={HOST: "127.0.0.1"}, per_host_delay=0.0, concurrency=8)
        archive = open_archive(settings)
        _say(f"pagetrail demo: a sample health site on 127.0.0.1:{server.port}, crawled as {HOST} "
             f"(resolve {HOST}=127.0.0.1), archived in {db}")
        _say()
        for r in range(1, rounds + 1):
            site.advance(r)
            report = crawl(settings, urls, kind="demo", archive=archive)
            s = report.stats
            _say(f"round {r}: {STORY.get(r, 'widgets rotate')}")
            _say(f"         {s.get('fetched', 0)} pages fetched: {s.get('new_revisions', 0)} new revisions, "
                 f"{s.get('unchanged', 0)} unchanged, {s.get('errors', 0)} errors")
            time.sleep(1.1)  # captures a second apart, so every moment below is distinct
        archive.engine.dispose()
        liver = site.base + LIVER.path
        magnesium = site.base + MAGNESIUM.path
        _say()
        _say("=" * 78)
        _say(f"$ pagetrail history {liver} --db {db}")
        cli(["history", liver, "--db", db])
        _say()
        _say(f"$ pagetrail history {magnesium} --db {db}   (posts 1-3 out of view since round 3: kept)")
        cli(["history", magnesium, "--db", db])
        _say()
        from storage import queries

        with open_archive(settings, read_only=True).sessions() as s:
            first = queries.history(s, liver)["revisions"][0]
        at = first["last_seen"]
        _say("=" * 78)
        _say(f"$ pagetrail show {liver} --at {at} --db {db}   (as of round 3, before the edit)")
        cli(["show", liver, "--at", at, "--db", db])
        _say()
        _say("=" * 78)
        _say(f"$ pagetrail diff {liver} --db {db}")
        cli(["diff", liver, "--db", db])
    # the command as this shell can run it (`make demo` runs .venv/bin/pagetrail)
    me = "pagetrail" if shutil.which("pagetrail") else os.path.relpath(sys.argv[0]) if sys.argv[0].endswith("pagetrail") else "pagetrail"
    _say()
    _say("=" * 78)
    _say(f"demo finished in {time.monotonic() - t0:.1f} s. Explore the archive it made:")
    _say(f"  {me} history {liver} --db {db}")
    _say(f"  {me} show {liver} --at 2019-01-01 --db {db}    (before the first capture: nothing, and why)")
    _say(f"  {me} show {liver} --json --db {db}")
    _say(f"  {me} diff {liver} --from 1 --to 2 --json --db {db}")
    _say(f"  {me} search magnesium --db {db}")
    _say(f"  {me} status --db {db}")
    _say(f"  {me} serve --db {db}      (then open http://127.0.0.1:8080/)")
    _say("(the sample site is gone now; its pages live on in the archive)")
    return 0

