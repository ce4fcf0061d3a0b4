import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inboxlink.mail.body import UNREADABLE, parse_body, sanitize_html
from inboxlink.mail.headers import Mailbox, parse_headers
from inboxlink.mail.outgoing import InvalidHeader, OutgoingMessage

RAW = (
    b"From: =?utf-8?q?J=C3=BCrgen_M=C3=BCller?= <Juergen@Example.COM>\r\n"
    b"To: Ann <ann@client.com>, bob@vendor.org\r\n"
    b"Cc: carol@x.org\r\n"
    b"Subject: =?utf-8?b?R3LDvMOfZQ==?=\r\n"
    b"Date: Tue, 03 Nov 2026 10:00:00 +0100\r\n"
    b"Message-ID: <abc@example.com>\r\n"
    b"In-Reply-To: <parent@example.com>\r\n"
    b"References: <root@example.com> <parent@example.com>\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
    b"Hello there,\r\nthis is the body.\r\n"
)


def test_headers_are_decoded_and_normalised() -> None:
    headers = parse_headers(RAW)
    assert headers.sender == Mailbox("juergen@example.com", "Jürgen Müller")
    assert headers.subject == "Grüße"
    assert [m.email for m in headers.to] == ["ann@client.com", "bob@vendor.org"]
    assert headers.message_id == "<abc@example.com>"
    assert headers.in_reply_to == "<parent@example.com>"
    assert headers.references == ("<root@example.com>", "<parent@example.com>")
    assert headers.date is not None and headers.date.utcoffset() is not None
    assert headers.participants() == {
        "juergen@example.com",
        "ann@client.com",
        "bob@vendor.org",
        "carol@x.org",
    }


def test_malformed_headers_do_not_crash() -> None:
    headers = parse_headers(b"From: <<<\r\nDate: yesterday\r\nTo: ,,,\r\n\r\n")
    assert headers.sender is None and headers.date is None and headers.to == ()


def test_body_and_snippet() -> None:
    body = parse_body(RAW)
    assert body.text.startswith("Hello there")
    assert body.snippet == "Hello there, this is the body."


def test_html_is_sanitised() -> None:
    dirty = '<p onclick="x()">Hi<script>alert(1)</script><a href="javascript:alert(1)">l</a><img src="http://t/x.png"></p>'
    clean = sanitize_html(dirty)
    assert "script" not in clean and "onclick" not in clean and "javascript:" not in clean
    assert "<img" not in clean and "Hi" in clean


@pytest.mark.parametrize(
    "field",
    ["subject", "name", "email"],
)
def test_header_injection_is_refused(field: str) -> None:
    values = {"subject": "Hi", "name": "Jane", "email": "jane@acme.com"}
    values[field] = values[field] + "\r\nBcc: victim@evil.com"
    with pytest.raises(InvalidHeader) as info:
        OutgoingMessage(
            sender=Mailbox(values["email"], values["name"]),
            to=(Mailbox("ann@client.com"),),
            subject=values["subject"],
            message_id="<x@acme.com>",
        )
    assert info.value.code == "invalid_header"


def test_outgoing_bytes_keep_bcc_out_of_the_sent_copy_only_when_asked() -> None:
    message = OutgoingMessage(
        sender=Mailbox("jane@acme.com", "Jane"),
        to=(Mailbox("ann@client.com"),),
        bcc=(Mailbox("boss@acme.com"),),
        subject="Offer",
        text="Hello",
        message_id="<m1@acme.com>",
        in_reply_to="<p@client.com>",
    )
    wire = message.to_bytes()
    assert b"Bcc" not in wire and b"Message-ID: <m1@acme.com>" in wire
    assert b"In-Reply-To: <p@client.com>" in wire and b"References: <p@client.com>" in wire
    assert b"Bcc: boss@acme.com" in message.to_bytes(include_bcc=True)
    assert message.recipients == ["ann@client.com", "boss@acme.com"]


def test_raw_utf8_and_folded_headers() -> None:
    raw = (
        "From: Jürgen Müller <j@x.de>\r\nSubject: Grüße\r\n  ☃ again\r\n"
        'To: "Doe, Jane" <jane@y.com>,\r\n bob@z.com\r\n\r\n'
    ).encode()
    headers = parse_headers(raw)
    assert headers.sender == Mailbox("j@x.de", "Jürgen Müller")
    assert headers.subject == "Grüße ☃ again"
    assert [m.email for m in headers.to] == ["jane@y.com", "bob@z.com"]
    assert headers.to[0].name == "Doe, Jane"


@given(st.binary(max_size=2000))
@settings(max_examples=300, deadline=None)
def test_any_bytes_parse_without_raising(raw: bytes) -> None:
    headers = parse_headers(raw)
    assert isinstance(headers.subject, str)


def test_hostile_structures_and_nul_bytes_never_stop_parsing() -> None:
    nested = b"Content-Type: multipart/mixed; boundary=b0\r\n\r\n"
    for depth in range(1, 1200):
        nested += (
            f"--b{depth - 1}\r\nContent-Type: multipart/mixed; boundary=b{depth}\r\n\r\n".encode()
        )
    body = parse_body(b"From: a@b.example\r\nSubject: deep\r\n" + nested)
    assert not body.readable and body.snippet == UNREADABLE
    nul = b"From: a\x00b@c.example\r\nSubject: hi\x00there\r\n\r\nbody\x00text\r\n"
    assert "\x00" not in parse_headers(nul).subject
    assert "\x00" not in parse_body(nul).text


def test_parsed_text_is_always_storable() -> None:
    """UTF-7 decodes to lone surrogates and 8-bit Message-IDs arrive as surrogate escapes:
    no database encodes either, so both used to fail the whole batch."""
    raw = (
        b"Subject: =?utf-7?Q?+2D0-?=\r\nMessage-ID: <caf\xe9@x.example>\r\n"
        b"In-Reply-To: <" + b"p" * 1200 + b"@x.example>\r\n"
        b"Content-Type: text/plain; charset=utf-7\r\n\r\n+2D0-hello"
    )
    headers, body = parse_headers(raw), parse_body(raw)
    for text in (headers.subject, headers.message_id, body.text, body.snippet):
        text.encode("utf-8")
    assert headers.message_id == "<caf\ufffd@x.example>"
    assert headers.in_reply_to == ""  # longer than any Message-ID may be: ignored
    assert body.text == "\ufffdhello" and body.readable


def test_inputs_the_parser_fuzz_found() -> None:
    """Each raised out of parse_headers, which the IMAP scan calls: the inbox's sync stopped."""
    zone = parse_headers(b"Date: Mon, 02 Nov 2026 10:00:00 +0000111111111111111111111111\r\n")
    assert zone.date is None  # OverflowError from parsedate_to_datetime
    charset = parse_headers(b"Subject: =?\xff\xfebase64?Q?x?=\r\n")  # CharsetError
    assert charset.subject.endswith("base64?Q?x?=")
    control = parse_headers(b"Subject: a\x07b\x1bc\r\n")
    assert control.subject == "a b c"
