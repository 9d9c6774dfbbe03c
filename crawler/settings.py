"""The crawler's settings, with their defaults (the faces fill them from pagetrail.settings)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FetchSettings:
    user_agent: str = "pagetrail/0.1 (+https://github.com/pagetrail/pagetrail)"
    connect_timeout: float = 10.0  # seconds to open a connection
    read_timeout: float = 30.0  # seconds of silence while reading
    total_timeout: float = 60.0  # seconds for a whole fetch, redirects included
    max_body_bytes: int = 10 * 1024 * 1024  # raw bytes kept; longer bodies are cut and flagged
    max_decompressed_bytes: int = 50 * 1024 * 1024  # a decompression bomb is cut here
    max_redirects: int = 10
    per_host_delay: float = 1.0  # from the end of one response to the next request to a host
    obey_robots: bool = True
    robots_cache_ttl: float = 3600.0  # seconds a robots.txt answer is reused
    robots_retry_after_error: float = 300.0  # a 5xx/unreachable robots.txt disallows this long
    resolve: dict[str, str] = field(default_factory=dict)  # "host" or "host:port" -> address
    allow_private_addresses: bool = False
