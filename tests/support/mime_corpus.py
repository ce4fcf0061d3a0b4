"""Hostile and odd MIME messages: CPython's own ``test_email`` corpus plus generated nasties.

Used by the bad-input suite (delivered to Dovecot and synced) and as seeds of the parser
fuzz target. Every message names ``contact`` (the CPython ones in an added ``Cc`` line) so
a personal inbox logs it.
"""

from __future__ import annotations

import base64
import random
import sysconfig
from dataclasses import dataclass
from pathlib import Path

BIG_MESSAGE_BYTES = 50 * 1024 * 1024
NESTING = 1_000
HEADER_COUNT = 10_000


@dataclass(frozen=True)
class Sample:
    name: str
    raw: bytes


def cpython_corpus_dir() -> Path | None:
    """CPython's ``test/test_email/data``, when this interpreter ships its test package."""
    folder = Path(sysconfig.get_path("stdlib")) / "test" / "test_email" / "data"
    return folder if any(folder.glob("msg_*.txt")) else None


def cpython_samples(contact: str | None) -> list[Sample]:
    """CPython's messages, with ``contact`` copied in when given (else untouched)."""
    folder = cpython_corpus_dir()
    if folder is None:
        return []
    return [
        Sample(f"cpython/{path.name}", _involving(contact, path.read_bytes()))
        for path in sorted(folder.glob("msg_*.txt"))
    ]


def _involving(contact: str | None, raw: bytes) -> bytes:
    """The message with the contact copied in, the rest byte for byte as it was."""
    if contact is None:
        return raw
    newline = b"\r\n" if b"\r\n" in raw[:2000] else b"\n"
    return f"Cc: {contact}".encode() + newline + raw


def _message(contact: str, tag: str, headers: str, body: bytes = b"body\r\n") -> bytes:
    return (
        (
            f"From: Sender <sender@nasty.example>\r\nTo: {contact}\r\n"
            f"Date: Mon, 02 Nov 2026 10:00:00 +0000\r\nSubject: {tag}\r\n{headers}"
        ).encode()
        + b"\r\n"
        + body
    )


def _nested(depth: int) -> bytes:
    """The body of a ``multipart/mixed; boundary=b0`` nested ``depth`` levels deep."""
    parts = []
    for level in range(1, depth):
        parts.append(
            f"--b{level - 1}\r\nContent-Type: multipart/mixed; boundary=b{level}\r\n\r\n".encode()
        )
    parts.append(f"--b{depth - 1}\r\nContent-Type: text/plain\r\n\r\ndeep down\r\n".encode())
    return b"".join(parts)


def _big_attachment(size: int) -> bytes:
    """The body of a ``multipart/mixed; boundary=BIG``: a text part and a base64
    attachment, ``size`` bytes or more in all."""
    data = random.Random(size).randbytes(size * 3 // 4 + 1)
    encoded = base64.encodebytes(data).replace(b"\n", b"\r\n")
    return (
        b"--BIG\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee the attachment.\r\n--BIG\r\n"
        b"Content-Type: application/octet-stream; name=big.bin\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + encoded + b"--BIG--\r\n"
    )


def nasty_samples(contact: str, *, big: bool = True) -> list[Sample]:
    """Generated nasties; each carries a unique Message-ID unless the point is not to."""
    m = _message
    many = "".join(f"X-Filler-{n}: value {n}\r\n" for n in range(HEADER_COUNT))
    samples = [
        Sample(
            "nested-1000",
            m(
                contact,
                "nested",
                "Message-ID: <nested@nasty.example>\r\n"
                "Content-Type: multipart/mixed; boundary=b0\r\n",
                _nested(NESTING),
            ),
        ),
        Sample(
            "10000-headers",
            m(contact, "many headers", f"Message-ID: <many@nasty.example>\r\n{many}"),
        ),
        Sample(
            "unknown-charset",
            m(
                contact,
                "=?x-no-such-charset?Q?caf=E9?=",
                "Message-ID: <charset1@nasty.example>\r\nContent-Type: text/plain; "
                "charset=x-no-such-charset\r\n",
                "caf\xe9\r\n".encode("latin-1"),
            ),
        ),
        Sample(
            "codec-not-a-charset",
            m(
                contact,
                "=?base64?B?aGk=?=",
                "Message-ID: <charset2@nasty.example>\r\nContent-Type: text/plain; "
                "charset=zlib\r\n",
                b"x\x9c\xcbH\xcd\xc9\xc9\x07\x00\x06,\x02\x15",
            ),
        ),
        Sample(
            "utf7-lone-surrogates",
            m(
                contact,
                "=?utf-7?Q?+2D0-?=",
                "Message-ID: <utf7@nasty.example>\r\nContent-Type: text/html; charset=utf-7\r\n",
                b"+2D0-<b>half a pair</b>+3gA-",
            ),
        ),
        Sample(
            "invalid-utf8-body",
            m(
                contact,
                "bad utf8",
                "Message-ID: <utf8@nasty.example>\r\nContent-Type: text/plain; charset=utf-8\r\n",
                b"\xff\xfe\xc3(\xed\xa0\x80",
            ),
        ),
        Sample(
            "nul-bytes",
            m(
                contact,
                "nul\x00subject",
                "Message-ID: <nul@nasty.example>\r\n",
                b"body\x00with\x00nuls\r\n",
            ).replace(b"From: Sender", b"From: Se\x00nder"),
        ),
        Sample(
            "broken-base64",
            m(
                contact,
                "broken base64",
                "Message-ID: <b64@nasty.example>\r\nContent-Type: text/plain\r\n"
                "Content-Transfer-Encoding: base64\r\n",
                b"!!!not*base64===\r\naGVsbG8\r\n",
            ),
        ),
        Sample(
            "broken-qp",
            m(
                contact,
                "broken qp",
                "Message-ID: <qp@nasty.example>\r\n"
                "Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n",
                b"=ZZ=\r\nsoft=\r\n=E9=\r\n=",
            ),
        ),
        Sample(
            "unknown-encoding",
            m(
                contact,
                "x-uuencode-ish",
                "Message-ID: <enc@nasty.example>\r\nContent-Transfer-Encoding: x-bogus\r\n",
            ),
        ),
        Sample("no-message-id-1", m(contact, "no id one", "")),
        Sample("no-message-id-2", m(contact, "no id two", "", b"another body\r\n")),
        Sample(
            "duplicate-id-first", m(contact, "dup first", "Message-ID: <dup@nasty.example>\r\n")
        ),
        Sample(
            "duplicate-id-second",
            m(contact, "dup second", "Message-ID: <dup@nasty.example>\r\n", b"other\r\n"),
        ),
        Sample(
            "two-id-headers",
            m(
                contact,
                "two ids",
                "Message-ID: <two-a@nasty.example>\r\nMessage-ID: <two-b@nasty.example>\r\n",
            ),
        ),
        Sample(
            "8bit-headers",
            m(contact, "Grüße aus Köln", "Message-ID: <8bit@nasty.example>\r\n").replace(
                b"Sender <", "Jürgen <".encode()
            ),
        ),
        Sample(
            "latin1-8bit-header",
            m(contact, "x", "Message-ID: <latin1@nasty.example>\r\n").replace(
                b"Subject: x", b"Subject: caf\xe9 cr\xe8me"
            ),
        ),
        Sample(
            "8bit-message-id",
            m(contact, "8bit id", "Message-ID: <caf\xe9@nasty.example>\r\n").replace(
                "é".encode(), b"\xe9"
            ),
        ),
        Sample(
            "oversize-message-id",
            m(
                contact,
                "long id",
                f"Message-ID: <{'i' * 2000}@nasty.example>\r\n"
                f"In-Reply-To: <{'p' * 2000}@nasty.example>\r\n",
            ),
        ),
        Sample(
            "huge-subject", m(contact, "s" * 100_000, "Message-ID: <subject@nasty.example>\r\n")
        ),
        Sample(
            "no-boundary",
            m(
                contact,
                "no boundary",
                "Message-ID: <nob@nasty.example>\r\nContent-Type: multipart/mixed\r\n",
                b"--x\r\n\r\ntext\r\n",
            ),
        ),
        Sample(
            "unclosed-boundary",
            m(
                contact,
                "unclosed",
                "Message-ID: <open@nasty.example>\r\n"
                "Content-Type: multipart/alternative; boundary=Q\r\n",
                b"--Q\r\nContent-Type: text/plain\r\n\r\nnever closed\r\n",
            ),
        ),
        Sample(
            "bad-date",
            m(contact, "bad date", "Message-ID: <date@nasty.example>\r\n").replace(
                b"Mon, 02 Nov 2026 10:00:00 +0000", b"Feb 30 99999 25:61:61 +9999"
            ),
        ),
        Sample(
            "zone-overflow",  # found by the fuzzer: OverflowError out of the header scan
            m(contact, "zone", "Message-ID: <zone@nasty.example>\r\n").replace(
                b"+0000", b"+0000111111111111111111111111"
            ),
        ),
        Sample(
            "8bit-charset-name",  # found by the fuzzer: CharsetError out of the header scan
            m(contact, "x", "Message-ID: <charset3@nasty.example>\r\n").replace(
                b"Subject: x", b"Subject: =?\xff\xfebase64?Q?x?="
            ),
        ),
        Sample("header-only", f"From: {contact}\r\nMessage-ID: <hdr@nasty.example>\r\n".encode()),
        Sample(
            "bare-lf-and-cr",
            m(
                contact, "newlines", "Message-ID: <lf@nasty.example>\r\n", b"one\rtwo\nthree\r\n"
            ).replace(b"\r\n", b"\n"),
        ),
        Sample(
            "address-garbage",
            m(
                contact,
                "addresses",
                "Message-ID: <addr@nasty.example>\r\n"
                'Cc: "unterminated <a@b, <<>>@@, =?utf-8?B?!!!?= <x@[300.1.1.1]>, '
                f"{'l' * 400}@{'d' * 300}.example\r\n",
            ),
        ),
    ]
    if big:
        samples.append(
            Sample(
                "50MB",
                m(
                    contact,
                    "fifty megabytes",
                    "Message-ID: <big@nasty.example>\r\nMIME-Version: 1.0\r\n"
                    "Content-Type: multipart/mixed; boundary=BIG\r\n",
                    _big_attachment(BIG_MESSAGE_BYTES),
                ),
            )
        )
    return samples
