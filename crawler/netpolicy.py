"""Where a request may go: the `resolve` map and the private-address rule (DESIGN.md).

Loopback, private and link-local addresses are refused unless `allow_private_addresses` is
set or a `resolve` entry names the host (naming it is permission). The address checked is the
address connected to: the request is pinned to it, so DNS cannot answer differently between
the check and the connection.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from crawler.settings import FetchSettings


class PolicyRefused(Exception):
    """The request must not be made; `kind` is the capture's error kind."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass
class Target:
    host: str  # the real host name (Host header, SNI, recorded URLs)
    port: int
    address: str  # the IP address to connect to


def _is_private(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_unspecified


class NetPolicy:
    def __init__(self, settings: FetchSettings) -> None:
        self.settings = settings
        self.resolve = {k.lower(): v for k, v in settings.resolve.items()}

    async def target(self, url: str) -> Target:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if not host:
            raise PolicyRefused("invalid_url", f"no host in {url!r}")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        mapped = self.resolve.get(f"{host}:{port}") or self.resolve.get(host)
        if mapped:
            return Target(host, port, mapped)
        try:
            ipaddress.ip_address(host.strip("[]"))
            addresses = [host.strip("[]")]
        except ValueError:
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(
                    host, port, type=socket.SOCK_STREAM
                )
            except socket.gaierror as exc:
                raise PolicyRefused("dns", f"cannot resolve {host}: {exc.strerror}") from None
            addresses = [info[4][0] for info in infos]
        if not addresses:
            raise PolicyRefused("dns", f"cannot resolve {host}")
        if not self.settings.allow_private_addresses:
            for address in addresses:
                if _is_private(address):
                    raise PolicyRefused(
                        "private_address",
                        f"{host} is at {address}, a loopback/private/link-local address: refused; "
                        "set allow_private_addresses (PAGETRAIL_ALLOW_PRIVATE_ADDRESSES=true, "
                        "--allow-private-addresses) or map the host with resolve",
                    )
        return Target(host, port, addresses[0])
