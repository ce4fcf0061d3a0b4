"""Connecting a personal on-premises Exchange inbox (P8, P11): find EWS, verify, then save.

Without an Exchange URL, Autodiscover finds it; when that fails the user is asked for the
username and Exchange URL (the optional fields), with every step tried. A pasted webmail
(OWA) address or bare host is corrected to the EWS endpoint on that host, which is probed and
used when it answers. Nothing is stored unless sign-in, the version check and both folders
succeed; the password goes only into the vault.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from inboxlink.connectors import exchange_options
from inboxlink.discovery.autodiscover import autodiscover
from inboxlink.discovery.ews_url import EwsUrl, check_ews_url
from inboxlink.domain.enums import Provider
from inboxlink.domain.permissions import Actor
from inboxlink.errors import AppError
from inboxlink.providers.base import AccountInfo
from inboxlink.providers.errors import ConnectorError
from inboxlink.providers.exchange import ExchangeConnector, ExchangeSetup
from inboxlink.providers.exchange_errors import auth_failed
from inboxlink.runtime import Runtime
from inboxlink.services.connect import NewInbox, check_address_free, save_inbox
from inboxlink.services.users import check_email
from inboxlink.store.tables import Inbox

#: Failures meaning "no EWS here" (rather than "EWS here, but something else is wrong").
_NOT_HERE = frozenset({"ews_url_not_found", "ews_unreachable"})


@dataclass(frozen=True, slots=True)
class ExchangeConnectRequest:
    email: str
    password: str
    username: str = ""
    ews_url: str = ""
    trust_any_certificate: bool = False
    inbox_automation: bool = False

    def __repr__(self) -> str:  # keep the password out of logs and tracebacks
        return f"ExchangeConnectRequest(email={self.email!r}, ews_url={self.ews_url!r})"


async def _verify(runtime: Runtime, setup: ExchangeSetup) -> tuple[AccountInfo, str]:
    connector = ExchangeConnector(setup, runtime.policy, exchange_options(runtime))
    try:
        return await connector.verify(), connector.server_build
    finally:
        await connector.close()


async def _find_ews(runtime: Runtime, email: str, username: str, password: str) -> str:
    found = await autodiscover(
        email,
        username=username,
        password=password,
        settings=runtime.settings,
        policy=runtime.policy,
        resolver=runtime.resolver,
    )
    if found.ews_url is None and any(step.credentials_refused for step in found.steps):
        raise auth_failed()
    if found.ews_url is None:
        raise AppError(
            "autodiscover_failed",
            f"Autodiscover could not find the Exchange server for {email}. Open Show optional "
            "fields and enter your username and the Exchange URL (it usually looks like "
            "https://mail.your-company.com/EWS/Exchange.asmx; your IT department knows it). "
            "If your phone reaches this mailbox through Exchange ActiveSync, that is not a way "
            "inboxlink can connect: ask IT for the Exchange (EWS) URL and use it here.",
            status=422,
            steps=[step.to_dict() for step in found.steps],
        )
    return found.ews_url


async def _verify_typed(
    runtime: Runtime, setup: ExchangeSetup, typed: EwsUrl
) -> tuple[ExchangeSetup, AccountInfo, str]:
    """Verify a URL the user typed; a non-EWS one is replaced by its recommendation when that
    answers, and otherwise refused with the recommendation to show in the form."""
    if typed.recommended is None:
        setup = replace(setup, ews_url=typed.url)
        return (setup, *await _verify(runtime, setup))
    recommended = replace(setup, ews_url=typed.recommended)
    try:
        return (recommended, *await _verify(runtime, recommended))
    except ConnectorError as error:
        if error.code not in _NOT_HERE:
            raise  # EWS is there; the password, certificate or version is the problem
    if typed.url.startswith("https://"):  # perhaps EWS on an unusual path after all
        as_typed = replace(setup, ews_url=typed.url)
        try:
            return (as_typed, *await _verify(runtime, as_typed))
        except ConnectorError as error:
            if error.code not in _NOT_HERE:
                raise
    raise AppError(
        "ews_url_not_found",
        f"{typed.url} is not an Exchange Web Services address, and {typed.recommended} did not "
        "answer either. Check the address with your IT department; it usually ends in "
        "/EWS/Exchange.asmx.",
        status=422,
        recommended_url=typed.recommended,
    )


async def connect_exchange_inbox(
    runtime: Runtime, actor: Actor, request: ExchangeConnectRequest
) -> Inbox:
    email = check_email(request.email)
    await check_address_free(runtime, actor, email)
    username = request.username.strip() or email
    typed = request.ews_url.strip()
    if not typed:
        typed = await _find_ews(runtime, email, username, request.password)
    # Exchange Online (typed or found by Autodiscover) is refused here with a pointer to P7.
    checked = check_ews_url(typed)
    setup = ExchangeSetup(
        ews_url=checked.url,
        email=email,
        username=username,
        password=request.password,
        trust_any_certificate=request.trust_any_certificate,
    )
    setup, info, build = await _verify_typed(runtime, setup, checked)
    return await save_inbox(
        runtime,
        actor,
        NewInbox(
            email=email,
            provider=Provider.EXCHANGE,
            settings={
                "ews_url": setup.ews_url,
                "username": setup.username,
                "trust_any_certificate": setup.trust_any_certificate,
                "folders": [{"name": f.name, "role": f.role} for f in info.folders],
            },
            secrets={"username": setup.username, "password": setup.password},
            aliases=info.aliases,
            inbox_automation=request.inbox_automation,
            detail=f"Exchange {build} at {setup.ews_url}",
        ),
    )
