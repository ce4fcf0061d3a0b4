"""An Outlook / Office 365 mailbox over Microsoft Graph (v1.0), as a ``Connector``.

Sync is Graph's per-folder delta query: the checkpoint is the ``@odata.nextLink`` or
``@odata.deltaLink`` valid after a page, so a crash resumes within a round. A delta token
Graph has forgotten (410 Gone, ``syncStateNotFound``) restarts the folder from scratch; the
engine upserts by provider id and Message-ID, so nothing is logged twice.

``sendMail`` files the message in Sent Items itself, so ``save_to_sent`` has nothing to do, and
Microsoft has no per-application revocation endpoint, so ``revoke`` has nothing to call (the
user withdraws the grant in their account: SPEC D4).
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from inboxlink.clock import utcnow
from inboxlink.config import Settings
from inboxlink.mail.headers import HeaderInfo, Mailbox, normalize_email, parse_headers
from inboxlink.mail.outgoing import OutgoingMessage
from inboxlink.providers.base import (
    AccountInfo,
    Address,
    Batch,
    Checkpoint,
    Folder,
    ScannedMessage,
    SentRef,
)
from inboxlink.providers.errors import ConnectorError
from inboxlink.providers.microsoft import GraphHttp
from inboxlink.providers.oauth import TokenKeeper

#: Graph's well-known folder names double as the folders' stored names.
FOLDERS = (Folder("inbox", "inbox"), Folder("sentitems", "sent"))
#: How often ``wait_for_change`` asks the delta query whether anything happened.
POLL_SECONDS = 20.0
#: Graph allows four concurrent requests per mailbox; raw downloads stay within that.
_CONCURRENCY = 4
_SELECT = (
    "internetMessageId,subject,from,toRecipients,ccRecipients,sentDateTime,receivedDateTime,"
    "internetMessageHeaders"
)
_THREADING_HEADERS = ("in-reply-to", "references", "auto-submitted")


def shared_mailbox_unsupported(asked: str, signed_in: str) -> ConnectorError:
    """P7: shared mailboxes are refused, whether reached through another account's sign-in
    or signed in to directly."""
    if asked == signed_in:
        what = f"{asked} is an Office 365 shared mailbox."
    else:
        what = (
            f"You signed in as {signed_in}, not as {asked}; a mailbox reached through another "
            "account is a shared mailbox."
        )
    return ConnectorError(
        "shared_mailbox_unsupported",
        f"Office 365 shared mailboxes cannot be connected. {what} Connect a mailbox by signing "
        "in with its own account, or ask your administrator to make the address a user mailbox.",
    )


def _mailbox(recipient: Any) -> Mailbox | None:
    address = (recipient or {}).get("emailAddress") or {}
    email = normalize_email(str(address.get("address") or ""))
    return Mailbox(email, str(address.get("name") or "").strip()) if "@" in email else None


def _mailboxes(recipients: Any) -> tuple[Mailbox, ...]:
    return tuple(m for m in map(_mailbox, recipients or []) if m is not None)


def _headers(item: Mapping[str, Any]) -> HeaderInfo:
    """Who, when and threading from Graph's fields, plus threading headers where Graph gives
    them (it omits ``internetMessageHeaders`` for messages in Sent Items)."""
    lines = [f"Message-ID: {item.get('internetMessageId') or ''}"]
    for header in item.get("internetMessageHeaders") or []:
        if str(header.get("name", "")).lower() in _THREADING_HEADERS:
            value = " ".join(str(header.get("value", "")).split())
            lines.append(f"{header['name']}: {value}")
    parsed = parse_headers("\r\n".join(lines).encode("ascii", "replace") + b"\r\n\r\n")
    return parsed.with_decoded(
        subject=str(item.get("subject") or ""),
        sender=_mailbox(item.get("from")),
        to=_mailboxes(item.get("toRecipients")),
        cc=_mailboxes(item.get("ccRecipients")),
        date=_graph_time(item.get("sentDateTime") or item.get("receivedDateTime")),
    )


def _graph_time(value: Any) -> datetime | None:
    """Graph's ISO 8601 UTC time (``2024-05-01T09:30:00Z``), None when absent or malformed."""
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None
    except ValueError:
        return None


class GraphConnector:
    """A signed-in Microsoft mailbox. ``expected_email`` is the address the user asked to
    connect: signing in as anyone else (to reach a shared mailbox) is refused."""

    files_sent_copies = True  # sendMail saves to Sent Items.

    def __init__(
        self,
        settings: Settings,
        keeper: TokenKeeper,
        *,
        expected_email: str | None,
        http: httpx.AsyncClient | None = None,
    ):
        self._graph = GraphHttp(settings, keeper, http)
        self._expected = normalize_email(expected_email) if expected_email else None
        self._backfill_days = settings.backfill_days
        self._page_size = max(1, min(settings.sync_batch_size, 1000))
        #: folder -> (delta link the engine stored, newer link known to hold no changes)
        self._quiet: dict[str, tuple[str, str]] = {}

    async def verify(self) -> AccountInfo:
        """Who signed in, refusing shared mailboxes (P7); and that the mailbox is reachable."""
        me = await self._graph.get_json(
            "/me", params={"$select": "id,displayName,mail,userPrincipalName,proxyAddresses"}
        )
        email = normalize_email(str(me.get("mail") or me.get("userPrincipalName") or ""))
        aliases = sorted(
            {
                normalize_email(p.split(":", 1)[1])
                for p in me.get("proxyAddresses") or []
                if str(p).lower().startswith("smtp:")
            }
            - {email}
        )
        if self._expected is not None and self._expected not in {email, *aliases}:
            raise shared_mailbox_unsupported(self._expected, email)
        settings = await self._graph.get_optional("/me/mailboxSettings", {"$select": "userPurpose"})
        if settings is not None and str(settings.get("userPurpose", "")).lower() == "shared":
            raise shared_mailbox_unsupported(self._expected or email, email)
        await self._graph.get_json("/me/mailFolders/inbox", params={"$select": "id"})
        return AccountInfo(
            email=email,
            aliases=tuple(Address(a, str(me.get("displayName") or "")) for a in aliases),
            folders=FOLDERS,
            capabilities=frozenset({"oauth", "delta", "send_saves_to_sent"}),
        )

    async def changes(self, folder: Folder, checkpoint: Checkpoint | None) -> AsyncIterator[Batch]:
        """One delta round for the folder, a batch per page (page size: ``sync_batch_size``).

        The first round is limited to ``backfill_days`` by a ``receivedDateTime`` filter that
        Graph keeps in every link of the folder from then on.
        """
        state = checkpoint or {}
        link = self._resume_link(folder, state.get("link"))
        backfilled = bool(state.get("backfilled")) and link is not None
        total = int(state.get("total") or 0) if link is not None else 0
        restarted = False
        while True:
            if link is None:
                since = utcnow() - timedelta(days=self._backfill_days)
                total = await self._count(folder, since)
                page = await self._graph.delta_page(
                    f"/me/mailFolders/{folder.name}/messages/delta",
                    self._page_size,
                    params={"$select": _SELECT, "$filter": f"receivedDateTime ge {_iso(since)}"},
                )
            else:
                page = await self._graph.delta_page(link, self._page_size)
            if page is None:  # Graph forgot the sync state: start the folder over, once
                if restarted:
                    raise _protocol("the delta query expired again right after a restart")
                restarted, link, backfilled = True, None, False
                continue
            next_link = page.get("@odata.nextLink")
            delta_link = page.get("@odata.deltaLink")
            link = self._graph.own_link(next_link or delta_link)
            if link is None:
                raise _protocol("a delta page without a link to continue")
            in_backfill = not backfilled
            backfilled = backfilled or next_link is None
            messages, deleted = _page_items(page)
            yield Batch(
                folder=folder,
                messages=messages,
                deleted=deleted,
                checkpoint={"link": link, "backfilled": backfilled, "total": total},
                total=total if in_backfill else 0,
                backfill_complete=in_backfill and backfilled,
            )
            if next_link is None:
                self._quiet[folder.name] = (link, link)
                return

    def _resume_link(self, folder: Folder, stored: Any) -> str | None:
        """The stored link, or a newer one a quiet poll proved equivalent (fewer tokens spent)."""
        link = self._graph.own_link(stored)
        origin, latest = self._quiet.get(folder.name, (None, None))
        return latest if link is not None and link == origin else link

    async def _count(self, folder: Folder, since: datetime) -> int:
        """How many messages the backfill will scan (for progress bars); 0 when unknown."""
        body = await self._graph.get_json(
            f"/me/mailFolders/{folder.name}/messages",
            params={
                "$filter": f"receivedDateTime ge {_iso(since)}",
                "$count": "true",
                "$top": "1",
                "$select": "id",
            },
        )
        return int(body.get("@odata.count") or 0)

    async def fetch_raw(self, folder: Folder, provider_ids: list[str]) -> dict[str, bytes]:
        """RFC 5322 bytes through ``$value``; a message deleted meanwhile is left out."""
        limit = asyncio.Semaphore(_CONCURRENCY)

        async def one(message_id: str) -> tuple[str, bytes | None]:
            async with limit:
                return message_id, await self._graph.get_bytes(
                    f"/me/messages/{quote(message_id, safe='')}/$value"
                )

        found = await asyncio.gather(*(one(i) for i in provider_ids))
        return {message_id: raw for message_id, raw in found if raw is not None}

    async def wait_for_change(self, timeout: float) -> bool:
        """Poll each synced folder's delta link (a page of one) every ``POLL_SECONDS``.

        An empty answer brings a newer link with nothing before it; the next ``changes`` starts
        there, so polling does not age the engine's stored link out of Graph's memory.
        """
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for name, (origin, latest) in list(self._quiet.items()):
                page = await self._graph.delta_page(latest, 1)
                if page is None or page.get("value") or page.get("@odata.nextLink"):
                    return True
                newer = self._graph.own_link(page.get("@odata.deltaLink"))
                if newer is not None:
                    self._quiet[name] = (origin, newer)
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return False
            await asyncio.sleep(min(POLL_SECONDS, remaining))

    async def send(self, message: OutgoingMessage) -> SentRef:
        """``sendMail`` with the MIME message (base64, ``text/plain``); Graph files it in Sent
        Items and takes Bcc recipients from the Bcc header without passing it on."""
        mime = base64.b64encode(message.to_bytes(include_bcc=True))
        await self._graph.post("/me/sendMail", mime, "text/plain")
        return SentRef(message.message_id, saved_to_sent=True)

    async def save_to_sent(self, messages: Sequence[OutgoingMessage]) -> None:
        """Nothing to do: ``sendMail`` already saved the message in Sent Items."""

    async def was_sent(self, message_id: str) -> bool:
        escaped = message_id.replace("'", "''")
        body = await self._graph.get_json(
            "/me/mailFolders/sentitems/messages",
            params={"$filter": f"internetMessageId eq '{escaped}'", "$select": "id", "$top": "1"},
        )
        return bool(body.get("value"))

    async def revoke(self) -> None:
        """Microsoft has no endpoint for users to revoke one application's grant: the tokens
        are forgotten with the inbox and the user removes the app in their account (D4)."""

    async def close(self) -> None:
        await self._graph.close()


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _protocol(detail: str) -> ConnectorError:
    return ConnectorError(
        "provider_error",
        f"Microsoft Graph answered in a way inboxlink did not understand ({detail}). inboxlink "
        "will try again.",
        transient=True,
    )


def _page_items(page: Mapping[str, Any]) -> tuple[list[ScannedMessage], list[str]]:
    """New or changed messages and removed ids of one delta page.

    Graph reports a flag change (read, category) with only a few properties; such entries
    carry no ``internetMessageId`` and are skipped, since the engine already has the message.
    """
    messages: list[ScannedMessage] = []
    deleted: list[str] = []
    for item in page.get("value") or []:
        if "@removed" in item:
            deleted.append(str(item["id"]))
        elif item.get("internetMessageId"):
            messages.append(ScannedMessage(str(item["id"]), _headers(item)))
    return messages, deleted
