"""The part of a message its author wrote this time: quoted replies and forwarded history cut
off, then split into what comes before the sign-off and the signature after it."""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Where quoted history starts: "On … wrote:", "Am … schrieb …:", "Il … ha scritto:",
#: "W dniu … napisał(a):", "Den … skrev …:", Outlook's header block, "-----Original Message".
_QUOTE_START = re.compile(
    r"^(?:on .{4,200} wrote:|am .{4,200} schrieb .{0,200}:|il .{4,200} ha scritto:"
    r"|w dniu .{4,200} napisał(?:a)?:?|den .{4,200} skrev .{0,200}:"
    r"|-{2,}\s*(?:original message|ursprüngliche nachricht|messaggio originale"
    r"|wiadomość oryginalna|ursprungligt meddelande|forwarded message)\s*-{2,}"
    r"|(?:from|von|da|od|från):\s.+@.+)$",
    re.I,
)
#: A closing line: the signature follows it.
_SIGN_OFF = re.compile(
    r"^(?:(?:best|kind|warm|many thanks and)?\s*regards|best(?: wishes)?|cheers|thanks"
    r"|thank you|sincerely|yours(?: sincerely| truly)?|all the best"
    r"|(?:mit )?(?:freundliche|beste|herzliche|viele|liebe|schöne)n? grüße?n?|mfg|lg|vg|gruß"
    r"|(?:cordiali |distinti |un caro |tanti )?salut[oi]|cordialmente|a presto|grazie(?: mille)?"
    r"|(?:z )?pozdrowieniami|pozdrawiam(?: serdecznie)?|z poważaniem|serdecznie pozdrawiam"
    r"|dziękuję|(?:med )?(?:vänliga|bästa|varma) hälsningar|mvh|hälsningar|tack(?: så mycket)?)"
    r"\s*[,.!]?$",
    re.I,
)


@dataclass(frozen=True, slots=True)
class Parts:
    body: str
    signature: list[str]


def own_lines(text: str) -> list[str]:
    """The author's lines: no ``>`` quotes, nothing from the first quoted-history marker on."""
    lines: list[str] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        stripped = line.strip()
        if _QUOTE_START.match(stripped):
            break
        if not stripped.startswith(">"):
            lines.append(stripped)
    return lines


def split(text: str, name: str = "") -> Parts:
    """Body and signature: the signature is what follows ``-- `` or the last sign-off line,
    else what starts at the last line that is the writer's ``name`` alone."""
    lines = own_lines(text)
    marker = next((i for i, line in enumerate(lines) if line in ("--", "-- ")), None)
    if marker is None:
        marker = next((i for i in range(len(lines) - 1, -1, -1) if _SIGN_OFF.match(lines[i])), None)
    if marker is not None:
        body, start = marker, marker + 1
    else:
        named = [i for i, line in enumerate(lines) if name and line.lower() == name.lower()]
        if not named:
            return Parts("\n".join(lines), [])
        body = start = named[-1]
    signature = [line for line in lines[start:] if line][:12]
    return Parts("\n".join(lines[:body]), signature)


def sentences(text: str) -> list[str]:
    """Sentences of the body, one line never joined to the next (mail wraps rarely matter)."""
    found: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text):
        flat = " ".join(paragraph.split())
        found.extend(s.strip() for s in re.split(r"(?<=[.!?])\s+", flat) if s.strip())
    return found
