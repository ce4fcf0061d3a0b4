"""The bundled provider database and the script that generates it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from inboxlink.discovery.providerdb import bundled_database

REPO = Path(__file__).resolve().parents[2]
ISPDB = REPO.parent / "shared" / "ispdb"
BUNDLED = REPO / "src" / "inboxlink" / "discovery" / "data" / "providers.json"


def test_finds_providers_by_email_domain() -> None:
    database = bundled_database()
    gmail = database.by_domain("googlemail.com")
    assert gmail is not None and gmail.id == "googlemail.com"
    assert [s.host for s in gmail.imap] == ["imap.gmail.com"]
    assert database.by_domain("GMX.NET.") is not None
    assert database.by_domain("no-such-provider.test") is None


@pytest.mark.parametrize(
    ("mx_host", "provider_id"),
    [
        ("mx.zoho.eu", "zoho.eu"),
        ("contoso-com.mail.protection.outlook.com", "office365.com"),
        ("aspmx.l.google.com", "googlemail.com"),
        ("mx00.kundenserver.de", "1und1.de"),
    ],
)
def test_finds_providers_by_mx_host(mx_host: str, provider_id: str) -> None:
    provider = bundled_database().by_mx_host(mx_host)
    assert provider is not None and provider.id == provider_id


def test_an_mx_host_in_no_known_domain_finds_nothing() -> None:
    assert bundled_database().by_mx_host("mx.unknown-host.test") is None
    assert bundled_database().by_mx_host("com") is None


def test_every_provider_has_a_server_and_no_pop3() -> None:
    text = BUNDLED.read_text()
    assert "pop3" not in text and '"995"' not in text
    database = bundled_database()
    provider = database.by_domain("yahoo.com")
    assert provider is not None and provider.imap and provider.smtp


@pytest.mark.skipif(not ISPDB.is_dir(), reason="the ISP database snapshot is not available")
def test_bundled_file_is_what_the_script_generates(tmp_path: Path) -> None:
    output = tmp_path / "providers.json"
    script = REPO / "scripts" / "build_provider_db.py"
    subprocess.run([sys.executable, script, ISPDB, "--output", output], check=True)
    assert output.read_text() == BUNDLED.read_text()
    assert (tmp_path / "LICENSE.MPL-2.0").read_text().startswith("Mozilla Public License")
