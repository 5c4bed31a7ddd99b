"""Visit a page in the system Chromium through Playwright for Python and record what it did.

Playwright launches Debian's ``/usr/bin/chromium`` (no browser download: ``executable_path``), one
fresh browser context per visit so the viewport, device scale and mobile emulation are exact. A
visit records console messages (Chromium reports Content-Security-Policy violations there),
uncaught page errors, dialogs a script opened (alert, confirm, prompt: dismissed), every request the
page made, a full-page screenshot, and the value of a JavaScript expression or function evaluated in
the page. Every request that is not a ``file:`` URL is aborted (and recorded), so a page under test
can never reach a network.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from playwright.sync_api import Browser, ConsoleMessage, Playwright, Route, sync_playwright

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
)


@dataclass
class PageVisit:
    url: str
    width: int
    height: int
    console: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    screenshot_png: bytes = b""
    evaluated: Any = None

    @property
    def problems(self) -> list[str]:
        """Console messages of any level (CSP violations included) and uncaught exceptions."""
        return [*self.console, *(f"exception: {e}" for e in self.page_errors)]


class Chromium:
    """One headless Chromium for a test module; :meth:`visit` opens each page in a fresh context."""

    def __init__(self, executable: str, *, timeout_s: float = 30.0) -> None:
        self.timeout_ms = timeout_s * 1000.0
        self._pw: Playwright = sync_playwright().start()
        try:
            self.browser: Browser = self._pw.chromium.launch(
                executable_path=executable, args=list(FLAGS), headless=True, timeout=self.timeout_ms
            )
        except BaseException:
            self._pw.stop()
            raise

    def visit(
        self,
        url: str,
        *,
        width: int,
        height: int,
        expression: str | None = None,
        settle_ms: float = 300.0,
        full_page: bool = True,
    ) -> PageVisit:
        visit = PageVisit(url, width, height)
        context = self.browser.new_context(
            viewport={"width": width, "height": height},
            device_scale_factor=1,
            is_mobile=width < 600,
            has_touch=width < 600,
            service_workers="block",
        )
        try:
            context.set_default_timeout(self.timeout_ms)

            def block(route: Route) -> None:
                visit.blocked.append(route.request.url)
                route.abort()

            context.route(lambda u: not u.startswith("file:"), block)
            page = context.new_page()
            page.on("console", lambda m: visit.console.append(_console_text(m)))
            page.on("pageerror", lambda e: visit.page_errors.append(str(e)))
            page.on("request", lambda r: visit.requests.append(r.url))
            page.on("dialog", lambda d: (visit.dialogs.append(f"{d.type}: {d.message}"), d.dismiss()))
            page.goto(url, wait_until="load")
            page.wait_for_timeout(settle_ms)
            if expression is not None:
                visit.evaluated = page.evaluate(expression)
            visit.screenshot_png = page.screenshot(full_page=full_page, type="png")
        finally:
            context.close()
        return visit

    def close(self) -> None:
        try:
            self.browser.close()
        finally:
            self._pw.stop()


def _console_text(m: ConsoleMessage) -> str:
    return f"console.{m.type}: {m.text}"
