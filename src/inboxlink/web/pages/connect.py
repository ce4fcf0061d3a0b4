"""Settings → General → Email → Connect personal email (SPEC P1-P5, P8, P9, P11, §6).

The flow is server-side so it works without JavaScript: every step is a POST to one URL that
carries the non-secret choices so far (automation, address, provider) in hidden fields and
names the step to show next in ``go``. Passwords are only ever posted on the last step and are
never written back into a page.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import JSONResponse, Response

from inboxlink.discovery.ews_url import EwsUrl, check_ews_url
from inboxlink.discovery.recommend import recommend
from inboxlink.domain.enums import Provider
from inboxlink.domain.servers import Security, ServerSettings
from inboxlink.errors import AppError
from inboxlink.services import oauth_connect
from inboxlink.services.connect import ImapConnectRequest, connect_imap_inbox, run_detection
from inboxlink.services.connect_exchange import ExchangeConnectRequest, connect_exchange_inbox
from inboxlink.services.users import check_email
from inboxlink.web.deps import RuntimeDep
from inboxlink.web.pages.common import PageContext, SignedIn, check_csrf, redirect, render

router = APIRouter()

Choice = Literal["gmail", "microsoft", "exchange", "imap"]
CHOICES: dict[Choice, str] = {
    "gmail": "Gmail",
    "microsoft": "Microsoft Outlook",
    "exchange": "Microsoft Exchange",
    "imap": "Other mail provider (IMAP)",
}
RECOMMEND_LABELS: dict[Choice, str] = {
    "gmail": "Connect to Gmail",
    "microsoft": "Connect to Microsoft Outlook",
    "exchange": "Connect to Microsoft Exchange",
    "imap": "Connect to other mail provider (IMAP)",
}
_OAUTH_SHARED = (
    "It also gets access to message headers, subjects and bodies, your contacts and calendar, "
    "distribution lists, aliases, send times, and the links in the emails you track.",
    "Correspondence you track is visible to the other users of your account.",
)
#: What each connection type lets inboxlink read and do (SPEC §6), shown before credentials (P5).
DISCLOSURES: dict[Choice, tuple[str, ...]] = {
    "gmail": (
        "inboxlink will be able to send and receive messages, schedule sends and edit drafts, "
        "and log and track the mail you send.",
        *_OAUTH_SHARED,
        "You can turn the integration off under Settings → Integrations → Email integrations → "
        "Disable, and revoke its access in your Google account at any time.",
    ),
    "microsoft": (
        "inboxlink will be able to send and receive messages, schedule sends and edit drafts, "
        "and log and track the mail you send — the same kinds of data as a Gmail connection.",
        *_OAUTH_SHARED,
        "You can turn the integration off under Settings → Integrations → Email integrations → "
        "Disable, and revoke its access in your Microsoft account (App permissions) at any time.",
    ),
    "exchange": (
        "Email address, password, server information, message metadata and bodies; through "
        "these credentials also calendar, contacts and distribution groups.",
    ),
    "imap": (
        "Only the email address, password, server information, message metadata and bodies; "
        "no other applications of the provider are connected.",
    ),
}
SOURCE_NAMES = {
    "admin": "your account's admin settings",
    "ispdb": "the bundled provider database",
    "autoconfig": "your domain's autoconfiguration file",
    "srv": "your domain's DNS SRV records",
    "mx": "your domain's MX records",
    "probe": "probing likely server names",
}
STEP_TITLES = ("Inbox automation", "Email address", "What we access", "Sign in")
SECURITY_CHOICES = {"ssl": "SSL/TLS", "starttls": "STARTTLS", "none": "None (unencrypted)"}

#: The connection types that sign in with the provider's consent page (P6, P7).
OAUTH_CHOICES: dict[Choice, Provider] = {"gmail": Provider.GMAIL, "microsoft": Provider.MICROSOFT}

FormStr = Annotated[str, Form(max_length=1000)]
OptStr = Annotated[str, Form(max_length=1000)]


@dataclass(frozen=True, slots=True)
class Flow:
    """The non-secret choices carried from step to step in hidden fields."""

    inbox_automation: bool
    email: str
    provider: Choice | None

    def values(self) -> dict[str, Any]:
        return {
            "inbox_automation": self.inbox_automation,
            "email": self.email,
            "provider": self.provider or "",
            "provider_name": CHOICES[self.provider] if self.provider else "",
        }


def _choice(value: str) -> Choice | None:
    return next((choice for choice in CHOICES if choice == value), None)


def _step(
    request: Request,
    page: PageContext,
    step: int,
    flow: Flow,
    *,
    status: int = 200,
    **extra: Any,
) -> Response:
    context = page.template_values(
        section="settings",
        tab="email",
        step=step,
        step_titles=STEP_TITLES,
        flow=flow.values(),
        choices=CHOICES,
        source_names=SOURCE_NAMES,
        security_choices=SECURITY_CHOICES,
        **extra,
    )
    return render(request, "connect.html", context, status=status)


@router.get("/settings/email/connect")
async def connect_start(request: Request, page: SignedIn) -> Response:
    """Step 1 (P2): the inbox automation choice, before anything else is asked."""
    return _step(request, page, 1, Flow(inbox_automation=False, email="", provider=None))


def _port(value: str, default: int) -> int:
    try:
        port = int(value.strip()) if value.strip() else default
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise AppError("invalid_port", f"{value!r} is not a port number (1-65535).", status=422)
    return port


def _security(value: str) -> Security:
    return cast(Security, value) if value in SECURITY_CHOICES else "ssl"


def _server(host: str, port: str, security: str, default_ports: dict[str, int]) -> ServerSettings:
    chosen = _security(security)
    return ServerSettings(host.strip(), _port(port, default_ports[chosen]), chosen)


def _steps_from(raw: str) -> list[dict[str, str]]:
    """Detection steps carried back through a failed submit (display only, never trusted)."""
    try:
        data = json.loads(raw) if raw else []
    except ValueError:
        return []
    if not isinstance(data, list):
        return []
    keys = ("source", "target", "outcome", "detail")
    return [{k: str(item.get(k, "")) for k in keys} for item in data if isinstance(item, dict)][:50]


#: Exchange failures whose fix is in the optional fields (username, Exchange URL, certificate),
#: so the form comes back with them open instead of making the user hunt for them (P8, P11).
EXCHANGE_OPTIONAL_ERRORS = frozenset(
    {
        "autodiscover_failed",
        "ews_url_not_found",
        "invalid_ews_url",
        "auth_failed",
        "certificate_untrusted",
        "ews_unreachable",
        "host_not_found",
        "network_not_allowed",
        "mailbox_not_found",
        "access_denied",
    }
)


@dataclass(frozen=True, slots=True)
class EwsRecommendation:
    """The EWS endpoint to suggest for what the user typed, and why in their own terms."""

    url: str
    reason: str


def ews_recommendation(typed: str) -> EwsRecommendation | None:
    """What to recommend for the *Exchange URL* field (P8), or None.

    None when the field is empty or already an EWS endpoint, and also when it is not a web
    address or is Exchange Online: those are explained when the form is submitted, not while
    the user is still typing. The wording names what was pasted, because the common case is the
    webmail page copied from the browser and users should recognise it.
    """
    try:
        checked = check_ews_url(typed) if typed.strip() else None
    except AppError:
        return None
    if checked is None or checked.recommended is None:
        return None
    return EwsRecommendation(checked.recommended, _recommendation_reason(typed, checked))


def _recommendation_reason(typed: str, checked: EwsUrl) -> str:
    if "/owa" in typed.lower():
        return "this is the Exchange URL that belongs to the webmail page you pasted."
    if "/" in typed.strip().split("://", 1)[-1].rstrip("/"):
        return f"this is the Exchange URL on {checked.host}, the server of the address you entered."
    return f"this is the Exchange URL on {checked.host}, the server you entered."


@router.get("/settings/email/connect/ews-url")
async def ews_url_hint(
    page: SignedIn, url: Annotated[str, Query(max_length=1000)] = ""
) -> JSONResponse:
    """The recommendation for a typed Exchange URL, for the form to show while the user types.

    Only a progressive enhancement: the same recommendation is rendered by the server after a
    submit, so the JSON mirrors ``ews_recommendation`` (one rule, not a copy in JavaScript).
    Exchange Online is reported too, so the pointer to the Microsoft Outlook connection (P8)
    appears before the user has typed a password for nothing. Nothing is fetched from the host.
    """
    del page  # signed-in only: the route answers for the connect form, not for anyone
    recommendation = ews_recommendation(url)
    error: dict[str, str] | None = None
    if recommendation is None and url.strip():
        try:
            check_ews_url(url)
        except AppError as refused:
            if refused.code == "use_microsoft_connection":
                error = {"code": refused.code, "message": refused.message}
    return JSONResponse(
        {
            "recommended_url": recommendation.url if recommendation else None,
            "reason": recommendation.reason if recommendation else None,
            "error": error,
        }
    )


def _exchange_form(
    request: Request,
    page: PageContext,
    flow: Flow,
    form: dict[str, Any],
    *,
    error: AppError | None = None,
    steps: list[dict[str, str]] | None = None,
    notice: str = "",
) -> Response:
    """Step 4 for Exchange: the credentials form, with whatever help the last attempt earned.

    The recommendation is recomputed from the URL in the field on every render (rather than
    carried in a hidden field), so what the page suggests always matches what the user sees.
    """
    recommended_url = error.extra.get("recommended_url") if error else None
    recommendation = ews_recommendation(form["ews_url"])
    if recommendation is None and isinstance(recommended_url, str):
        recommendation = EwsRecommendation(
            recommended_url, "this is where Exchange Web Services usually are on that server."
        )
    status = 200
    if error is not None:
        status = error.status if 400 <= error.status < 500 else 422
    return _step(
        request,
        page,
        4,
        flow,
        exchange=True,
        form=form,
        error=error,
        steps=steps or [],
        recommendation=recommendation,
        notice=notice,
        optional_open=bool(
            form["username"]
            or form["ews_url"]
            or form["trust_any_certificate"]
            or (error is not None and error.code in EXCHANGE_OPTIONAL_ERRORS)
        ),
        status=status,
    )


async def _connect_exchange(
    request: Request,
    page: PageContext,
    runtime: RuntimeDep,
    flow: Flow,
    go: str,
    form: dict[str, Any],
    password: str,
) -> Response:
    """The Exchange form (P8): show it, apply the recommended URL, or verify and save.

    ``use_recommended`` is the no-JavaScript path of the *Use this URL* button: it only puts
    the recommendation into the field, since the password is never sent back to the page and
    the user has to type it again anyway. On success the settings page is told when the URL
    that worked was the recommendation rather than what was pasted, so the dialog can say so.
    """
    if go == "details":
        return _exchange_form(request, page, flow, form)
    if go == "use_recommended":
        recommendation = ews_recommendation(form["ews_url"])
        if recommendation is not None:
            form = {**form, "ews_url": recommendation.url}
        return _exchange_form(
            request,
            page,
            flow,
            form,
            notice="The recommended Exchange URL is filled in. Enter your password and connect.",
        )
    try:
        if not password:
            raise AppError(
                "password_required",
                "Enter the mailbox password. If two-factor authentication is on, create an app "
                "password in your Exchange (Outlook on the web) security settings and use that.",
                status=422,
            )
        inbox = await connect_exchange_inbox(
            runtime,
            page.actor,
            ExchangeConnectRequest(
                email=flow.email,
                password=password,
                username=form["username"],
                ews_url=form["ews_url"],
                trust_any_certificate=form["trust_any_certificate"],
                inbox_automation=flow.inbox_automation,
            ),
        )
    except AppError as error:
        raw_steps = error.extra.get("steps")
        steps = _steps_from(json.dumps(raw_steps)) if isinstance(raw_steps, list) else []
        return _exchange_form(request, page, flow, form, error=error, steps=steps)
    await runtime.scheduler.inbox_changed(inbox.id)
    recommendation = ews_recommendation(form["ews_url"])
    used = bool(recommendation and inbox.settings.get("ews_url") == recommendation.url)
    return redirect(
        f"/settings/email?connected={inbox.id}" + ("&used_recommended_url=1" if used else "")
    )


async def _start_oauth(
    request: Request, page: PageContext, runtime: RuntimeDep, flow: Flow
) -> Response:
    """After the disclosure (P5): send the browser to Google's or Microsoft's consent page.

    The pending authorization (state, PKCE verifier, automation choice, the address as a login
    hint) is kept server-side by ``oauth_connect.start``; the callback page completes it. A
    provider without a client id/secret on this server is explained in place, with what an
    administrator has to set and the IMAP fallback (P11), instead of a dead end.
    """
    assert flow.provider is not None
    try:
        url = await oauth_connect.start(
            runtime,
            page.actor,
            OAUTH_CHOICES[flow.provider],
            email_hint=flow.email,
            inbox_automation=flow.inbox_automation,
            via_api=False,
        )
    except AppError as error:
        if error.code == "provider_not_configured":
            return _step(request, page, 4, flow, not_configured=error)
        return _step(request, page, 2, flow, error=error, status=422)
    return redirect(url)


@router.post("/settings/email/connect")
async def connect_step(
    request: Request,
    page: SignedIn,
    runtime: RuntimeDep,
    csrf_token: FormStr,
    go: FormStr,
    inbox_automation: OptStr = "",
    email: OptStr = "",
    provider: OptStr = "",
    password: OptStr = "",
    username: OptStr = "",
    smtp_same: OptStr = "",
    smtp_username: OptStr = "",
    smtp_password: OptStr = "",
    imap_host: OptStr = "",
    imap_port: OptStr = "",
    imap_security: OptStr = "ssl",
    smtp_host: OptStr = "",
    smtp_port: OptStr = "",
    smtp_security: OptStr = "starttls",
    trust_any_certificate: OptStr = "",
    ews_url: OptStr = "",
    detected_source: OptStr = "",
    detected_steps: Annotated[str, Form(max_length=100_000)] = "",
) -> Response:
    """Show the step named by ``go``; the last one (``connect``) verifies and saves (P8, P9)."""
    check_csrf(request, csrf_token)
    flow = Flow(bool(inbox_automation), email.strip(), _choice(provider))

    if go == "address" or (go != "automation" and not flow.email):
        return _step(request, page, 2, flow)
    if go == "automation":
        return _step(request, page, 1, flow)

    if go == "choose" or flow.provider is None:
        try:
            address = check_email(flow.email)
            recommendation = await recommend(address, runtime.resolver)
        except AppError as error:
            return _step(request, page, 2, flow, error=error, status=422)
        flow = Flow(flow.inbox_automation, address, flow.provider)
        recommended = _choice(recommendation.provider)
        return _step(
            request,
            page,
            2,
            flow,
            choosing=True,
            recommendation=recommendation,
            recommended=recommended,
            recommend_label=RECOMMEND_LABELS[recommended] if recommended else "",
        )

    if go == "disclosure":
        return _step(request, page, 3, flow, disclosure=DISCLOSURES[flow.provider])

    if flow.provider in OAUTH_CHOICES:
        return await _start_oauth(request, page, runtime, flow)
    if flow.provider == "exchange":
        exchange_form = {
            "username": username.strip(),
            "ews_url": ews_url.strip(),
            "trust_any_certificate": bool(trust_any_certificate),
        }
        return await _connect_exchange(request, page, runtime, flow, go, exchange_form, password)

    if go == "details":
        try:
            detection = await run_detection(runtime, page.actor, flow.email)
        except AppError as error:
            return _step(request, page, 2, flow, error=error, status=422)
        if detection.provider == "unsupported":
            return _step(request, page, 4, flow, unsupported=detection.message)
        form = {
            "username": (detection.imap.username if detection.imap else "") or "",
            "smtp_same": True,
            "trust_any_certificate": False,
            "imap": detection.imap.as_dict() if detection.imap else None,
            "smtp": detection.smtp.as_dict() if detection.smtp else None,
        }
        steps = [s.to_dict() for s in detection.steps]
        return _step(
            request,
            page,
            4,
            flow,
            form=form,
            source=detection.source or "",
            steps=steps,
            steps_json=json.dumps(steps),
        )

    # go == "connect": verify both servers, then save (nothing is stored on failure).
    same = bool(smtp_same)
    steps = _steps_from(detected_steps)
    form = {
        "username": username.strip(),
        "smtp_same": same,
        "smtp_username": smtp_username.strip(),
        "trust_any_certificate": bool(trust_any_certificate),
        "imap": {"host": imap_host.strip(), "port": imap_port.strip(), "security": imap_security},
        "smtp": {"host": smtp_host.strip(), "port": smtp_port.strip(), "security": smtp_security},
    }
    try:
        if not password:
            raise AppError(
                "password_required",
                "Enter the mailbox password. If two-factor authentication is on, create an app "
                "password in your mail account's security settings and use that.",
                status=422,
            )
        imap = (
            _server(imap_host, imap_port, imap_security, {"ssl": 993, "starttls": 143, "none": 143})
            if imap_host.strip()
            else None
        )
        smtp = (
            _server(smtp_host, smtp_port, smtp_security, {"ssl": 465, "starttls": 587, "none": 25})
            if smtp_host.strip()
            else None
        )
        connect_request = ImapConnectRequest(
            email=flow.email,
            password=password,
            username=username.strip(),
            imap=imap,
            smtp=smtp,
            smtp_uses_imap_credentials=same,
            smtp_username=smtp_username.strip() if not same else "",
            smtp_password=smtp_password if not same else "",
            trust_any_certificate=bool(trust_any_certificate),
            inbox_automation=flow.inbox_automation,
        )
        inbox = await connect_imap_inbox(runtime, page.actor, connect_request)
    except AppError as error:
        extra_steps = error.extra.get("steps")
        if isinstance(extra_steps, list) and extra_steps:
            steps = _steps_from(json.dumps(extra_steps))
        return _step(
            request,
            page,
            4,
            flow,
            form=form,
            error=error,
            source=detected_source,
            steps=steps,
            steps_json=json.dumps(steps),
            status=error.status if 400 <= error.status < 500 else 422,
        )
    await runtime.scheduler.inbox_changed(inbox.id)
    return redirect(f"/settings/email?connected={inbox.id}")
