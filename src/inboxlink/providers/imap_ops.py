"""The blocking IMAP steps the connector runs in a worker thread, one ``Connection`` each.

Every step that reads a folder opens it with EXAMINE and fetches with ``BODY.PEEK``: sync
never sets a flag, moves or deletes anything. Steps that work on UIDs first check that the
folder's UIDVALIDITY is still the one the UIDs belong to, and answer None when it is not.
"""

from __future__ import annotations

import imaplib
import re
import ssl
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from inboxlink.mail.headers import parse_headers
from inboxlink.providers.base import Folder, ScannedMessage
from inboxlink.providers.imap_connection import CHANGE_RESPONSES, Connection

HEADER_FIELDS = "FROM TO CC SUBJECT DATE MESSAGE-ID IN-REPLY-TO REFERENCES AUTO-SUBMITTED"
_HEADER_ITEM = f"BODY.PEEK[HEADER.FIELDS ({HEADER_FIELDS})]"
INBOX = "INBOX"
#: Where servers without SPECIAL-USE keep sent mail, including the seeds' languages.
SENT_NAMES = (
    "Sent", "Sent Items", "Sent Messages", "Sent Mail", "[Gmail]/Sent Mail",
    "INBOX.Sent", "INBOX/Sent", "INBOX.Sent Items", "INBOX.Sent Messages",
    "Gesendet", "Gesendete Elemente", "Gesendete Objekte", "Skickat", "Skickade objekt",
    "Wysłane", "Elementy wysłane", "Posta inviata", "Elementi inviati",
)  # fmt: skip
#: UIDs per UID FETCH command of full messages; the commands of one call are pipelined.
BODIES_PER_COMMAND = 100
_UID = re.compile(rb"\bUID (\d+)")
#: Any line ending, made CRLF in what is APPENDed (as imaplib's own APPEND does).
_LINE_END = re.compile(rb"\r\n|\r|\n")
# imaplib refuses commands it does not know; imapclient registers IDLE, ENABLE ... this way.
imaplib.Commands.setdefault("NOTIFY", ("AUTH", "SELECTED"))
#: Change responses as imaplib files them (plus RECENT, which comes with new mail).
_CHANGE_KINDS = (*(kind.decode() for kind in CHANGE_RESPONSES), "RECENT")


@dataclass(frozen=True, slots=True)
class FolderStatus:
    """What EXAMINE says about a folder; compared to notice a change without IDLE."""

    uidvalidity: int
    uidnext: int
    exists: int
    highestmodseq: int | None

    @property
    def top(self) -> int:
        return self.uidnext - 1


def provider_id(uidvalidity: int, uid: int) -> str:
    return f"{uidvalidity}:{uid}"


def parse_provider_id(value: str) -> tuple[int, int] | None:
    validity, _, uid = value.partition(":")
    return (int(validity), int(uid)) if validity.isdigit() and uid.isdigit() else None


def list_folders(c: Connection) -> tuple[Folder, ...]:
    """INBOX and the Sent folder: by its SPECIAL-USE flag (RFC 6154), else by a known name."""
    listed = [
        (frozenset(flag.decode().lower() for flag in flags), name)
        for flags, _, name in c.client.list_folders()
    ]
    selectable = [(flags, name) for flags, name in listed if "\\noselect" not in flags]
    sent = next((name for flags, name in selectable if "\\sent" in flags), None)
    if sent is None:
        by_lower = {name.lower(): name for _, name in selectable}
        sent = next((by_lower[n.lower()] for n in SENT_NAMES if n.lower() in by_lower), None)
    return (Folder(INBOX, "inbox"), *([Folder(sent, "sent")] if sent else []))


def examine(c: Connection, folder: str) -> FolderStatus:
    """A fresh read-only look at ``folder`` (UIDNEXT and friends as of now)."""
    return _folder_status(c, c.examine(folder, fresh=True))


def look(c: Connection, folder: str, *, select: bool) -> FolderStatus:
    """``folder``'s status as of now, as cheaply as the connection allows.

    EXAMINE makes the server open the whole folder (Dovecot: 165 ms at 100k messages), so:
    the selected folder with nothing heard since it was examined gets a NOOP, and is
    unchanged if the server reports no change to it (0.3 ms, any size); a folder that
    should stay unselected (not INBOX, which IDLE watches) gets STATUS. Anything else, or a
    change heard, gets EXAMINE.
    """
    if c.selected == folder and c.quiet:
        c.client._imap.noop()
        if not heard_change(c):
            return _folder_status(c, c.status)
    elif not select and c.selected != folder:
        items = ["MESSAGES", "UIDNEXT", "UIDVALIDITY"]
        found = c.client.folder_status(
            folder, [*items, "HIGHESTMODSEQ"] if c.has("CONDSTORE") else items
        )
        if b"UIDNEXT" in found and b"UIDVALIDITY" in found:
            return FolderStatus(
                int(found[b"UIDVALIDITY"]), int(found[b"UIDNEXT"]), int(found.get(b"MESSAGES", 0)),
                int(found[b"HIGHESTMODSEQ"]) if b"HIGHESTMODSEQ" in found else None,
            )  # fmt: skip
    return examine(c, folder)


def heard_change(c: Connection) -> bool:
    """True when an answer since the last EXAMINE carried a change to the selected folder."""
    untagged = c.client._imap.untagged_responses
    return any(kind in untagged for kind in _CHANGE_KINDS)


def _folder_status(c: Connection, raw: dict[bytes, Any]) -> FolderStatus:
    uidnext = raw.get(b"UIDNEXT")
    if uidnext is None:  # RFC 3501 servers may omit it: derive it from the highest UID
        uidnext = max(c.client.search(["ALL"]), default=0) + 1
    return FolderStatus(
        int(raw[b"UIDVALIDITY"]), int(uidnext), int(raw.get(b"EXISTS", 0)),
        int(raw[b"HIGHESTMODSEQ"]) if b"HIGHESTMODSEQ" in raw else None,
    )  # fmt: skip


def _same_folder(c: Connection, folder: str, uidvalidity: int) -> bool:
    return int(c.examine(folder)[b"UIDVALIDITY"]) == uidvalidity


def search_uids(
    c: Connection, folder: str, uidvalidity: int, low: int, high: int | None, since: date | None
) -> list[int] | None:
    """UIDs in ``low..high`` (``high`` None: no upper end), INTERNALDATE on or after ``since``."""
    if not _same_folder(c, folder, uidvalidity):
        return None
    criteria: list[Any] = ["UID", f"{low}:{high if high is not None else '*'}"]
    if since is not None:
        criteria += ["SINCE", since]
    # "n:*" always matches the highest UID, even below n: keep only the asked-for range.
    return sorted(u for u in c.client.search(criteria) if u >= low and (high is None or u <= high))


def uid_set(uids: Iterable[int]) -> str:
    """A compact IMAP sequence set: ``1:4,7,9:10`` (a backfill's UIDs are mostly runs, so a
    command for thousands of them stays a few bytes long)."""
    ordered = sorted(set(uids))
    parts: list[str] = []
    start = previous = ordered[0] if ordered else 0
    for uid in ordered[1:]:
        if uid != previous + 1:
            parts.append(f"{start}:{previous}" if previous > start else str(start))
            start = uid
        previous = uid
    if ordered:
        parts.append(f"{start}:{previous}" if previous > start else str(start))
    return ",".join(parts)


def _fetch_items(c: Connection, uids: list[int], item: str, per_command: int) -> dict[int, bytes]:
    """``uid -> bytes`` of one literal ``item`` (a BODY.PEEK[...]) for ``uids``.

    Straight on imapclient's imaplib connection: imapclient's response parser cost ~4x the
    whole raw fetch (bench/imap_libraries.py). Every command of the call is sent before the
    first answer is read (pipelined), which saves a round trip per command; the commands are
    short (compact UID sets), so they always fit the socket buffers.
    """
    imap = c.client._imap
    imap.untagged_responses.pop("FETCH", None)
    c.quiet = False  # a flag change among these FETCH answers would go unnoticed by ``look``
    tags = [
        imap._command("UID", "FETCH", uid_set(uids[at : at + per_command]), f"(UID {item})")
        for at in range(0, len(uids), per_command)
    ]
    failed = None
    for tag in tags:  # read every answer, even after a failure, so the connection stays usable
        result, data = imap._command_complete("FETCH", tag)
        if result != "OK":
            failed = failed or data
    fetched: list[Any] = imap.untagged_responses.pop("FETCH", [])
    if failed is not None:
        raise imaplib.IMAP4.error(f"UID FETCH failed: {failed!r}"[:200])
    return _literals(fetched)


def _literals(fetched: list[Any]) -> dict[int, bytes]:
    """``uid -> bytes`` from imaplib's FETCH entries: ``(b"5 FETCH (UID 9 BODY[..] {n}",
    literal)`` then the rest of that line; a server may also put UID after the literal, or
    send NIL/"" for an empty item. Unsolicited flag updates carry no BODY and are skipped."""
    found: dict[int, bytes] = {}
    waiting: bytes | None = None  # a literal whose UID comes later on the line
    for entry in fetched:
        if isinstance(entry, tuple):
            match = _UID.search(entry[0])
            if match is not None:
                found[int(match.group(1))] = entry[1]
            waiting = None if match is not None else entry[1]
            continue
        match = _UID.search(entry)
        if match is not None and waiting is not None:
            found[int(match.group(1))] = waiting
        elif match is not None and b"BODY[" in entry:
            found[int(match.group(1))] = b""
        waiting = None
    return found


def fetch_headers(
    c: Connection, folder: str, uidvalidity: int, uids: list[int]
) -> list[ScannedMessage] | None:
    """Parsed headers of ``uids`` in the given order (one UID FETCH); expunged ones are
    simply absent."""
    if not _same_folder(c, folder, uidvalidity):
        return None
    found = _fetch_items(c, uids, _HEADER_ITEM, max(len(uids), 1))
    return [
        ScannedMessage(provider_id(uidvalidity, uid), parse_headers(found[uid]))
        for uid in uids
        if uid in found
    ]


def fetch_bodies(c: Connection, folder: str, uidvalidity: int, uids: list[int]) -> dict[str, bytes]:
    """Full bytes of ``uids``, ``BODIES_PER_COMMAND`` a command, all commands pipelined."""
    if not uids or not _same_folder(c, folder, uidvalidity):
        return {}
    found = _fetch_items(c, uids, "BODY.PEEK[]", BODIES_PER_COMMAND)
    return {provider_id(uidvalidity, uid): raw for uid, raw in found.items()}


def vanished(
    c: Connection, folder: str, uidvalidity: int, top: int, modseq: int
) -> list[str] | None:
    """Provider ids of messages at or below ``top`` expunged since ``modseq`` (QRESYNC)."""
    if not c.qresync or top < 1:
        return []
    if not _same_folder(c, folder, uidvalidity):
        return None
    # imapclient cannot fetch a UID range it has not listed, and hands back only FETCH data;
    # its imaplib connection can, and keeps VANISHED (RFC 7162) in ``untagged_responses``.
    imap = c.client._imap
    imap.untagged_responses.pop("VANISHED", None)
    c.quiet = False
    result, data = imap.uid("FETCH", f"1:{top}", f"(UID) (CHANGEDSINCE {modseq} VANISHED)")
    if result != "OK":
        raise imaplib.IMAP4.error(f"UID FETCH VANISHED failed: {data!r}"[:200])
    untagged: dict[str, list[bytes]] = imap.untagged_responses
    gone = {uid for data in untagged.pop("VANISHED", []) for uid in _uid_set(data, top)}
    return [provider_id(uidvalidity, uid) for uid in sorted(gone)]


def _uid_set(data: bytes, top: int) -> Iterable[int]:
    """UIDs up to ``top`` of a ``(EARLIER) 3,5:7`` VANISHED payload (the cap keeps a huge
    range from a broken server from costing memory)."""
    for part in data.replace(b"(EARLIER)", b"").strip().split(b","):
        low, _, high = part.partition(b":")
        if low.strip().isdigit():
            first, last = sorted((int(low), int(high) if high.strip().isdigit() else int(low)))
            yield from range(first, min(last, top) + 1)


def message_ids_in(c: Connection, folder: str, message_ids: Sequence[str]) -> set[str]:
    """Which of ``message_ids`` ``folder`` holds: one SEARCH for all of them (``OR``ed
    ``HEADER Message-ID`` keys, prefix form so no nesting), then the Message-ID of each hit,
    since HEADER matches substrings. The outbox looks at Sent once per batch this way."""
    wanted = set(message_ids)
    if not wanted:
        return set()
    c.examine(folder, fresh=True)  # fresh: a message appended a moment ago must count
    criteria: list[Any] = []
    for index, message_id in enumerate(sorted(wanted)):
        criteria += (["OR"] if index + 1 < len(wanted) else []) + ["HEADER", "Message-ID"]
        criteria.append(message_id)
    hits = sorted(c.client.search(criteria))
    if not hits:
        return set()
    found = _fetch_items(c, hits, "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]", len(hits))
    return {parse_headers(raw).message_id for raw in found.values()} & wanted


def append_seen(c: Connection, folder: str, raws: Sequence[bytes]) -> None:
    """Store ``raws`` in ``folder``, marked \\Seen: in one MULTIAPPEND where the server
    offers it (RFC 3502: all of them or none), else an APPEND each.

    imaplib has no MULTIAPPEND; its APPEND takes one literal. Its own literal hook (a
    callable asked for the next bytes at each "+" continuation) sends several: each message
    followed by the next one's flags and size, the last one ending the command. Synchronizing
    literals, so any RFC 3502 server takes it (one round trip per message, not per command).
    """
    if len(raws) < 2 or not c.has("MULTIAPPEND"):
        for raw in raws:
            c.client.append(folder, raw, flags=[b"\\Seen"])
        return
    literals = _Literals([_LINE_END.sub(b"\r\n", raw) for raw in raws])
    imap = c.client._imap
    imap.literal = literals.next  # a bound method: imaplib's sign of a literal callback
    tag = imap._command("APPEND", c.client._normalise_folder(folder), literals.first)
    result, data = imap._command_complete("APPEND", tag)
    if result != "OK" or not literals.done:
        raise imaplib.IMAP4.error(f"MULTIAPPEND failed: {data!r}"[:200])


class _Literals:
    """The literals of one MULTIAPPEND, handed to imaplib one per "+" continuation."""

    def __init__(self, literals: list[bytes]) -> None:
        self._literals = literals
        self._sent = 0

    @property
    def first(self) -> str:
        """What precedes the first literal on the command line."""
        return f"(\\Seen) {{{len(self._literals[0])}}}"

    @property
    def done(self) -> bool:
        return self._sent == len(self._literals)

    def next(self, _continuation: bytes) -> bytes:
        """This literal, then the next one's flags and size (imaplib ends the line)."""
        literal = self._literals[self._sent]
        self._sent += 1
        if not self.done:
            literal += b" (\\Seen) {%d}" % len(self._literals[self._sent])
        return literal


def create_folder(c: Connection, name: str) -> None:
    c.client.create_folder(name)
    c.client.subscribe_folder(name)


def notify_changes(c: Connection, folders: Iterable[str]) -> bool:
    """Ask the server to report new and expunged mail in ``folders`` (STATUS responses) and in
    the selected folder as it happens (NOTIFY, RFC 5465); False where it will not."""
    if not c.has("NOTIFY"):
        return False
    names = " ".join(c.client._normalise_folder(name).decode() for name in folders)
    events = "(MessageNew MessageExpunge)"
    imap = c.client._imap
    tag = imap._command("NOTIFY", "SET", f"(selected {events}) (mailboxes ({names}) {events})")
    try:
        result, _ = imap._command_complete("NOTIFY", tag)
    except imaplib.IMAP4.abort:
        raise
    except imaplib.IMAP4.error:  # BAD: offered, yet not for this request; STATUS will do
        return False
    return bool(result == "OK")


def has_buffered_input(c: Connection) -> bool:
    """True when imaplib has read bytes from the server that nobody has parsed yet.

    Peeks without blocking: an empty buffer and no data on the socket is a "would block"
    (SSLWantReadError with TLS, None from a plain socket), which means False."""
    imap = c.client._imap
    timeout = imap.sock.gettimeout()
    imap.sock.setblocking(False)
    try:
        return bool(imap.file.peek(1))
    except (ssl.SSLWantReadError, BlockingIOError):
        return False
    finally:
        imap.sock.settimeout(timeout)
