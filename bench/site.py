"""A synthetic article site for the storage benchmark, served on 127.0.0.1 only.

Pages look like the health-article pages pagetrail archives (~70-80 KB of HTML: heavy chrome,
an article body repeated as plain text inside a script, ad slots between paragraphs, a comment
thread) and, like the real ones, carry widgets that rotate on EVERY fetch (a random fact, a
today-in-history line, ad slot ids and cache busters, recommendation links), so no two fetches
of a page are byte-identical and WARC revisit records never fire. Between rounds a few percent
of the articles are edited (a paragraph rewritten, or a comment posted).

The text is made of pseudo-words with a Zipf-like distribution so it compresses like prose
(gzip ~3x), not like repeated boilerplate.
"""

from __future__ import annotations

import html
import random
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_SYLLABLES = [
    "ba", "ce", "di", "fo", "gu", "ha", "je", "ki", "lo", "mu", "na", "pe", "qui", "ro", "sa",
    "te", "vi", "wo", "xa", "ye", "zo", "an", "el", "in", "on", "ur", "tra", "ple", "cri", "sto",
    "ment", "tion", "ly", "er", "est", "ing", "ous", "ive", "al", "ic",
]


def _vocabulary(rng: random.Random, n: int = 6000) -> list[str]:
    words = set()
    while len(words) < n:
        words.add("".join(rng.choice(_SYLLABLES) for _ in range(rng.choice((1, 2, 2, 3, 3, 4)))))
    return sorted(words)


@dataclass
class Article:
    slug: str
    title: str
    author: str
    editor: str
    paragraphs: list[str]
    comments: list[tuple[int, str, str]]  # (number, author, text), newest first
    modified: str
    related: list[str]


@dataclass
class SiteModel:
    """The site's content at the current round; `advance` edits a few percent of the articles."""

    n_pages: int = 600
    seed: int = 7
    edit_fraction: float = 0.03
    round: int = 0
    articles: list[Article] = field(default_factory=list)

    def __post_init__(self) -> None:
        rng = random.Random(self.seed)
        self.vocab = _vocabulary(rng)
        # Zipf-ish weights: a few very common words, a long tail.
        self.weights = [1.0 / (i + 1) ** 0.9 for i in range(len(self.vocab))]
        self.cum = list(_accumulate(self.weights))
        self.chrome = self._chrome(rng)
        self.facts = [self.sentence(rng, 14, 30) for _ in range(400)]
        self.history = [self.sentence(rng, 10, 20) for _ in range(366)]
        self._next_post = 100000
        for i in range(self.n_pages):
            title = self.sentence(rng, 4, 9).rstrip(".").title() + "?"
            slug = f"what-is-{i}-" + "-".join(title.lower().split()[:4]).strip("?")
            paras = [self.sentence(rng, 40, 120, sentences=rng.randint(3, 7)) for _ in range(rng.randint(6, 12))]
            comments = []
            for n in range(rng.choice((0, 0, 2, 5, 9, 14)), 0, -1):
                comments.append((n, self.word(rng).title(), self.sentence(rng, 15, 80, sentences=rng.randint(1, 4))))
            self.articles.append(
                Article(slug, title, self.name(rng), self.name(rng), paras, comments,
                        f"2019-0{rng.randint(1, 9)}-{rng.randint(10, 28)}", [])
            )
        for a in self.articles:
            a.related = [rng.choice(self.articles).slug for _ in range(5)]
        self.lock = threading.Lock()

    # -- text -------------------------------------------------------------------------
    def word(self, rng: random.Random) -> str:
        return rng.choices(self.vocab, cum_weights=self.cum)[0]

    def name(self, rng: random.Random) -> str:
        return f"{self.word(rng).title()} {self.word(rng).title()}"

    def sentence(self, rng: random.Random, lo: int, hi: int, sentences: int = 1) -> str:
        out = []
        for _ in range(sentences):
            n = rng.randint(lo, hi) // max(1, sentences // 2 + 1)
            words = [self.word(rng) for _ in range(max(3, n))]
            out.append(" ".join(words).capitalize() + ".")
        return " ".join(out)

    def _chrome(self, rng: random.Random) -> dict[str, str]:
        css = "\n".join(
            f".{self.word(rng)}-{i} {{ margin: {rng.randint(0, 20)}px; color: #{rng.randrange(16**6):06x}; "
            f"font: {rng.randint(10, 18)}px/1.{rng.randint(2, 6)} Verdana, sans-serif; }}"
            for i in range(260)
        )
        js = "\n".join(
            f"function {self.word(rng)}_{i}(a,b){{var c=a.{self.word(rng)}||{rng.randint(0, 999)};"
            f"return b?c+'{self.word(rng)}':document.getElementById('{self.word(rng)}');}}"
            for i in range(160)
        )
        nav = "\n".join(
            f'<li class="nav-item"><a href="/category/{self.word(rng)}-{i}.htm">{self.word(rng).title()} '
            f"{self.word(rng).title()}</a></li>"
            for i in range(140)
        )
        footer = "\n".join(
            f'<a href="/{self.word(rng)}/{self.word(rng)}.htm">{self.sentence(rng, 2, 5)}</a>'
            for _ in range(70)
        )
        return {"css": css, "js": js, "nav": nav, "footer": footer}

    # -- change -------------------------------------------------------------------------
    def advance(self) -> int:
        """Next round: edit a few percent of the articles. Returns how many changed."""
        rng = random.Random(self.seed * 1000 + self.round + 1)
        with self.lock:
            self.round += 1
            changed = rng.sample(range(self.n_pages), max(1, int(self.n_pages * self.edit_fraction)))
            for i in changed:
                a = self.articles[i]
                if rng.random() < 0.5:
                    k = rng.randrange(len(a.paragraphs))
                    a.paragraphs[k] = self.sentence(rng, 40, 120, sentences=rng.randint(3, 7))
                    a.modified = f"2019-1{rng.randint(0, 2)}-{rng.randint(10, 28)}"
                else:
                    self._next_post += 1
                    n = (a.comments[0][0] + 1) if a.comments else 1
                    a.comments.insert(0, (n, self.word(rng).title(), self.sentence(rng, 15, 80, sentences=2)))
            return len(changed)

    # -- rendering ----------------------------------------------------------------------
    def render(self, index: int, rng: random.Random) -> bytes:
        """The page as served now: the article's current content plus freshly rotated widgets."""
        with self.lock:
            a = self.articles[index]
            paras, comments = list(a.paragraphs), list(a.comments)
        e = html.escape
        c = self.chrome
        fact = rng.choice(self.facts)
        today = rng.choice(self.history)
        bust = rng.randrange(10**12)
        parts = [
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
            f"<title>{e(a.title)}</title>",
            f'<link rel="canonical" href="/articles/{a.slug}.htm">',
            f'<meta name="description" content="{e(paras[0][:150])}">',
            f"<style>\n{c['css']}\n</style>",
            f"<script>\n{c['js']}\nvar pageview_id='{rng.randrange(16**16):016x}';var ts={bust};\n</script>",
            "</head><body>",
            f'<div id="header"><ul class="nav">\n{c["nav"]}\n</ul></div>',
            f'<div class="ad" id="ad-top"><iframe src="/ads/slot?ord={rng.randrange(10**9)}&amp;c={bust}" '
            f'width="728" height="90"></iframe></div>',
            f'<div id="article"><h1 itemprop="headline">{e(a.title)}</h1>',
            f'<div class="byline">Written By: <span class="author">{e(a.author)}</span> '
            f'Edited By: <span class="editor">{e(a.editor)}</span> '
            f'Last Modified Date: <span class="modified">{a.modified}</span></div>',
            '<div class="article-body" itemprop="articleBody">',
        ]
        for k, p in enumerate(paras):
            parts.append(f"<p>{e(p)}</p>")
            if k in (1, 4, 8):
                parts.append(
                    f'<div class="ad inline" id="ad-{k}-{rng.randrange(10**6)}">'
                    f'<script>adp_slot({rng.randrange(10**8)}, "{rng.randrange(16**10):010x}");</script></div>'
                )
        parts.append("</div>")
        # The whole article again as plain text inside a script (a trap the parsers handle).
        parts.append("<script>var article_text = " + repr(" ".join(paras)) + ";</script>")
        parts.append(
            '<div class="widget" id="did-you-know"><h3>Did You Know?</h3>'
            f"<p>{e(fact)} <a href=\"/facts/{rng.randrange(10**5)}.htm\">more...</a></p></div>"
        )
        parts.append(f'<div class="widget" id="today"><h3>Today in History</h3><p>{e(today)}</p></div>')
        recs = rng.sample(self.articles, 4)
        parts.append('<div class="ad recommendation"><h3>You might also Like</h3><ul>')
        for r in recs:
            parts.append(f'<li><a href="/articles/{r.slug}.htm?utm_source=rec&amp;r={rng.randrange(10**6)}">'
                         f"{e(r.title)}</a></li>")
        parts.append("</ul></div>")
        parts.append('<div class="related"><h3>Related Articles</h3><ul>')
        for slug in a.related:
            parts.append(f'<li><a href="/articles/{slug}.htm">{slug}</a></li>')
        parts.append("</ul></div>")
        parts.append('<div id="comments"><h3>Discuss this Article</h3>')
        for k, (n, who, text) in enumerate(comments):
            parts.append(
                f'<script>adp_post_blocks.push("post_{n * 7919 + index}")</script>'
                f'<div class="post" id="post_{n * 7919 + index}"><span class="num">Post {n}</span> '
                f'<span class="who">{e(who)}</span><p>{e(text)}</p></div>'
            )
            if k % 3 == 2:
                parts.append(f'<div class="ad between-posts"><script>adp_slot({rng.randrange(10**8)})</script></div>')
        parts.append("</div></div>")
        parts.append(f'<div id="footer">{c["footer"]}<p>Copyright Protected 2003-2019</p>'
                     f'<img src="/px.gif?r={rng.random()}" alt=""></div></body></html>\n')
        return "\n".join(parts).encode("utf-8")

    def url_path(self, index: int) -> str:
        return f"/articles/{self.articles[index].slug}.htm"


def _accumulate(xs: list[float]):  # type: ignore[no-untyped-def]
    total = 0.0
    for x in xs:
        total += x
        yield total


class SiteServer:
    """A threaded HTTP server on 127.0.0.1 serving a SiteModel. Widgets rotate per request."""

    def __init__(self, model: SiteModel) -> None:
        self.model = model
        by_path = {model.url_path(i): i for i in range(model.n_pages)}
        robots = b"User-agent: *\nAllow: /\n"
        rng_lock = threading.Lock()
        rng = random.Random(model.seed + 99)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # quiet
                pass

            def do_GET(self) -> None:  # noqa: N802
                path = self.path.split("?", 1)[0]
                if path == "/robots.txt":
                    body, ctype, status = robots, "text/plain", 200
                elif path in by_path:
                    with rng_lock:
                        local = random.Random(rng.random())
                    body, ctype, status = model.render(by_path[path], local), "text/html; charset=utf-8", 200
                else:
                    body, ctype, status = b"not found", "text/plain", 404
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "SiteServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
