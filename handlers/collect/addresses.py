"""Which addresses the collector may connect to: public unicast only (the SSRF guard).

A collector fetches URLs that someone else controls (a feed's links, a sitemap's entries, a
redirect's Location), so any of them may point at the function's own network: the instance
metadata service (169.254.169.254, fd00:ec2::254), a VPC neighbour, localhost. Every address
a host name resolves to is checked here, and the fetcher connects to the checked address
itself (fetch.py), never to the name again.

The blocked ranges are listed explicitly (IANA's IPv4 and IPv6 special-purpose registries)
rather than taken from `ipaddress`' `is_private`/`is_global`, whose lists changed between
Python patch releases; `is_global` stays as a final net for anything the table misses.
https://www.iana.org/assignments/iana-ipv4-special-registry/
https://www.iana.org/assignments/iana-ipv6-special-registry/
"""

from __future__ import annotations

import ipaddress
from typing import Final

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

METADATA_ADDRESSES: Final = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)
LOOPBACK = "loopback"

# (network, reason); the first match names the reason. Order: narrow before broad.
_BLOCKED_V4: Final = tuple(
    (ipaddress.IPv4Network(net), reason)
    for net, reason in (
        ("0.0.0.0/8", "unspecified ('this network')"),
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "shared address space (carrier-grade NAT)"),
        ("127.0.0.0/8", LOOPBACK),
        ("169.254.0.0/16", "link-local"),
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "IETF protocol assignments"),
        ("192.0.2.0/24", "documentation"),
        ("192.88.99.0/24", "6to4 relay anycast"),
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "benchmarking"),
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved"),  # 255.255.255.255 (broadcast) included
    )
)
_BLOCKED_V6: Final = tuple(
    (ipaddress.IPv6Network(net), reason)
    for net, reason in (
        ("::/128", "unspecified"),
        ("::1/128", LOOPBACK),
        ("64:ff9b:1::/48", "local-use NAT64"),
        ("100::/64", "discard-only"),
        ("2001::/23", "IETF protocol assignments (Teredo, benchmarking, ORCHID)"),
        ("2001:db8::/32", "documentation"),
        ("2002::/16", "6to4 (embeds an IPv4 address)"),
        ("3fff::/20", "documentation"),
        ("5f00::/16", "segment routing (SRv6)"),
        ("fc00::/7", "unique local (private)"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "site-local (deprecated)"),
        ("ff00::/8", "multicast"),
        ("::/8", "reserved"),  # after ::1 and ::; IPv4-mapped addresses are unwrapped first
    )
)
# NAT64 (RFC 6052) translates to the IPv4 address in its last 32 bits: judge that address.
_NAT64: Final = ipaddress.IPv6Network("64:ff9b::/96")


def refusal(address: str | IPAddress, allow_loopback: bool = False) -> str | None:
    """Why the collector must not connect to `address`, or None when it may.

    `allow_loopback` admits loopback addresses (127.0.0.0/8, ::1 and their IPv4-mapped forms)
    and nothing else: local mode sets it to reach its test web server (fetch.py).
    """
    ip = address if not isinstance(address, str) else ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:  # "fe80::1%eth0": the zone does not change what the address is
            ip = ipaddress.IPv6Address(int(ip))
        embedded = ip.ipv4_mapped or (
            ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in _NAT64 else None
        )
        if embedded is not None:
            reason = refusal(embedded, allow_loopback)
            form = "IPv4-mapped" if ip.ipv4_mapped else "NAT64"
            return f"{form} {embedded}: {reason}" if reason else None
    if ip in METADATA_ADDRESSES:
        return "the instance metadata service"
    blocked = _BLOCKED_V4 if isinstance(ip, ipaddress.IPv4Address) else _BLOCKED_V6
    for network, reason in blocked:
        if ip in network:
            return None if reason == LOOPBACK and allow_loopback else reason
    if not ip.is_global:
        return "not globally routable"
    return None
