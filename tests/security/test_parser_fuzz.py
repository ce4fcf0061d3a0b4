"""Hypothesis fuzz of the parsing layer (headers, bodies, addresses, HTML): no input crashes
it or breaks its promises (``parser_target.exercise``). Inputs are random bytes, MIME built
from hostile pieces (charsets, transfer encodings, boundaries, nesting, 8-bit and NUL bytes)
and the bad-MIME corpus cut and spliced.

CI runs a few thousand examples; ``INBOXLINK_PARSER_FUZZ_EXAMPLES`` raises it. The
million-execution run of ``make fuzz`` is coverage-guided (``fuzz_parsers.py``, atheris).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.security.parser_target import exercise
from tests.support.mime_corpus import cpython_samples, nasty_samples

EXAMPLES = int(os.environ.get("INBOXLINK_PARSER_FUZZ_EXAMPLES", "3000"))
_SEEDS = [
    s.raw
    for s in cpython_samples("ann@x.example") + nasty_samples("ann@x.example", big=False)
    if len(s.raw) < 20_000
]

_HEADER_NAMES = [
    "From",
    "To",
    "Cc",
    "Subject",
    "Message-ID",
    "In-Reply-To",
    "References",
    "Date",
    "Content-Type",
    "Content-Transfer-Encoding",
    "Content-Disposition",
    "MIME-Version",
    "Auto-Submitted",
    "X-Other",
    "from",
    "CONTENT-TYPE",
]
_VALUES = st.sampled_from(
    [
        "a@b.example",
        '"Q, uoted" <q@x.example>',
        "=?utf-8?B?w7w=?= <u@x.example>",
        "=?utf-7?Q?+2D0-?=",
        "=?x-bogus?Q?=FF?=",
        "=?utf-8?Q?broken",
        "<id@x.example>",
        "<a@b> <c@d> junk <",
        "Mon, 32 Foo 99999 99:99:99 +9999",
        "Tue, 03 Nov 2026 10:00:00",
        "text/plain; charset=utf-7",
        'text/html; charset="x-none"',
        "multipart/mixed; boundary=B",
        'multipart/alternative; boundary=""',
        "multipart/related; start=<c>; boundary=B",
        "message/rfc822",
        "base64",
        "quoted-printable",
        "x-uuencode",
        "8bit",
        "attachment",
        "<<>>@@, ,,",
        "@",
        "a@[::1]",
        "用户@例子.测试",
        "user@bücher.example",
        "\u202eevil",
    ]
)
_RAW_VALUE = st.binary(max_size=60).map(lambda b: b.replace(b"\n", b" "))


@st.composite
def _part(draw: st.DrawFn, depth: int = 0) -> bytes:
    lines = []
    for _ in range(draw(st.integers(0, 6))):
        value = draw(st.one_of(_VALUES.map(str.encode), _RAW_VALUE))
        lines.append(draw(st.sampled_from(_HEADER_NAMES)).encode() + b": " + value)
    boundary = b"B"
    if depth < 4 and draw(st.booleans()):
        lines.append(
            b"Content-Type: multipart/"
            + draw(st.sampled_from([b"mixed", b"related", b"alternative"]))
            + b"; boundary="
            + boundary
        )
        children = draw(st.lists(_part(depth + 1), max_size=3))
        body = b"".join(b"--" + boundary + b"\r\n" + child + b"\r\n" for child in children)
        if draw(st.booleans()):
            body += b"--" + boundary + b"--\r\n"
    else:
        body = draw(st.binary(max_size=300))
    newline = draw(st.sampled_from([b"\r\n", b"\n", b"\r"]))
    return newline.join(lines) + newline + newline + body


@st.composite
def _spliced(draw: st.DrawFn) -> bytes:
    """A corpus message cut, with random bytes dropped in."""
    seed = draw(st.sampled_from(_SEEDS))
    start = draw(st.integers(0, len(seed)))
    end = draw(st.integers(start, len(seed)))
    return seed[:start] + draw(st.binary(max_size=40)) + seed[end:]


@given(data=st.one_of(st.binary(max_size=2000), _part(), _spliced()))
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
def test_parsers_never_crash_and_keep_their_promises(data: bytes) -> None:
    exercise(data)
