"""Browser steps shared by the end-to-end tests: set up the account, sign in, connect inboxes.

Kept in one place so every test walks the same screens with the same labels: when a label in
the product changes, one helper changes with it instead of a copy in every test file.
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from tests.support.browser import screenshot
from tests.support.dns_server import DnsServer
from tests.support.dovecot import Dovecot
from tests.support.live_server import LiveServer
from tests.support.mail_fixtures import MailboxUser, MailPki
from tests.support.postfix import Postfix

ADMIN_EMAIL = "jane@acme.test"
ADMIN_PASSWORD = "a long enough password"


def mail_server_env(mail_ca: MailPki, dns_server: DnsServer) -> dict[str, str]:
    """Settings for a live server that reaches the local Dovecot/Postfix and the local DNS.

    ``dns_server`` must already be started; it answers only from its own records, so
    detection for ``example.test`` fails quickly instead of asking the internet.
    """
    return {
        "INBOXLINK_ALLOW_PRIVATE_NETWORKS": "1",
        "INBOXLINK_EXTRA_CA_FILE": str(mail_ca.ca_file),
        "INBOXLINK_DNS_NAMESERVERS": dns_server.nameserver,
        "INBOXLINK_PROBE_TIMEOUT_SECONDS": "1",
    }


def start_server(data_dir: Path, env: dict[str, str]) -> LiveServer:
    live = LiveServer(data_dir, env=env)
    live.start()
    return live


def set_up_account(page: Page, server: LiveServer) -> None:
    """First run: create the account and its super admin, landing on the Email settings."""
    page.goto(f"{server.url}/setup")
    page.get_by_label("Company name").fill("Acme")
    page.get_by_label("Your name").fill("Jane Doe")
    page.get_by_label("Your email address").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(f"{server.url}/settings/email")


def sign_in(page: Page, server: LiveServer, email: str, password: str) -> None:
    page.goto(f"{server.url}/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{server.url}/settings/email")


def enter_address(page: Page, email: str, shots: str = "") -> None:
    """Steps 1-2 of the connect flow: automation on, then the address (P2, P3)."""
    page.get_by_role("link", name="Connect personal email").click()
    expect(page.get_by_label("Turn on inbox automation")).to_be_visible()
    if shots:
        screenshot(page, f"{shots}-1-automation")
    page.get_by_label("Turn on inbox automation").check()
    page.get_by_role("button", name="Connect your inbox").click()

    page.get_by_label("Email address").fill(email)
    if shots:
        screenshot(page, f"{shots}-2-address")
    page.get_by_role("button", name="Continue").click()


def open_imap_form(page: Page, email: str, shots: str = "") -> None:
    """Steps 1-3 of the connect flow, ending on the IMAP credentials form."""
    enter_address(page, email, shots)
    # example.test is unknown to DNS: the four choices are offered.
    for choice in ("Gmail", "Microsoft Outlook", "Microsoft Exchange"):
        expect(page.get_by_role("button", name=choice, exact=True)).to_be_visible()
    if shots:
        screenshot(page, f"{shots}-3-choose")
    page.get_by_role("button", name="Other mail provider (IMAP)").click()

    expect(
        page.get_by_text(
            "Only the email address, password, server information, message metadata and "
            "bodies; no other applications of the provider are connected."
        )
    ).to_be_visible()
    if shots:
        screenshot(page, f"{shots}-4-disclosure")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_label("Password", exact=True)).to_be_visible()


def fill_servers(page: Page, dovecot: Dovecot, postfix: Postfix) -> None:
    """Advanced options: the local Dovecot and Postfix, both with STARTTLS."""
    advanced = page.locator("details.advanced")
    if advanced.get_attribute("open") is None:
        page.get_by_text("Advanced options").click()
    expect(
        page.get_by_label("Outgoing mail (SMTP) uses the same credentials as incoming (IMAP)")
    ).to_be_checked()
    page.get_by_label("IMAP host").fill("127.0.0.1")
    page.get_by_label("IMAP port").fill(str(dovecot.imap_port))
    page.get_by_label("IMAP security").select_option("starttls")
    page.get_by_label("SMTP host").fill("127.0.0.1")
    page.get_by_label("SMTP port").fill(str(postfix.smtp_port))
    page.get_by_label("SMTP security").select_option("starttls")


def connect_imap_inbox(
    page: Page, server: LiveServer, dovecot: Dovecot, postfix: Postfix, user: MailboxUser
) -> None:
    """The whole IMAP flow without screenshots, for tests that need a connected inbox."""
    page.goto(f"{server.url}/settings/email")
    open_imap_form(page, user.email)
    page.get_by_label("Password", exact=True).fill(user.password)
    fill_servers(page, dovecot, postfix)
    page.get_by_role("button", name="Connect your inbox").click()
    expect(page.get_by_role("dialog", name="Your inbox is connected")).to_be_visible()
    page.get_by_role("button", name="Done").click()


def inbox_row(page: Page, email: str) -> Locator:
    """The inbox's entry in Settings → General → Email."""
    return page.locator("li.inbox").filter(has_text=email)


EXCHANGE_DISCLOSURE = (
    "Email address, password, server information, message metadata and bodies; through these "
    "credentials also calendar, contacts and distribution groups."
)


def open_exchange_form(
    page: Page, email: str, shots: str = "", *, recommended: bool = False
) -> None:
    """Steps 1-3 of the connect flow for on-premises Exchange, ending on its credentials form.

    ``recommended``: the domain has an ``_autodiscover._tcp`` SRV record, so "Connect to
    Microsoft Exchange" is offered first (P3); otherwise the user picks it from the four choices.
    """
    enter_address(page, email, shots)
    if recommended:
        choice = page.get_by_role("button", name="Connect to Microsoft Exchange")
    else:
        expect(page.get_by_role("group", name="Who provides this mailbox?")).to_be_visible()
        choice = page.get_by_role("button", name="Microsoft Exchange", exact=True)
    expect(choice).to_be_visible()
    if shots:
        screenshot(page, f"{shots}-3-choose")
    choice.click()
    expect(page.get_by_text(EXCHANGE_DISCLOSURE)).to_be_visible()  # P5, §6
    if shots:
        screenshot(page, f"{shots}-4-disclosure")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_label("Password", exact=True)).to_be_visible()


def show_optional_fields(page: Page) -> None:
    """Open *Show optional fields* on the Exchange form unless the page already opened it."""
    optional = page.locator("details#optional-fields")
    if optional.get_attribute("open") is None:
        page.get_by_text("Show optional fields").click()
    expect(page.get_by_label("Exchange URL")).to_be_visible()


def open_channels(page: Page, server: LiveServer, shots: str = "") -> None:
    """Conversations → Inbox → Inbox settings (bottom left) → Channels (T3), as an admin."""
    page.goto(f"{server.url}/settings/email")
    page.get_by_role("link", name="Conversations", exact=True).click()
    sidebar = page.get_by_role("complementary", name="Conversations")
    expect(sidebar.get_by_role("heading", name="Inbox")).to_be_visible()
    if shots:
        screenshot(page, f"{shots}-inbox")
    sidebar.get_by_role("link", name="Inbox settings").click()
    page.get_by_role("navigation", name="Inbox settings").get_by_role(
        "link", name="Channels"
    ).click()
    expect(page.get_by_role("heading", name="Channels", exact=True)).to_be_visible()
    if shots:
        screenshot(page, f"{shots}-channels")


def start_team_connect(
    page: Page, email: str, destination: str, provider: str, shots: str = ""
) -> None:
    """On Channels: destination, address, the provider (the domain is unknown to DNS), the
    disclosure (P5) and Continue, ending on the provider's consent page."""
    form = page.get_by_role("region", name="Connect team email")
    form.get_by_role("radio", name=destination).check()
    form.get_by_label("Team email address").fill(email)
    form.get_by_role("button", name="Next").click()
    form.get_by_role("radio", name=provider, exact=True).check()
    if shots:
        screenshot(page, f"{shots}-provider")
    form.get_by_role("button", name="Next").click()
    expect(form).to_contain_text(f"Connect to {provider}")
    expect(form).to_contain_text(f"{email} to the {destination.lower()}")
    expect(form.get_by_role("heading", name="What inboxlink will access")).to_be_visible()
    if shots:
        screenshot(page, f"{shots}-disclosure")
    form.get_by_role("button", name="Continue").click()


def team_channel_row(page: Page, email: str) -> Locator:
    """The channel's entry on Conversations → Inbox settings → Channels."""
    return page.get_by_role("list", name="Team channels").get_by_role("listitem", name=email)
