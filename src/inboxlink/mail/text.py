"""Text taken from mail made fit for a database column.

Mail can carry what no text column holds: NUL bytes (PostgreSQL refuses them) and, once a
hostile charset such as UTF-7 is decoded, lone surrogates (no UTF-8 encoder accepts them,
so SQLite and PostgreSQL both fail the whole batch). Every string the parsers hand to the
store passes through here.
"""

from __future__ import annotations


def storable(text: str) -> str:
    """``text`` without NULs and with any unencodable code point replaced by U+FFFD."""
    text = text.replace("\x00", "")
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in text)
    return text


_CONTROLS = dict.fromkeys([*range(32), 127], " ")


def one_line(text: str) -> str:
    """Storable text with control characters (line breaks, escapes, bells) made spaces: for
    header text a reply reuses, and for what a server said that reaches an error message."""
    return storable(text).translate(_CONTROLS)


def from_raw_header(value: str) -> str:
    """A header value as the compat32 parser gives it (8-bit bytes as surrogate escapes),
    decoded as UTF-8 (RFC 6532), invalid bytes replaced, NULs dropped."""
    if not value.isascii():
        value = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return storable(value)
