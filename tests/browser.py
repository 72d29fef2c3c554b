"""Headless Chromium driven over the Chrome DevTools Protocol, for tests that open a page as a person would.

Chromium (Debian's `chromium`) is started with its own profile in a temporary
folder and a debugging port chosen by itself (read from DevToolsActivePort);
one page is opened and every request, console message, log entry and
uncaught exception it causes is recorded. No framework: a websocket and JSON.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

STARTUP_LIMIT = 60.0  # seconds Chromium may take to open its debugging port on a busy machine
FLAGS = (
    "--headless=new",
    "--no-sandbox",  # CI and this machine run as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--remote-debugging-port=0",
)


def chromium_or_skip() -> str:
    """Chromium's path; outside CI a missing Chromium skips the test, in CI it fails it."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    missing = None if found else "headless Chromium (Debian package chromium: apt-get install -y chromium)"
    if importlib.util.find_spec("websocket") is None:
        missing = "websocket-client (pip install -e '.[test]')"
    if missing is None:
        return found or ""
    if os.environ.get("CI"):
        pytest.fail(f"CI must have {missing}: .ci/run installs both")
    pytest.skip(f"needs {missing}; CI installs it")


@dataclass
class Visit:
    """What one page load did: the requests it made, the errors it printed, and its answers to our questions."""

    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    answers: dict[str, Any] = field(default_factory=dict)


class Browser:
    """One Chromium process and one page target attached over CDP (flat sessions)."""

    def __init__(self, executable: str, profile: Path, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.process = subprocess.Popen(
            [executable, *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=_real_clock(),
        )
        import websocket  # the test extra's websocket-client; chromium_or_skip checked it is there

        port, path = _active_port(profile, self.process)
        self.ws = websocket.create_connection(
            f"ws://127.0.0.1:{port}{path}", timeout=STARTUP_LIMIT, suppress_origin=True
        )
        self.next_id = 0
        self.events: list[dict[str, Any]] = []
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]

    def call(self, method: str, params: dict[str, Any] | None = None, session: bool = False) -> dict[str, Any]:
        """Send one command and return its result; events that arrive meanwhile are kept."""
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self.session
        self.ws.send(json.dumps(message))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def page(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.call(method, params, session=True)

    def wait_for(self, event: str) -> None:
        while not any(e.get("method") == event for e in self.events):
            self.events.append(json.loads(self.ws.recv()))

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (JSON-serialisable)."""
        result = self.page("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def visit(
        self, url: str, questions: dict[str, str], screenshot: Path | None = None, pdf: Path | None = None
    ) -> Visit:
        """Open `url` at the browser's size, answer each JavaScript question, and record what the page did."""
        for domain in ("Page", "Network", "Runtime", "Log"):
            self.page(f"{domain}.enable")
        self.page(
            "Emulation.setDeviceMetricsOverride",
            {"width": self.width, "height": self.height, "deviceScaleFactor": 1, "mobile": False},
        )
        self.page("Page.navigate", {"url": url})
        self.wait_for("Page.loadEventFired")
        found = Visit(answers={name: self.evaluate(js) for name, js in questions.items()})
        if screenshot is not None:
            data = self.page("Page.captureScreenshot", {"format": "png"})["data"]
            screenshot.write_bytes(base64.b64decode(data))
        if pdf is not None:
            data = self.page("Page.printToPDF", {"preferCSSPageSize": True, "printBackground": True})["data"]
            pdf.write_bytes(base64.b64decode(data))
        for event in self.events:
            _record(event, found)
        return found

    def close(self) -> None:
        try:
            self.ws.close()
        finally:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _real_clock() -> dict[str, str]:
    """The environment without libfaketime: CI runs the dated tests under faketime, a browser needs the real clock."""
    return {k: v for k, v in os.environ.items() if k != "LD_PRELOAD" and not k.startswith("FAKETIME")}


def _record(event: dict[str, Any], visit: Visit) -> None:
    method, params = event.get("method"), event.get("params", {})
    if method == "Network.requestWillBeSent":
        visit.requests.append(params["request"]["url"])
    elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
        visit.errors.append(
            f"console.{params['type']}: {[a.get('value', a.get('description')) for a in params.get('args', [])]}"
        )
    elif method == "Runtime.exceptionThrown":
        visit.errors.append(f"exception: {params['exceptionDetails'].get('text')}")
    elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
        visit.errors.append(
            f"log {params['entry']['level']}: {params['entry'].get('text')} {params['entry'].get('url', '')}"
        )


def _active_port(profile: Path, process: subprocess.Popen[bytes]) -> tuple[str, str]:
    """Chromium writes the port it chose and the browser's websocket path into the profile folder."""
    marker = profile / "DevToolsActivePort"
    deadline = time.monotonic() + STARTUP_LIMIT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"chromium exited with code {process.returncode} before opening its debugging port")
        if marker.exists():
            lines = marker.read_text().split()
            if len(lines) >= 2:
                return lines[0], lines[1]
        time.sleep(0.05)
    raise RuntimeError(f"chromium opened no debugging port within {STARTUP_LIMIT:.0f} s")


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
