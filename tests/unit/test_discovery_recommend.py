"""Provider recommendation without DNS: well-known domains, MX patterns, bad addresses."""

from __future__ import annotations

import pytest

from inboxlink.config import Settings
from inboxlink.discovery.recommend import classify_mx, recommend, well_known
from inboxlink.errors import AppError
from inboxlink.net.dns import Resolver

#: A resolver pointed at the discard port: recommending a well-known domain must not use it.
UNUSED_RESOLVER = Resolver(Settings(dns_nameservers="127.0.0.1:9", dns_timeout_seconds=0.1))


@pytest.mark.parametrize(
    ("domain", "kind"),
    [
        ("gmail.com", "gmail"),
        ("googlemail.com", "gmail"),
        ("outlook.com", "microsoft"),
        ("outlook.de", "microsoft"),
        ("hotmail.co.uk", "microsoft"),
        ("live.com", "microsoft"),
        ("live.fr", "microsoft"),
        ("msn.com", "microsoft"),
        ("acme.com", None),
        ("gmail.com.evil.test", None),
        ("notgmail.com", None),
    ],
)
def test_well_known_domains(domain: str, kind: str | None) -> None:
    assert well_known(domain) == kind


@pytest.mark.parametrize(
    ("mx_hosts", "kind"),
    [
        (("aspmx.l.google.com", "alt1.aspmx.l.google.com"), "gmail"),
        (("smtp.googlemail.com",), "gmail"),
        (("acme-com.mail.protection.outlook.com",), "microsoft"),
        (("inbound-smtp.eu-west-1.amazonaws.com",), "unsupported"),
        (("mx.mail.awsapps.example",), "unsupported"),
        (("mx.acme.com",), None),
        (("google.com.evil.test",), None),
        ((), None),
    ],
)
def test_mx_patterns(mx_hosts: tuple[str, ...], kind: str | None) -> None:
    assert classify_mx(mx_hosts) == kind


async def test_well_known_domain_needs_no_dns() -> None:
    result = await recommend("Jane.Doe@GMail.com", UNUSED_RESOLVER)
    assert (result.provider, result.reason, result.mx_hosts) == ("gmail", "well_known_domain", ())
    assert result.message == "Connect to Gmail."
    assert (await recommend("a@hotmail.com", UNUSED_RESOLVER)).message == (
        "Connect to Microsoft Outlook."
    )


@pytest.mark.parametrize("email", ["", "jane", "jane@", "@example.com", "jane@@example.com"])
async def test_invalid_address(email: str) -> None:
    with pytest.raises(AppError) as raised:
        await recommend(email, UNUSED_RESOLVER)
    assert raised.value.code == "invalid_email"
