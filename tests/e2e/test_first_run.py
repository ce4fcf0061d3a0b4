"""First run in a real browser: set-up, sign in, Settings → General → Email empty state."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from tests.support.browser import screenshot
from tests.support.live_server import LiveServer


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    live = LiveServer(tmp_path)
    live.start()
    yield live
    live.stop()


def test_first_run_setup_login_and_empty_email_settings(page: Page, server: LiveServer) -> None:
    page.goto(server.url)
    expect(page).to_have_url(f"{server.url}/setup")
    expect(page.get_by_role("heading", name="Welcome to inboxlink")).to_be_visible()
    screenshot(page, "first-run-setup")

    page.get_by_label("Company name").fill("Acme")
    page.get_by_label("Your name").fill("Jane Doe")
    page.get_by_label("Your email address").fill("jane@acme.test")
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Create account").click()
    # The browser's own minlength check keeps the form; the server would refuse too.
    expect(page).to_have_url(f"{server.url}/setup")

    page.get_by_label("Password").fill("a long enough password")
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(f"{server.url}/settings/email")
    expect(page.get_by_text("No personal inbox connected yet.")).to_be_visible()
    expect(page.get_by_role("link", name="Connect personal email")).to_be_visible()
    screenshot(page, "settings-email-empty")

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{server.url}/login")
    page.get_by_label("Email address").fill("jane@acme.test")
    page.get_by_label("Password").fill("wrong password!")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not right")
    screenshot(page, "login-failed")

    page.get_by_label("Password").fill("a long enough password")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{server.url}/settings/email")

    # The set-up form is gone once the account exists.
    page.goto(f"{server.url}/setup")
    expect(page).to_have_url(f"{server.url}/login")


def test_pages_work_at_phone_width(page: Page, server: LiveServer) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{server.url}/setup")
    page.get_by_label("Company name").fill("Acme")
    page.get_by_label("Your name").fill("Jane")
    page.get_by_label("Your email address").fill("jane@acme.test")
    page.get_by_label("Password").fill("a long enough password")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{server.url}/settings/email")
    page.get_by_role("link", name="Contacts").click()
    page.get_by_label("Email").fill("bob@example.com")
    page.get_by_role("button", name="Add contact").click()
    expect(page.get_by_role("heading", name="bob@example.com")).to_be_visible()
    screenshot(page, "contact-phone")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390


def test_a_form_post_without_csrf_token_is_refused(server: LiveServer) -> None:
    import httpx

    response = httpx.post(
        f"{server.url}/setup",
        data={
            "csrf_token": "forged",
            "account_name": "x",
            "name": "x",
            "email": "x@y.co",
            "password": "long enough pw",
        },
    )
    assert response.status_code == 403
    assert "expired" in response.text
