"""The shape detection reports, and the HTTPS fetcher's refusals that need no network."""

from __future__ import annotations

import pytest

from inboxlink.config import Settings
from inboxlink.discovery.model import Detection, Step
from inboxlink.discovery.safe_http import FetchError, fetch_https
from inboxlink.domain.servers import ServerSettings
from inboxlink.net.dns import Resolver
from inboxlink.net.policy import NetworkPolicy


def test_detection_to_dict_has_exactly_the_documented_keys() -> None:
    detection = Detection(
        provider="imap",
        imap=ServerSettings("imap.example.com", 993, "ssl", "jane@example.com"),
        smtp=None,
        source="ispdb",
        steps=(Step("ispdb", "example.com", "found", "Example", "ignored_code"),),
        message="Found.",
    )
    assert detection.to_dict() == {
        "provider": "imap",
        "imap": {
            "host": "imap.example.com",
            "port": 993,
            "security": "ssl",
            "username": "jane@example.com",
        },
        "smtp": None,
        "source": "ispdb",
        "steps": [
            {"source": "ispdb", "target": "example.com", "outcome": "found", "detail": "Example"}
        ],
        "message": "Found.",
    }


@pytest.mark.parametrize(
    "url", ["http://example.com/config.xml", "https://example.com:8443/config.xml", "file:///x"]
)
async def test_fetch_refuses_anything_but_https_on_443(url: str) -> None:
    settings = Settings(dns_nameservers="127.0.0.1:9")
    policy = NetworkPolicy(settings, Resolver(settings))
    with pytest.raises(FetchError):
        await fetch_https(url, settings=settings, policy=policy, max_bytes=100)
