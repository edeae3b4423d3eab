"""Who is on the other end: the client address that limits are kept by.

``X-Forwarded-For`` is believed only from the proxies given with ``--trusted-proxies`` (loopback
included: it is not trusted unless listed). From a trusted proxy, the client is the right-most
address in the header that is not itself a trusted proxy, so a client cannot pick its own
identity by sending the header through the proxy. IPv6 clients are limited by their /64, the
block one subscriber usually holds (OWASP: rate-limit IPv6 by prefix); an IPv4-mapped IPv6
address counts as the IPv4 address it maps (else every IPv4 client of a dual-stack listener
would share one /64).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from starlette.types import Scope

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(cidrs: Sequence[str]) -> tuple[Network, ...]:
    """``["10.0.0.0/8", "127.0.0.1"]`` → networks; a bad entry raises ValueError naming it."""
    networks = []
    for cidr in cidrs:
        try:
            networks.append(ipaddress.ip_network(cidr.strip(), strict=False))
        except ValueError as error:
            raise ValueError(f"trusted proxy {cidr!r} is not an address or CIDR block") from error
    return tuple(networks)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address ``text`` names (an IPv4-mapped IPv6 one as the IPv4 address it maps, as a
    dual-stack listener reports IPv4 clients); None if it names none."""
    try:
        address = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def client_address(scope: Scope, trusted: tuple[Network, ...]) -> str:
    """The address a request comes from, as limits key it (IPv6: its /64)."""
    peer = _address(scope["client"][0]) if scope.get("client") else None
    if peer is None:
        return "unknown"
    if trusted and any(peer in net for net in trusted):
        forwarded = [
            value.decode("latin-1")
            for name, value in scope["headers"]
            if name == b"x-forwarded-for"
        ]
        hops = [_address(h) for h in ",".join(forwarded).split(",") if h.strip()]
        for hop in reversed(hops):
            if hop is None:  # garbage in the chain: stop believing it here
                break
            peer = hop
            if not any(hop in net for net in trusted):
                break
    if peer.version == 6 and not peer.is_loopback:
        return str(ipaddress.ip_network(f"{peer}/64", strict=False))
    return str(peer)
