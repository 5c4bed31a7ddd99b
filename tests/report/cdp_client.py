"""A tiny Chrome DevTools Protocol client for the browser tests (stdlib + ``websockets``, which the
test extra already installs through bumble). Launches headless Chromium, opens a page at a given
viewport, and records what the page did: console messages, exceptions, log entries (CSP
violations), network requests, a screenshot, and values evaluated in the page."""

from __future__ import annotations

import base64
import contextlib
import json
import queue
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.sync.client import connect

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
    "--remote-debugging-port=0",
)


@dataclass
class PageVisit:
    url: str
    width: int
    height: int
    console: list[dict[str, Any]] = field(default_factory=list)
    exceptions: list[dict[str, Any]] = field(default_factory=list)
    log_entries: list[dict[str, Any]] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    screenshot_png: bytes = b""
    evaluated: Any = None

    @property
    def problems(self) -> list[str]:
        """Console messages of any level, uncaught exceptions and error/warning log entries."""
        out = [f"console.{c.get('type')}: {[a.get('value', a.get('description')) for a in c.get('args', [])]}"
               for c in self.console]
        out += [f"exception: {e.get('exceptionDetails', {}).get('text')}" for e in self.exceptions]
        out += [f"log {e['entry'].get('level')}: {e['entry'].get('text')}" for e in self.log_entries
                if e["entry"].get("level") in ("error", "warning")]
        return out


class Chromium:
    def __init__(self, binary: str, user_data_dir: Path, *, timeout_s: float = 30.0) -> None:
        self.timeout_s = timeout_s
        self.proc = subprocess.Popen([binary, *FLAGS, f"--user-data-dir={user_data_dir}", "about:blank"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self._lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._drain, daemon=True).start()
        url = self._devtools_url()
        self._stack = contextlib.ExitStack()
        self.ws = self._stack.enter_context(connect(url, max_size=None, open_timeout=timeout_s))
        self._id = 0
        self._backlog: list[dict[str, Any]] = []

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._lines.put(line)

    def _devtools_url(self) -> str:
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            try:
                line = self._lines.get(timeout=0.5)
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
                continue
            if "DevTools listening on " in line:
                return line.split("DevTools listening on ", 1)[1].strip()
        self.close()
        raise RuntimeError("Chromium did not report a DevTools websocket")

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> dict[str, Any]:
        self._id += 1
        msg: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        self.ws.send(json.dumps(msg))
        deadline = time.monotonic() + self.timeout_s
        while True:
            m = json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if m.get("id") == self._id:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            self._backlog.append(m)

    def _wait_event(self, method: str, session: str) -> dict[str, Any]:
        for i, m in enumerate(self._backlog):
            if m.get("method") == method and m.get("sessionId") == session:
                return self._backlog.pop(i)
        deadline = time.monotonic() + self.timeout_s
        while True:
            m = json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if m.get("method") == method and m.get("sessionId") == session:
                return m
            self._backlog.append(m)

    def _settle(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            try:
                self._backlog.append(json.loads(self.ws.recv(timeout=left)))
            except TimeoutError:
                break

    def visit(self, url: str, *, width: int, height: int, expression: str | None = None,
              settle_s: float = 0.5) -> PageVisit:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable", session=session)
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600}, session)
        self._backlog.clear()
        self.send("Page.navigate", {"url": url}, session)
        self._wait_event("Page.loadEventFired", session)
        self._settle(settle_s)
        visit = PageVisit(url, width, height)
        if expression:
            r = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session)
            visit.evaluated = r.get("result", {}).get("value")
        shot = self.send("Page.captureScreenshot", {"format": "png"}, session)
        visit.screenshot_png = base64.b64decode(shot["data"])
        for m in self._backlog:
            if m.get("sessionId") != session:
                continue
            p = m.get("params", {})
            if m["method"] == "Runtime.consoleAPICalled":
                visit.console.append(p)
            elif m["method"] == "Runtime.exceptionThrown":
                visit.exceptions.append(p)
            elif m["method"] == "Log.entryAdded":
                visit.log_entries.append(p)
            elif m["method"] == "Network.requestWillBeSent":
                visit.requests.append(p["request"]["url"])
        self._backlog.clear()
        self.send("Target.closeTarget", {"targetId": target})
        return visit

    def close(self) -> None:
        try:
            if getattr(self, "_stack", None) is not None:
                self._stack.close()
        finally:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
