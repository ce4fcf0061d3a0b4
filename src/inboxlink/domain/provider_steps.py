"""What a user does at the provider to finish disconnecting (SPEC D4), per provider kind."""

from __future__ import annotations

from inboxlink.domain.enums import Provider

_STEPS: dict[Provider, list[str]] = {
    Provider.GMAIL: [
        "Open your Google Account settings and go to Security.",
        "Under 'Third-party apps with account access', choose 'Manage third-party access'.",
        "Select inboxlink and choose 'Remove access'.",
    ],
    Provider.MICROSOFT: [
        "Office 365: open your account settings, go to 'App permissions', choose 'Change app "
        "permissions', find inboxlink and choose 'Revoke'.",
        "Free Outlook.com address: sign in, open 'Apps and services you've given access', find "
        "inboxlink, choose 'Edit', then 'Remove these permissions'.",
    ],
    Provider.EXCHANGE: [
        "Ask your mailbox's IT department to end inboxlink's access; if you used an app "
        "password, delete it in your account's security settings.",
    ],
    Provider.IMAP: [
        "inboxlink has deleted the password it kept. If you created an app password for "
        "inboxlink, delete it in your mail account's security settings; otherwise ask your "
        "mailbox's IT department, or change the password.",
    ],
}


def provider_side_steps(provider: Provider) -> list[str]:
    return list(_STEPS[provider])
