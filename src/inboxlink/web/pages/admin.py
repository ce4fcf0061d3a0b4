"""Settings → General → Account email settings (super admins and account-access users).

IMAP/SMTP settings per domain (the first source of detection, P9), the never-log list and the
logging policy. Everyone else gets the 403 page: the check runs before anything is read.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from inboxlink.domain.enums import LoggingPolicy
from inboxlink.domain.permissions import can_manage_account_settings
from inboxlink.domain.servers import Security, ServerSettings
from inboxlink.errors import AppError, Forbidden
from inboxlink.services import account_settings
from inboxlink.web.deps import Db
from inboxlink.web.pages.common import PageContext, SignedIn, check_csrf, redirect, render

router = APIRouter()

CsrfField = Annotated[str, Form(max_length=200)]
Field = Annotated[str, Form(max_length=320)]
SECURITY_CHOICES = {"ssl": "SSL/TLS", "starttls": "STARTTLS", "none": "None (unencrypted)"}
POLICY_NAMES = {
    LoggingPolicy.ALL_CONTACT_MAIL.value: "All correspondence with contacts",
    LoggingPolicy.REPLIES_ONLY.value: "Only replies to emails sent from or logged in the CRM",
}
DONE_MESSAGES = {
    "domain-saved": "Domain settings saved.",
    "domain-deleted": "Domain settings deleted.",
    "never-log-added": "Added to the never-log list.",
    "never-log-removed": "Removed from the never-log list.",
    "policy-saved": "Logging policy saved.",
}


def _require_admin(page: PageContext) -> None:
    if not can_manage_account_settings(page.actor):
        raise Forbidden(
            "Only super admins and users with the account access permission manage the "
            "account's email settings."
        )


async def _account_page(
    request: Request, page: PageContext, db: Db, *, status: int = 200, **extra: Any
) -> Response:
    context = page.template_values(
        section="settings",
        tab="account",
        domains=await account_settings.list_domain_settings(db, page.actor),
        never_log=await account_settings.never_log_list(db, page.actor),
        policy=(await account_settings.logging_policy(db, page.actor)).value,
        policy_names=POLICY_NAMES,
        security_choices=SECURITY_CHOICES,
        notification_email=bool(request.app.state.runtime.settings.smtp_url),
        **extra,
    )
    return render(request, "settings_account.html", context, status=status)


@router.get("/settings/account")
async def account_page(
    request: Request,
    page: SignedIn,
    db: Db,
    done: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    _require_admin(page)
    return await _account_page(request, page, db, done=DONE_MESSAGES.get(done or ""))


def _server(host: str, port: str, security: str, what: str) -> ServerSettings:
    chosen: Security = (
        "starttls" if security == "starttls" else "none" if security == "none" else "ssl"
    )
    try:
        number = int(port.strip())
    except ValueError:
        number = 0
    if not host.strip() or not 1 <= number <= 65535:
        raise AppError(
            "invalid_server",
            f"Enter the {what} host name and a port number (1-65535).",
            status=422,
        )
    return ServerSettings(host.strip().lower(), number, chosen)


@router.post("/settings/account/domains")
async def save_domain(
    request: Request,
    page: SignedIn,
    db: Db,
    csrf_token: CsrfField,
    domain: Field,
    imap_host: Field,
    imap_port: Field,
    smtp_host: Field,
    smtp_port: Field,
    imap_security: Field = "ssl",
    smtp_security: Field = "starttls",
) -> Response:
    """Create or replace one domain's servers; connecting users of it get them pre-filled."""
    check_csrf(request, csrf_token)
    _require_admin(page)
    values = {
        "domain": domain,
        "imap_host": imap_host,
        "imap_port": imap_port,
        "imap_security": imap_security,
        "smtp_host": smtp_host,
        "smtp_port": smtp_port,
        "smtp_security": smtp_security,
    }
    try:
        imap = _server(imap_host, imap_port, imap_security, "IMAP")
        smtp = _server(smtp_host, smtp_port, smtp_security, "SMTP")
        await account_settings.save_domain_settings(db, page.actor, domain, imap, smtp)
    except AppError as error:
        return await _account_page(
            request, page, db, domain_error=error, domain_values=values, status=error.status
        )
    await db.commit()
    return redirect("/settings/account?done=domain-saved#domains")


@router.post("/settings/account/domains/{settings_id}/delete")
async def delete_domain(
    request: Request, settings_id: int, page: SignedIn, db: Db, csrf_token: CsrfField
) -> Response:
    check_csrf(request, csrf_token)
    _require_admin(page)
    await account_settings.delete_domain_settings(db, page.actor, settings_id)
    await db.commit()
    return redirect("/settings/account?done=domain-deleted#domains")


@router.post("/settings/account/never-log")
async def add_never_log(
    request: Request, page: SignedIn, db: Db, csrf_token: CsrfField, entry: Field
) -> Response:
    check_csrf(request, csrf_token)
    _require_admin(page)
    try:
        await account_settings.add_never_log(db, page.actor, entry)
    except AppError as error:
        return await _account_page(
            request, page, db, never_log_error=error, never_log_value=entry, status=error.status
        )
    await db.commit()
    return redirect("/settings/account?done=never-log-added#never-log")


@router.post("/settings/account/never-log/remove")
async def remove_never_log(
    request: Request, page: SignedIn, db: Db, csrf_token: CsrfField, entry: Field
) -> Response:
    check_csrf(request, csrf_token)
    _require_admin(page)
    await account_settings.remove_never_log(db, page.actor, entry)
    await db.commit()
    return redirect("/settings/account?done=never-log-removed#never-log")


@router.post("/settings/account/logging-policy")
async def save_policy(
    request: Request,
    page: SignedIn,
    db: Db,
    csrf_token: CsrfField,
    policy: Annotated[LoggingPolicy, Form()],
) -> Response:
    check_csrf(request, csrf_token)
    _require_admin(page)
    await account_settings.set_logging_policy(db, page.actor, policy)
    await db.commit()
    return redirect("/settings/account?done=policy-saved#logging-policy")
