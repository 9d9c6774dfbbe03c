"""Many hosts on loopback: one LocalSite served by one LocalServer per 127.0.0.x address.

Used by the multi-worker tests and bench/crawl.py. Each host is a different address (and its
own port), so per-host politeness can be read from the one request log: a Hit's `host` is
the Host header the client sent. Hosts are named (h01.test ...) and reached through the
`resolve` setting, so no DNS and no traffic outside 127.0.0.0/8.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from tests.httpserver import Hit, LocalServer, LocalSite


@dataclass
class Hosts:
    site: LocalSite
    servers: list[LocalServer]
    names: list[str]  # host names as URLs use them ("h01.test"), or the addresses themselves

    def origin(self, k: int) -> str:
        return f"http://{self.names[k]}:{self.servers[k].port}"

    def resolve(self) -> str:
        """The `resolve` setting (PAGETRAIL_RESOLVE) that maps every name to its address."""
        return ",".join(f"{n}={s.server_address[0]}" for n, s in zip(self.names, self.servers)
                        if n != s.server_address[0])

    def interleaved(self, paths_of: Callable[[int], list[str]]) -> list[str]:
        """Every host's URLs, round-robin across hosts (host 1's first, host 2's first, ...), so
        a worker leasing the next N URLs gets N different hosts rather than one busy one."""
        per_host = [[self.origin(k) + p for p in paths_of(k)] for k in range(len(self.servers))]
        out = []
        for i in range(max(len(p) for p in per_host)):
            out.extend(p[i] for p in per_host if i < len(p))
        return out

    def close(self) -> None:
        for s in self.servers:
            s.close()


def serve_hosts(site: LocalSite, n: int, *, named: bool = True) -> Hosts:
    """n servers on 127.0.0.2 ... 127.0.0.(n+1), all serving `site`."""
    if not 1 <= n <= 250:
        raise ValueError("between 1 and 250 loopback hosts")
    servers = [LocalServer(site, host=f"127.0.0.{k + 2}") for k in range(n)]
    names = [f"h{k + 1:02d}.test" if named else f"127.0.0.{k + 2}" for k in range(n)]
    return Hosts(site, servers, names)


def host_gaps(hits: Iterable[Hit]) -> dict[str, float]:
    """Per host (Host header), the smallest time between one response's end and the next
    request's start as the server saw them (the client's own gap is never smaller)."""
    by_host: dict[str, list[Hit]] = defaultdict(list)
    for h in hits:
        by_host[h.host or ""].append(h)
    out = {}
    for host, hs in by_host.items():
        hs.sort(key=lambda h: h.start)
        if len(hs) > 1:
            out[host] = min(b.start - a.end for a, b in zip(hs, hs[1:]))
    return out
