import ipaddress

import pytest

from inboxlink.config import Settings
from inboxlink.net.dns import Resolver
from inboxlink.net.policy import NetworkNotAllowed, NetworkPolicy


def policy(allow: str = "") -> NetworkPolicy:
    settings = Settings(allow_private_networks=allow, dns_nameservers="127.0.0.1:9")
    return NetworkPolicy(settings, Resolver(settings))


REFUSED = [
    "127.0.0.1",  # loopback
    "127.10.0.5",
    "::1",
    "10.1.2.3",  # private
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata (link-local)
    "169.254.1.1",
    "100.64.0.1",  # carrier-grade NAT
    "0.0.0.0",
    "fd00::1",  # unique local
    "fe80::1",  # link-local v6
    "::ffff:127.0.0.1",  # v4-mapped loopback
    "224.0.0.1",  # multicast
    "fd00:ec2::254",  # AWS metadata over IPv6
]
ALLOWED = ["8.8.8.8", "1.1.1.1", "2001:4860:4860::8888", "203.0.114.7"]


@pytest.mark.parametrize("address", REFUSED)
def test_private_loopback_link_local_and_metadata_addresses_are_refused(address: str) -> None:
    assert not policy().allows(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses_are_allowed(address: str) -> None:
    assert policy().allows(ipaddress.ip_address(address))


def test_admin_can_open_every_private_network() -> None:
    assert all(policy("1").allows(ipaddress.ip_address(a)) for a in REFUSED)


def test_admin_can_open_listed_networks_only() -> None:
    opened = policy("10.0.0.0/8, 192.168.5.0/24")
    assert opened.allows(ipaddress.ip_address("10.9.9.9"))
    assert opened.allows(ipaddress.ip_address("192.168.5.20"))
    assert not opened.allows(ipaddress.ip_address("192.168.6.20"))
    assert not opened.allows(ipaddress.ip_address("127.0.0.1"))


async def test_resolving_a_literal_private_address_raises_a_clear_error() -> None:
    with pytest.raises(NetworkNotAllowed) as info:
        await policy().resolve("192.168.0.10")
    assert info.value.code == "network_not_allowed"
    assert "INBOXLINK_ALLOW_PRIVATE_NETWORKS" in info.value.message


async def test_resolving_an_allowed_literal_returns_it() -> None:
    assert await policy("1").resolve("[::1]") == ["::1"]
