"""A Gmail mailbox over the Gmail REST API: labels INBOX and SENT are the folders.

Checkpoint per label: ``{"history_id": str}`` once backfilled, plus ``"backfill": {"page":
token, "total": n}`` while the first pass is still paging. The history id is read *before*
backfill starts, so whatever arrives during backfill is caught by the history that follows;
repeats are harmless because the engine upserts by provider id and Message-ID.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from inboxlink.config import Settings
from inboxlink.mail.headers import parse_headers
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
from inboxlink.providers.errors import ConnectorError, json_object
from inboxlink.providers.google import GMAIL_SCOPES
from inboxlink.providers.oauth import TokenKeeper, revoke_token

#: Headers the engine decides with (participants, threading, dates, automatic mail).
METADATA_HEADERS = (
    "From",
    "To",
    "Cc",
    "Subject",
    "Date",
    "Message-ID",
    "In-Reply-To",
    "References",
    "Auto-Submitted",
)
#: Without these the mailbox cannot be read or sent from (Google lets users untick scopes).
REQUIRED_SCOPES = frozenset(s for s in GMAIL_SCOPES if "/auth/gmail." in s)
FOLDERS = (Folder("INBOX", "inbox"), Folder("SENT", "sent"))
#: Concurrent ``messages.get`` calls: well inside Gmail's per-user quota of 250 units/s.
CONCURRENT_GETS = 8
MAX_ATTEMPTS = 5
MAX_WAIT_SECONDS = 60.0
_RETRYABLE = {429, 500, 502, 503, 504}
_RATE_REASONS = {"rateLimitExceeded", "userRateLimitExceeded"}


class _Missing(ConnectorError):
    """404 from Gmail: a message deleted meanwhile, or a history id Gmail no longer keeps.

    Callers that expect it catch it; anywhere else it reaches the engine as a plain error.
    """

    def __init__(self, detail: str):
        super().__init__("gmail_not_found", f"Gmail did not find what was asked for ({detail}).")


def _unreachable(detail: str, retry_after: float | None = None) -> ConnectorError:
    return ConnectorError(
        "provider_unreachable",
        f"Gmail could not be reached ({detail}). inboxlink will try again; if it persists, "
        "check the server's internet connection and Google's status page.",
        transient=True,
        retry_after=retry_after,
    )


def _asked_wait(response: httpx.Response) -> float | None:
    """The server's Retry-After in seconds (a number or an HTTP date); None without one."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        with contextlib.suppress(TypeError, ValueError):
            return max(parsedate_to_datetime(value).timestamp() - time.time(), 0.0)
    return None


def _retry_after(response: httpx.Response, attempt: int) -> float:
    """Seconds to wait before retrying: the server's Retry-After, else 1, 2, 4 … s."""
    asked = _asked_wait(response)
    return min(asked if asked is not None else float(2**attempt), MAX_WAIT_SECONDS)


def _reason(response: httpx.Response) -> str:
    try:
        errors = response.json()["error"]["errors"]
        return str(errors[0].get("reason", ""))
    except (ValueError, KeyError, IndexError, TypeError):
        return ""


def _header_block(headers: list[Mapping[str, str]]) -> bytes:
    """Rebuild a header block from Gmail's metadata so ``parse_headers`` reads it as mail."""
    lines = []
    for header in headers:
        value = " ".join(str(header.get("value", "")).splitlines())
        lines.append(f"{header.get('name', 'X-Unknown')}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class GmailConnector:
    """One Gmail mailbox. Requests carry the keeper's access token; 401 renews it once."""

    files_sent_copies = True  # Gmail files sent mail itself.

    def __init__(
        self, settings: Settings, keeper: TokenKeeper, *, http: httpx.AsyncClient | None = None
    ):
        self._settings = settings
        self._keeper = keeper
        self._base = f"{settings.gmail_base_url}/gmail/v1/users/me"
        self._own_http = http is None
        self._http = http or httpx.AsyncClient(timeout=settings.connect_timeout_seconds)
        self._gets = asyncio.Semaphore(CONCURRENT_GETS)
        self._latest_history: str | None = None

    # -- HTTP -----------------------------------------------------------------------------

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One API call with bounded retries on throttling and server errors."""
        token = await self._keeper.access_token()
        renewed = False
        for attempt in range(MAX_ATTEMPTS):
            try:
                response = await self._http.request(
                    method,
                    f"{self._base}/{path}",
                    headers={"Authorization": f"Bearer {token}"},
                    **kwargs,
                )
            except httpx.TransportError as exc:
                raise _unreachable(type(exc).__name__) from exc
            status = response.status_code
            if status == 401 and not renewed:
                token, renewed = await self._keeper.refresh_after_rejection(token), True
                continue
            retryable = status in _RETRYABLE or (
                status == 403 and _reason(response) in _RATE_REASONS
            )
            if retryable and attempt + 1 < MAX_ATTEMPTS:
                await asyncio.sleep(_retry_after(response, attempt))
                continue
            return self._result(response, retryable)
        raise _unreachable("too many retries")

    def _result(self, response: httpx.Response, retryable: bool) -> Any:
        status = response.status_code
        if status < 300:
            return json_object(response, "Gmail") if response.content else {}
        if status == 404:
            raise _Missing(response.text[:200])
        if status == 401:
            raise ConnectorError(
                "token_revoked",
                "Gmail no longer accepts inboxlink's access to this mailbox. Reconnect the inbox.",
            )
        if status == 429 or (status == 403 and retryable):
            raise ConnectorError(
                "provider_throttled",
                "Gmail is limiting how fast inboxlink may use this mailbox. inboxlink will "
                "continue by itself in a few minutes.",
                transient=True,
                retry_after=_asked_wait(response),
            )
        if retryable:
            raise _unreachable(
                f"HTTP {status}, still after {MAX_ATTEMPTS} attempts", _asked_wait(response)
            )
        if status == 403 and _reason(response) == "insufficientPermissions":
            raise self._scope_missing()
        raise ConnectorError(
            "gmail_error",
            f"Gmail refused a request (HTTP {status}: {response.text[:200]}).",
            transient=False,
        )

    @staticmethod
    def _scope_missing() -> ConnectorError:
        return ConnectorError(
            "scope_missing",
            "Not every permission inboxlink asked for was allowed on Google's consent page. "
            "Reconnect the inbox and leave every permission ticked.",
        )

    async def _current_history(self) -> str:
        return str((await self._call("GET", "profile"))["historyId"])

    async def _bounded(self, call: Callable[[], Awaitable[Any]]) -> Any:
        async with self._gets:
            return await call()

    # -- Connector ------------------------------------------------------------------------

    async def verify(self) -> AccountInfo:
        """The address, the send-as aliases that exist now (P6), and the system labels."""
        granted = set(self._keeper.token.scope.split())
        if granted and not granted.issuperset(REQUIRED_SCOPES):
            raise self._scope_missing()
        profile = await self._call("GET", "profile")
        email = str(profile["emailAddress"]).lower()
        self._latest_history = str(profile["historyId"])
        send_as = await self._call("GET", "settings/sendAs")
        aliases = tuple(
            Address(str(entry["sendAsEmail"]).lower(), str(entry.get("displayName", "")))
            for entry in send_as.get("sendAs", [])
            if not entry.get("isPrimary")
            and entry.get("verificationStatus", "accepted") == "accepted"
            and str(entry["sendAsEmail"]).lower() != email
        )
        labels = {label["id"] for label in (await self._call("GET", "labels")).get("labels", [])}
        return AccountInfo(
            email=email,
            aliases=aliases,
            folders=tuple(f for f in FOLDERS if f.name in labels),
            capabilities=frozenset({"history", "send_as"}),
        )

    async def changes(self, folder: Folder, checkpoint: Checkpoint | None) -> AsyncIterator[Batch]:
        state = dict(checkpoint or {})
        if "history_id" not in state or "backfill" in state:
            async for batch in self._backfill(folder, state):
                yield batch
                state = batch.checkpoint
        try:
            async for batch in self._history(folder, str(state["history_id"])):
                yield batch
        except _Missing:  # history id too old: start over; the engine drops repeats
            async for batch in self._backfill(folder, {}):
                yield batch

    async def _backfill(self, folder: Folder, state: Checkpoint) -> AsyncIterator[Batch]:
        """Newest first, a page per batch, restartable at the page the checkpoint names."""
        history_id = state.get("history_id") or await self._current_history()
        progress = dict(state.get("backfill") or {})
        page: str | None = progress.get("page")
        total = int(progress.get("total", 0))
        while True:
            params: dict[str, Any] = {
                "labelIds": folder.name,
                "q": f"newer_than:{self._settings.backfill_days}d",
                "maxResults": min(self._settings.sync_batch_size, 500),
            }
            if page:
                params["pageToken"] = page
            try:
                listing = await self._call("GET", "messages", params=params)
            except ConnectorError as exc:
                if not page or exc.code != "gmail_error":
                    raise
                page, total = None, 0  # a page token Gmail no longer honours: list again
                continue
            total = total or int(listing.get("resultSizeEstimate", 0))
            page = listing.get("nextPageToken")
            ids = [m["id"] for m in listing.get("messages", [])]
            checkpoint: Checkpoint = {"history_id": history_id}
            if page:
                checkpoint["backfill"] = {"page": page, "total": total}
            self._latest_history = history_id
            yield Batch(
                folder=folder,
                messages=await self._scan(ids),
                checkpoint=checkpoint,
                total=total,
                backfill_complete=not page,
            )
            if not page:
                return

    async def _history(self, folder: Folder, start: str) -> AsyncIterator[Batch]:
        """``history.list`` pages since ``start``: added messages scanned, deleted reported."""
        page: str | None = None
        while True:
            params: dict[str, Any] = {
                "startHistoryId": start,
                "labelId": folder.name,
                "historyTypes": ["messageAdded", "messageDeleted"],
                "maxResults": min(self._settings.sync_batch_size, 500),
            }
            if page:
                params["pageToken"] = page
            answer = await self._call("GET", "history", params=params)
            records = answer.get("history", [])
            added: dict[str, None] = {}
            deleted: list[str] = []
            for record in records:
                for item in record.get("messagesAdded", []):
                    if folder.name in item["message"].get("labelIds", [folder.name]):
                        added[item["message"]["id"]] = None
                for item in record.get("messagesDeleted", []):
                    added.pop(item["message"]["id"], None)
                    deleted.append(item["message"]["id"])
            page = answer.get("nextPageToken")
            reached = str(records[-1]["id"]) if page and records else str(answer["historyId"])
            if added or deleted or reached != start:
                yield Batch(
                    folder=folder,
                    messages=await self._scan(list(added)),
                    deleted=deleted,
                    checkpoint={"history_id": reached},
                )
            self._latest_history = reached
            if not page:
                return

    async def _scan(self, ids: list[str]) -> list[ScannedMessage]:
        """Headers of each message (metadata only); messages gone meanwhile are skipped."""

        async def one(message_id: str) -> ScannedMessage | None:
            try:
                found = await self._bounded(
                    lambda: self._call(
                        "GET",
                        f"messages/{message_id}",
                        params={"format": "metadata", "metadataHeaders": list(METADATA_HEADERS)},
                    )
                )
            except _Missing:
                return None
            headers = found.get("payload", {}).get("headers", [])
            return ScannedMessage(message_id, parse_headers(_header_block(headers)))

        scanned = await asyncio.gather(*(one(i) for i in ids))
        return [s for s in scanned if s is not None]

    async def fetch_raw(self, folder: Folder, provider_ids: list[str]) -> dict[str, bytes]:
        async def one(message_id: str) -> tuple[str, bytes] | None:
            try:
                found = await self._bounded(
                    lambda: self._call("GET", f"messages/{message_id}", params={"format": "raw"})
                )
            except _Missing:
                return None
            raw = str(found["raw"])
            return message_id, base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))

        fetched = await asyncio.gather(*(one(i) for i in provider_ids))
        return dict(f for f in fetched if f is not None)

    async def wait_for_change(self, timeout: float) -> bool:
        """Poll the mailbox's history id every ``gmail_poll_seconds`` (no Pub/Sub needed)."""
        deadline = time.monotonic() + timeout
        while True:
            current = await self._current_history()
            if self._latest_history is None:
                self._latest_history = current
            elif current != self._latest_history:
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            await asyncio.sleep(min(self._settings.gmail_poll_seconds, left))

    async def send(self, message: OutgoingMessage) -> SentRef:
        """Gmail delivers Bcc from the header and strips it, and files the message in Sent."""
        raw = base64.urlsafe_b64encode(message.to_bytes(include_bcc=True)).decode("ascii")
        await self._call("POST", "messages/send", json={"raw": raw})
        return SentRef(message.message_id, saved_to_sent=True)

    async def save_to_sent(self, messages: Sequence[OutgoingMessage]) -> None:
        """Nothing to do: Gmail files what ``messages.send`` sent in the SENT label itself."""

    async def was_sent(self, message_id: str) -> bool:
        query = f"in:sent rfc822msgid:{message_id.strip('<>')}"
        found = await self._call("GET", "messages", params={"q": query, "maxResults": 1})
        return bool(found.get("messages"))

    async def revoke(self) -> None:
        """G1: revoke at Google; the refresh token revokes the whole grant."""
        token = self._keeper.token
        await revoke_token(
            self._keeper.client,
            token.refresh_token or token.access_token,
            timeout=self._settings.connect_timeout_seconds,
        )

    async def close(self) -> None:
        if self._own_http:
            await self._http.aclose()
