"""The SSRF address classifier: every special-purpose range refused, public unicast allowed."""

from __future__ import annotations

import pytest

from handlers.collect.addresses import refusal

# (address, reason without loopback allowed, reason with loopback allowed); None = may connect
TABLE: list[tuple[str, str | None, str | None]] = [
    # public unicast
    ("8.8.8.8", None, None),
    ("1.1.1.1", None, None),
    ("93.184.215.14", None, None),
    ("2606:4700:4700::1111", None, None),
    ("2001:4860:4860::8888", None, None),
    ("::ffff:8.8.8.8", None, None),  # IPv4-mapped public: judged as 8.8.8.8
    ("64:ff9b::808:808", None, None),  # NAT64 of 8.8.8.8
    # loopback: the only range the local-mode flag opens
    ("127.0.0.1", "loopback", None),
    ("127.255.255.254", "loopback", None),
    ("::1", "loopback", None),
    ("::ffff:127.0.0.1", "IPv4-mapped 127.0.0.1: loopback", None),
    # the instance metadata service, both families, and its disguises
    ("169.254.169.254", "the instance metadata service", "the instance metadata service"),
    ("fd00:ec2::254", "the instance metadata service", "the instance metadata service"),
    (
        "::ffff:169.254.169.254",
        "IPv4-mapped 169.254.169.254: the instance metadata service",
        "IPv4-mapped 169.254.169.254: the instance metadata service",
    ),
    (
        "64:ff9b::a9fe:a9fe",
        "NAT64 169.254.169.254: the instance metadata service",
        "NAT64 169.254.169.254: the instance metadata service",
    ),
    ("169.254.170.2", "link-local", "link-local"),  # ECS task metadata
    ("169.254.169.253", "link-local", "link-local"),  # the VPC resolver
    # private
    ("10.0.0.1", "private", "private"),
    ("10.255.255.255", "private", "private"),
    ("172.16.0.1", "private", "private"),
    ("172.31.255.255", "private", "private"),
    ("192.168.1.1", "private", "private"),
    ("::ffff:10.1.2.3", "IPv4-mapped 10.1.2.3: private", "IPv4-mapped 10.1.2.3: private"),
    ("fc00::1", "unique local (private)", "unique local (private)"),
    ("fd12:3456::1", "unique local (private)", "unique local (private)"),
    # carrier-grade NAT
    (
        "100.64.0.1",
        "shared address space (carrier-grade NAT)",
        "shared address space (carrier-grade NAT)",
    ),
    (
        "100.127.255.254",
        "shared address space (carrier-grade NAT)",
        "shared address space (carrier-grade NAT)",
    ),
    # link-local
    ("169.254.0.1", "link-local", "link-local"),
    ("fe80::1", "link-local", "link-local"),
    ("fe80::1%eth0", "link-local", "link-local"),
    # multicast, broadcast, reserved
    ("224.0.0.1", "multicast", "multicast"),
    ("239.255.255.250", "multicast", "multicast"),
    ("ff02::1", "multicast", "multicast"),
    ("255.255.255.255", "reserved", "reserved"),
    ("240.0.0.1", "reserved", "reserved"),
    ("::127.0.0.1", "reserved", "reserved"),  # IPv4-compatible (deprecated)
    # unspecified
    ("0.0.0.0", "unspecified ('this network')", "unspecified ('this network')"),
    ("0.1.2.3", "unspecified ('this network')", "unspecified ('this network')"),
    ("::", "unspecified", "unspecified"),
    # documentation, benchmarking, protocol assignments, transition mechanisms
    ("192.0.2.1", "documentation", "documentation"),
    ("198.51.100.7", "documentation", "documentation"),
    ("203.0.113.9", "documentation", "documentation"),
    ("2001:db8::1", "documentation", "documentation"),
    ("3fff::1", "documentation", "documentation"),
    ("198.18.0.1", "benchmarking", "benchmarking"),
    ("192.0.0.170", "IETF protocol assignments", "IETF protocol assignments"),
    ("192.88.99.1", "6to4 relay anycast", "6to4 relay anycast"),
    (
        "2001::1",
        "IETF protocol assignments (Teredo, benchmarking, ORCHID)",
        "IETF protocol assignments (Teredo, benchmarking, ORCHID)",
    ),
    ("2002:a9fe:a9fe::1", "6to4 (embeds an IPv4 address)", "6to4 (embeds an IPv4 address)"),
    ("64:ff9b:1::1", "local-use NAT64", "local-use NAT64"),
    ("100::1", "discard-only", "discard-only"),
    ("fec0::1", "site-local (deprecated)", "site-local (deprecated)"),
    ("5f00::1", "segment routing (SRv6)", "segment routing (SRv6)"),
]


@pytest.mark.parametrize(("address", "refused", "refused_in_local_mode"), TABLE)
def test_address_table(
    address: str, refused: str | None, refused_in_local_mode: str | None
) -> None:
    assert refusal(address) == refused
    assert refusal(address, allow_loopback=True) == refused_in_local_mode


def test_not_an_address_is_an_error_not_a_pass() -> None:
    with pytest.raises(ValueError):
        refusal("example.org")
