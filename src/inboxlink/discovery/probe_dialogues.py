"""Just enough IMAP and SMTP to tell that a port really is a mail server, and whether its
certificate is trusted — no login, no credentials ever sent."""

from __future__ import annotations

import asyncio
import ssl

_MAX_REPLY_LINES = 64


class NotAMailServer(Exception):
    """Something answered, but not like the expected IMAP/SMTP server."""


async def imap_tls(address: str, port: int, host: str, context: ssl.SSLContext) -> None:
    reader, writer = await asyncio.open_connection(address, port, ssl=context, server_hostname=host)
    try:
        await _imap_greeting(reader)
        writer.write(b"a1 LOGOUT\r\n")
    finally:
        writer.close()


async def imap_starttls(address: str, port: int, host: str, context: ssl.SSLContext) -> None:
    reader, writer = await asyncio.open_connection(address, port)
    try:
        greeting = await _imap_greeting(reader)
        capabilities = (
            greeting
            if "[CAPABILITY " in greeting
            else await _imap_command(reader, writer, "a1", "CAPABILITY")
        )
        if "STARTTLS" not in capabilities.upper().replace("]", " ").split():
            raise NotAMailServer("the IMAP server does not offer STARTTLS")
        await _imap_command(reader, writer, "a2", "STARTTLS")
        await writer.start_tls(context, server_hostname=host)
        writer.write(b"a3 LOGOUT\r\n")
    finally:
        writer.close()


async def smtp_tls(address: str, port: int, host: str, context: ssl.SSLContext) -> None:
    reader, writer = await asyncio.open_connection(address, port, ssl=context, server_hostname=host)
    try:
        await _smtp_reply(reader, 220)
        writer.write(b"QUIT\r\n")
    finally:
        writer.close()


async def smtp_starttls(address: str, port: int, host: str, context: ssl.SSLContext) -> None:
    reader, writer = await asyncio.open_connection(address, port)
    try:
        await _smtp_reply(reader, 220)
        writer.write(b"EHLO inboxlink.invalid\r\n")
        extensions = await _smtp_reply(reader, 250)
        if not any(line.upper().split()[:1] == ["STARTTLS"] for line in extensions):
            raise NotAMailServer("the SMTP server does not offer STARTTLS")
        writer.write(b"STARTTLS\r\n")
        await _smtp_reply(reader, 220)
        await writer.start_tls(context, server_hostname=host)
        writer.write(b"QUIT\r\n")
    finally:
        writer.close()


async def _line(reader: asyncio.StreamReader) -> str:
    raw = await reader.readline()
    if not raw:
        raise NotAMailServer("the server closed the connection")
    return raw.decode("utf-8", "replace").rstrip("\r\n")


async def _imap_greeting(reader: asyncio.StreamReader) -> str:
    greeting = await _line(reader)
    if not greeting.upper().startswith(("* OK", "* PREAUTH")):
        raise NotAMailServer(f"unexpected IMAP greeting {greeting[:80]!r}")
    return greeting


async def _imap_command(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, tag: str, command: str
) -> str:
    """Send a command; return its untagged lines joined, or fail unless the tag says OK."""
    writer.write(f"{tag} {command}\r\n".encode())
    untagged: list[str] = []
    for _ in range(_MAX_REPLY_LINES):
        line = await _line(reader)
        if line.startswith(f"{tag} "):
            if line[len(tag) + 1 :].upper().startswith("OK"):
                return " ".join(untagged)
            raise NotAMailServer(f"IMAP {command} failed: {line[:80]!r}")
        untagged.append(line)
    raise NotAMailServer(f"IMAP {command} reply too long")


async def _smtp_reply(reader: asyncio.StreamReader, expected: int) -> list[str]:
    """The text lines of one (possibly multi-line) SMTP reply, which must have code ``expected``."""
    lines: list[str] = []
    for _ in range(_MAX_REPLY_LINES):
        line = await _line(reader)
        if line[:3] != str(expected):
            raise NotAMailServer(f"expected SMTP {expected}, got {line[:80]!r}")
        lines.append(line[4:])
        if line[3:4] != "-":
            return lines
    raise NotAMailServer("SMTP reply too long")
