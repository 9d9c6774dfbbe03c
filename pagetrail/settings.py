"""Settings: defaults, documented; precedence flag > environment > --config FILE > defaults.

Every setting NAME is also read from the environment as PAGETRAIL_<NAME> (upper case), e.g.
PAGETRAIL_DB, PAGETRAIL_ALLOW_PRIVATE_ADDRESSES=true, PAGETRAIL_RESOLVE="www.wisegeek.com=127.0.0.1".
A config file is TOML with the same names as top-level keys (see config/pagetrail.example.toml).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_type_hints


class SettingsError(Exception):
    """A bad setting: the message names where it came from and what is expected."""


@dataclass
class Settings:
    db: str = field(default="sqlite:///pagetrail.db", metadata={"help": "archive database URL"})
    user_agent: str = field(
        default="pagetrail/0.1 (+https://github.com/pagetrail/pagetrail)",
        metadata={"help": "User-Agent sent with every request and matched in robots.txt"},
    )
    connect_timeout: float = field(default=10.0, metadata={"help": "seconds to connect"})
    read_timeout: float = field(default=30.0, metadata={"help": "seconds between bytes read"})
    total_timeout: float = field(default=60.0, metadata={"help": "seconds for a whole fetch"})
    max_body_bytes: int = field(
        default=10 * 1024 * 1024, metadata={"help": "longer bodies are cut, kept, flagged truncated"}
    )
    max_redirects: int = field(default=10, metadata={"help": "redirect hops followed"})
    per_host_delay: float = field(
        default=1.0, metadata={"help": "seconds from one response's end to the next request to a host"}
    )
    concurrency: int = field(default=16, metadata={"help": "fetches in flight in all"})
    per_host: int = field(default=1, metadata={"help": "fetches in flight per host"})
    obey_robots: bool = field(default=True, metadata={"help": "obey robots.txt"})
    robots_cache_ttl: float = field(
        default=3600.0, metadata={"help": "seconds a host's robots.txt answer is reused (kept in the archive, "
                                          "shared by every worker)"}
    )
    robots_retry_after_error: float = field(
        default=300.0, metadata={"help": "seconds a host whose robots.txt fails (5xx, unreachable) stays disallowed"}
    )
    resolve: dict[str, str] = field(
        default_factory=dict,
        metadata={"help": "host[:port] -> loopback address, like curl --resolve; permits that address"},
    )
    allow_private_addresses: bool = field(
        default=False, metadata={"help": "allow loopback, private and link-local addresses"}
    )
    lease_seconds: float = field(
        default=60.0, metadata={"help": "a worker's hold on a URL; a dead worker's URLs return after this"}
    )
    store_batch: int = field(
        default=32,
        metadata={"help": "captures stored in one transaction at most, when they queue up behind a store "
                  "(1: each capture in its own transaction)"},
    )
    parse_processes: int = field(
        default=-1,
        metadata={"help": "processes that parse pages in a long crawl (-1: one per core but one, except "
                  "for workers on PostgreSQL, which parse in their own threads: run one worker per core; "
                  "0: parse in threads of the crawling process)"},
    )
    profiles_dir: str | None = field(
        default=None, metadata={"help": "a folder of extra site profiles (*.toml)"}
    )
    api_token: str | None = field(
        default=None,
        metadata={"help": "bearer token the HTTP API requires for any change (unset: changes refused)"},
    )

    def fetch_settings(self):  # type: ignore[no-untyped-def]
        """The crawler's view of these settings."""
        from crawler.settings import FetchSettings

        names = {f.name for f in fields(FetchSettings)}
        return FetchSettings(**{k: v for k, v in vars(self).items() if k in names})


SETTING_NAMES = [f.name for f in fields(Settings)]
_TYPES = get_type_hints(Settings)


def _coerce(name: str, value: Any, origin: str) -> Any:
    """Convert a value from a file or the environment to the setting's type."""
    t = _TYPES[name]
    try:
        if t is bool:
            if isinstance(value, bool):
                return value
            low = str(value).strip().lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off", ""):
                return False
            raise ValueError("expected true or false")
        if t is int:
            if isinstance(value, bool):
                raise ValueError("expected a whole number")
            return int(value)
        if t is float:
            if isinstance(value, bool):
                raise ValueError("expected a number")
            return float(value)
        if t == dict[str, str]:
            if isinstance(value, dict):
                return {str(k): str(v) for k, v in value.items()}
            # "host=addr,host2:8080=addr2" from the environment or a flag
            out = {}
            for item in str(value).split(","):
                if not item.strip():
                    continue
                host, sep, addr = item.partition("=")
                if not sep or not host.strip() or not addr.strip():
                    raise ValueError(f"expected HOST=ADDRESS pairs separated by commas, got {item!r}")
                out[host.strip()] = addr.strip()
            return out
        if value is None:
            return None
        if not isinstance(value, str):
            raise ValueError("expected a string")
        return value
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"{origin}: bad value {value!r} for {name}: {exc}") from None


def load_config_file(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(f"config file {p} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"config file {p} is not valid TOML: {exc}") from None
    out = {}
    for key, value in data.items():
        if key not in _TYPES:
            raise SettingsError(
                f"config file {p}: unknown setting {key!r}; known: {', '.join(SETTING_NAMES)}"
            )
        out[key] = _coerce(key, value, f"config file {p}")
    return out


def load_settings(
    flags: dict[str, Any] | None = None,
    *,
    config_file: str | Path | None = None,
    environ: dict[str, str] | None = None,
) -> Settings:
    """flag > environment > config file > defaults. Flags given as None count as absent."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    config_file = config_file or env.get("PAGETRAIL_CONFIG")
    if config_file:
        values.update(load_config_file(config_file))
    for name in SETTING_NAMES:
        key = f"PAGETRAIL_{name.upper()}"
        if key in env:
            values[name] = _coerce(name, env[key], f"environment variable {key}")
    for name, value in (flags or {}).items():
        if value is not None:
            values[name] = _coerce(name, value, f"--{name.replace('_', '-')}")
    return Settings(**values)
