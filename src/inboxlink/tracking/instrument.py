"""Adding the open pixel and rewriting links in an email's HTML (pure string work).

Only http(s) links are rewritten; ``mailto:`` and anchors stay as they are. A text-only
email gets an HTML part made from its text, since a pixel needs HTML.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

_HREF = re.compile(r"""(<a\b[^>]*?\bhref\s*=\s*)(["'])(.*?)\2""", re.I | re.S)
_URL = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)]")


def html_from_text(text: str) -> str:
    escaped = html.escape(text)
    linked = _URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped)
    return f"<html><body><div>{linked.replace(chr(10), '<br>')}</div></body></html>"


def instrument(source: str, pixel_url: str, link_url: Callable[[str], str]) -> str:
    def rewrite(match: re.Match[str]) -> str:
        original = html.unescape(match.group(3)).strip()
        if not original.lower().startswith(("http://", "https://")):
            return match.group(0)
        quote = match.group(2)
        return f"{match.group(1)}{quote}{html.escape(link_url(original))}{quote}"

    rewritten = _HREF.sub(rewrite, source)
    pixel = (
        f'<img src="{html.escape(pixel_url)}" width="1" height="1" alt="" '
        'style="display:block;width:1px;height:1px;border:0">'
    )
    closing = rewritten.lower().rfind("</body>")
    if closing == -1:
        return rewritten + pixel
    return rewritten[:closing] + pixel + rewritten[closing:]
