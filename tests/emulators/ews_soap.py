"""The EWS SOAP operations of the Exchange emulator, written from Microsoft's EWS reference.

Each handler takes the parsed operation element and the signed-in mailbox and returns the
``…Response`` element's inner XML. Versions: a request whose ``RequestServerVersion`` is newer
than the emulated server answers ``ErrorInvalidServerVersion`` (so clients step down), and every
answer carries ``ServerVersionInfo`` in the SOAP header.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.utils import getaddresses
from typing import TYPE_CHECKING
from xml.etree import ElementTree
from xml.sax.saxutils import escape

if TYPE_CHECKING:
    from tests.emulators.ews import EwsEmulator, Mailbox, StoredItem

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
M = "http://schemas.microsoft.com/exchange/services/2006/messages"
T = "http://schemas.microsoft.com/exchange/services/2006/types"
E = "http://schemas.microsoft.com/exchange/services/2006/errors"


@dataclass(frozen=True)
class ServerVersion:
    """What ``ServerVersionInfo`` reports, and the newest schema the server accepts."""

    api: str
    major: int
    minor: int
    build: int
    revision: int


#: The RequestServerVersion values in schema order (oldest first).
API_ORDER = (
    "Exchange2007",
    "Exchange2007_SP1",
    "Exchange2010",
    "Exchange2010_SP1",
    "Exchange2010_SP2",
    "Exchange2013",
    "Exchange2013_SP1",
    "Exchange2015",
    "Exchange2015_SP1",
    "Exchange2016",
)
VERSIONS = {
    "Exchange2007_SP1": ServerVersion("Exchange2007_SP1", 8, 1, 240, 6),
    "Exchange2010_SP1": ServerVersion("Exchange2010_SP1", 14, 1, 218, 15),
    "Exchange2010_SP2": ServerVersion("Exchange2010_SP2", 14, 2, 247, 5),
    "Exchange2016": ServerVersion("Exchange2016", 15, 1, 2507, 6),
}


def q(ns: str, tag: str) -> str:
    return f"{{{ns}}}{tag}"


def envelope(version: ServerVersion, body: str, *, header: bool = True) -> bytes:
    info = (
        f'<s:Header><h:ServerVersionInfo xmlns:h="{T}" MajorVersion="{version.major}" '
        f'MinorVersion="{version.minor}" MajorBuildNumber="{version.build}" '
        f'MinorBuildNumber="{version.revision}" Version="{version.api}"/></s:Header>'
        if header
        else ""
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="{SOAP}">{info}'
        f"<s:Body>{body}</s:Body></s:Envelope>"
    ).encode()


def fault(code: str, message: str) -> str:
    return (
        f'<s:Fault><faultcode xmlns:a="{T}">a:{code}</faultcode>'
        f'<faultstring xml:lang="en-US">{escape(message)}</faultstring><detail>'
        f'<e:ResponseCode xmlns:e="{E}">{code}</e:ResponseCode>'
        f'<e:Message xmlns:e="{E}">{escape(message)}</e:Message></detail></s:Fault>'
    )


def server_busy(back_off_ms: int) -> str:
    """Exchange's throttling fault: come back after ``back_off_ms`` milliseconds."""
    text = "The server cannot service this request right now. Try again later."
    return fault("ErrorServerBusy", text).replace(
        "</detail>",
        f'<t:MessageXml xmlns:t="{T}"><t:Value Name="BackOffMilliseconds">{back_off_ms}'
        "</t:Value></t:MessageXml></detail>",
    )


def response(operation: str, messages: list[str]) -> str:
    return (
        f'<m:{operation}Response xmlns:m="{M}" xmlns:t="{T}"><m:ResponseMessages>'
        + "".join(messages)
        + f"</m:ResponseMessages></m:{operation}Response>"
    )


def ok(operation: str, inner: str = "") -> str:
    return (
        f'<m:{operation}ResponseMessage ResponseClass="Success">'
        f"<m:ResponseCode>NoError</m:ResponseCode>{inner}</m:{operation}ResponseMessage>"
    )


def error(operation: str, code: str, text: str) -> str:
    return (
        f'<m:{operation}ResponseMessage ResponseClass="Error"><m:MessageText>{escape(text)}'
        f"</m:MessageText><m:ResponseCode>{code}</m:ResponseCode>"
        f"<m:DescriptiveLinkKey>0</m:DescriptiveLinkKey></m:{operation}ResponseMessage>"
    )


def _time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _item_id(item: StoredItem) -> str:
    return f'<t:ItemId Id="{item.id}" ChangeKey="CQAAAB{item.seq}"/>'


def _mailbox(name: str, address: str) -> str:
    return (
        f"<t:Mailbox><t:Name>{escape(name or address)}</t:Name>"
        f"<t:EmailAddress>{escape(address)}</t:EmailAddress>"
        "<t:RoutingType>SMTP</t:RoutingType></t:Mailbox>"
    )


def _recipients(tag: str, values: list[str]) -> str:
    people = [p for p in getaddresses(values) if "@" in p[1]]
    return f"<t:{tag}>" + "".join(_mailbox(*p) for p in people) + f"</t:{tag}>" if people else ""


def _properties(item: StoredItem, fields: set[str], mime: bool) -> str:
    """The item's properties a GetItem asked for (FieldURIs without their prefix)."""
    message = item.parsed()
    parts = [f"<t:Message>{_item_id(item)}"]
    if mime:
        parts.append(
            '<t:MimeContent CharacterSet="UTF-8">'
            + base64.b64encode(item.raw).decode()
            + "</t:MimeContent>"
        )
    text = {
        "Subject": str(message.get("Subject", "")),
        "DateTimeReceived": _time(item.received),
        "DateTimeSent": _time(item.received),
        "InReplyTo": str(message.get("In-Reply-To", "")),
        "InternetMessageId": str(message.get("Message-ID", "")),
        "References": " ".join(str(message.get("References", "")).split()),
    }
    for name, value in text.items():
        if name in fields and value:
            parts.append(f"<t:{name}>{escape(value)}</t:{name}>")
    if "ToRecipients" in fields:
        parts.append(_recipients("ToRecipients", message.get_all("To", [])))
    if "CcRecipients" in fields:
        parts.append(_recipients("CcRecipients", message.get_all("Cc", [])))
    if "From" in fields:
        parts.append(_recipients("From", message.get_all("From", [])))
    parts.append("</t:Message>")
    return "".join(parts)


def _requested_fields(shape: ElementTree.Element | None) -> tuple[set[str], bool]:
    if shape is None:
        return set(), False
    fields = {uri.get("FieldURI", "").split(":", 1)[-1] for uri in shape.iter(q(T, "FieldURI"))}
    include = shape.findtext(q(T, "IncludeMimeContent")) == "true"
    return fields, include or "MimeContent" in fields


def _folder_name(ids: ElementTree.Element | None) -> str | None:
    """The distinguished name or id of the (first) folder an operation addresses."""
    if ids is None:
        return None
    for child in ids:
        return child.get("Id")
    return None


class Operations:
    """EWS operations over the emulator's mailboxes (called with the emulator's lock held)."""

    def __init__(self, emulator: EwsEmulator):
        self.emu = emulator
        self.handlers: dict[str, Callable[[ElementTree.Element, Mailbox], str]] = {
            "ConvertId": self.convert_id,
            "GetFolder": self.get_folder,
            "SyncFolderItems": self.sync_folder_items,
            "GetItem": self.get_item,
            "CreateItem": self.create_item,
            "FindItem": self.find_item,
        }

    def convert_id(self, request: ElementTree.Element, box: Mailbox) -> str:
        ids = list(request.iter(q(T, "AlternateId")))
        return response(
            "ConvertId",
            [error("ConvertId", "ErrorInvalidIdMalformed", "Id is malformed.") for _ in ids],
        )

    def get_folder(self, request: ElementTree.Element, box: Mailbox) -> str:
        messages = []
        for folder in request.find(q(M, "FolderIds")) or []:
            name = self.emu.folder_key(folder.get("Id", ""))
            if name is None:
                messages.append(error("GetFolder", "ErrorFolderNotFound", "Folder not found."))
                continue
            count = len(box.live(name)) if name != "root" else 0
            messages.append(
                ok(
                    "GetFolder",
                    f'<m:Folders><t:Folder><t:FolderId Id="{self.emu.folder_id(name)}" '
                    'ChangeKey="AQAAABYAAA"/><t:FolderClass>IPF.Note</t:FolderClass>'
                    f"<t:DisplayName>{escape(self.emu.folder_title(name))}</t:DisplayName>"
                    f"<t:TotalCount>{count}</t:TotalCount><t:ChildFolderCount>0"
                    "</t:ChildFolderCount><t:UnreadCount>0</t:UnreadCount></t:Folder>"
                    "</m:Folders>",
                )
            )
        return response("GetFolder", messages)

    def sync_folder_items(self, request: ElementTree.Element, box: Mailbox) -> str:
        name = self.emu.folder_key(_folder_name(request.find(q(M, "SyncFolderId"))) or "")
        if name is None:
            return response(
                "SyncFolderItems",
                [error("SyncFolderItems", "ErrorFolderNotFound", "Folder not found.")],
            )
        state = request.findtext(q(M, "SyncState")) or ""
        since = int(base64.b64decode(state).decode().split(":")[1]) if state else 0
        limit = int(request.findtext(q(M, "MaxChangesReturned")) or 512)
        pending = [c for c in box.changes if c.folder == name and c.seq > since]
        page, rest = pending[:limit], pending[limit:]
        upto = page[-1].seq if rest else max([since, *(c.seq for c in box.changes)])
        xml = []
        for change in page:
            if change.kind == "create":
                item = box.items[change.item_id]
                xml.append(
                    f"<t:Create><t:Message>{_item_id(item)}<t:DateTimeReceived>"
                    f"{_time(item.received)}</t:DateTimeReceived></t:Message></t:Create>"
                )
            else:
                xml.append(f'<t:Delete><t:ItemId Id="{change.item_id}" ChangeKey="x"/></t:Delete>')
        new_state = base64.b64encode(f"{name}:{upto}".encode()).decode()
        return response(
            "SyncFolderItems",
            [
                ok(
                    "SyncFolderItems",
                    f"<m:SyncState>{new_state}</m:SyncState><m:IncludesLastItemInRange>"
                    f"{'false' if rest else 'true'}</m:IncludesLastItemInRange>"
                    f"<m:Changes>{''.join(xml)}</m:Changes>",
                )
            ],
        )

    def get_item(self, request: ElementTree.Element, box: Mailbox) -> str:
        fields, mime = _requested_fields(request.find(q(M, "ItemShape")))
        messages = []
        for ref in request.find(q(M, "ItemIds")) or []:
            item = box.items.get(ref.get("Id", ""))
            if item is None or item.deleted:
                messages.append(
                    error("GetItem", "ErrorItemNotFound", "The specified object was not found.")
                )
            else:
                messages.append(
                    ok("GetItem", f"<m:Items>{_properties(item, fields, mime)}</m:Items>")
                )
        return response("GetItem", messages)

    def create_item(self, request: ElementTree.Element, box: Mailbox) -> str:
        disposition = request.get("MessageDisposition", "SaveOnly")
        content = request.findtext(f"{q(M, 'Items')}/{q(T, 'Message')}/{q(T, 'MimeContent')}")
        if not content:
            return response(
                "CreateItem", [error("CreateItem", "ErrorInvalidRequest", "MimeContent needed.")]
            )
        raw = base64.b64decode(content)
        if disposition in ("SendOnly", "SendAndSaveCopy"):
            self.emu.transport(box, raw)
        if disposition in ("SaveOnly", "SendAndSaveCopy"):
            target = _folder_name(request.find(q(M, "SavedItemFolderId")))
            folder = self.emu.folder_key(target or "") or (
                "sentitems" if disposition == "SendAndSaveCopy" else "drafts"
            )
            box.add(folder, raw, self.emu.next_seq())
        return response("CreateItem", [ok("CreateItem", "<m:Items/>")])

    def find_item(self, request: ElementTree.Element, box: Mailbox) -> str:
        name = self.emu.folder_key(_folder_name(request.find(q(M, "ParentFolderIds"))) or "")
        items = box.live(name) if name else []
        restriction = request.find(q(M, "Restriction"))
        if restriction is not None:
            uri = restriction.find(f".//{q(T, 'FieldURI')}")
            constant = restriction.find(f".//{q(T, 'Constant')}")
            if (
                uri is None
                or constant is None
                or uri.get("FieldURI") != "message:InternetMessageId"
            ):
                return response(
                    "FindItem", [error("FindItem", "ErrorInvalidRestriction", "Unsupported.")]
                )
            wanted = constant.get("Value", "")
            items = [i for i in items if str(i.parsed().get("Message-ID", "")).strip() == wanted]
        found = "".join(f"<t:Message>{_item_id(i)}</t:Message>" for i in items)
        return response(
            "FindItem",
            [
                ok(
                    "FindItem",
                    f'<m:RootFolder TotalItemsInView="{len(items)}" '
                    f'IncludesLastItemInRange="true"><t:Items>{found}</t:Items></m:RootFolder>',
                )
            ],
        )
