"""Exchange emulators as pytest fixtures: each on port 443 of its own random loopback address
(tests run as root), with a certificate from the discovery CA (or self-signed, untrusted).

Tests map the test domain's names to ``emulator.address`` in their dnsmasq, so the product
finds the server exactly as it would in production: Autodiscover URLs, SRV, the EWS host.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.emulators.ews import EwsEmulator
from tests.support.certs import CertificateAuthority, self_signed
from tests.support.discovery_fixtures import loopback_address

StartEws = Callable[..., EwsEmulator]


@pytest.fixture
def start_ews(tmp_path: Path, discovery_ca: CertificateAuthority) -> Iterator[StartEws]:
    """``start_ews(names, version=…, trusted=…, host=…)``: a running emulator whose
    certificate covers ``names`` (the EWS host and the Autodiscover names it answers for)."""
    started: list[EwsEmulator] = []

    def start(
        names: list[str],
        *,
        version: str = "Exchange2016",
        trusted: bool = True,
        host: str = "mail.acme.test",
    ) -> EwsEmulator:
        directory = tmp_path / f"ews-{len(started)}"
        directory.mkdir()
        issue = discovery_ca.issue if trusted else self_signed
        emulator = EwsEmulator(
            loopback_address(), issue(directory, names), host=host, version=version
        )
        started.append(emulator.start())
        return emulator

    yield start
    for emulator in started:
        emulator.stop()
