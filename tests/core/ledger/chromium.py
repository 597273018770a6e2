"""Headless Chromium for the HTML report's tests: a screenshot from the command line, and a page
loaded over the DevTools protocol (a websocket) to collect console errors, uncaught exceptions
and every network request, and to ask the rendered DOM questions.

Without Chromium the tests skip, except in CI (``CI=true``), where they must run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

FLAGS = [
    "--headless",
    "--no-sandbox",  # the test machines run as root
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
_WAIT = 30.0  # seconds Chromium may take to start or to load a page


def chromium_binary() -> str:
    """The Chromium executable, or a skip (a failure in CI) saying how to install it."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    reason = "chromium is not installed"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the HTML report's browser tests: {reason}")
    pytest.skip(f"{reason}; apt-get install chromium to run the HTML report's browser tests")


def screenshot(
    binary: str, page: Path, png: Path, profile: Path
) -> subprocess.CompletedProcess[str]:
    """Render ``page`` at 1280 x 2000 into ``png``."""
    command = [binary, *FLAGS, f"--user-data-dir={profile}", f"--screenshot={png}"]
    command += ["--window-size=1280,2000", page.as_uri()]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


@dataclass
class Loaded:
    """What happened while a page loaded."""

    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


class DevTools:
    """One headless Chromium driven over the DevTools protocol (one page at a time)."""

    def __init__(self, binary: str, profile: Path) -> None:
        from websockets.sync.client import connect

        command = [binary, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0"]
        self._process = subprocess.Popen(
            [*command, "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            port, path = self._address(profile / "DevToolsActivePort")
            self._socket = connect(
                f"ws://127.0.0.1:{port}{path}", max_size=None, open_timeout=_WAIT
            )
        except BaseException:
            self._stop()
            raise
        self._ids = 0
        self._events: list[dict[str, Any]] = []

    def _address(self, announced: Path) -> tuple[str, str]:
        """Chromium writes the port it chose and the browser's path once it listens."""
        deadline = time.monotonic() + _WAIT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"chromium exited at start ({self._process.returncode})")
            lines = announced.read_text().split("\n") if announced.exists() else []
            if len(lines) >= 2 and lines[1]:
                return lines[0], lines[1]
            time.sleep(0.05)  # polling for readiness, not timing anything
        raise RuntimeError("chromium did not open its DevTools port")

    def call(self, method: str, params: dict[str, Any] | None = None, session: str = "") -> Any:
        self._ids += 1
        message: dict[str, Any] = {"id": self._ids, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self._socket.send(json.dumps(message))
        while True:
            reply = json.loads(self._socket.recv(timeout=_WAIT))
            if reply.get("id") != self._ids:
                self._events.append(reply)
            elif "error" in reply:
                raise RuntimeError(f"{method}: {reply['error']}")
            else:
                return reply.get("result", {})

    def load(self, url: str) -> tuple[str, Loaded]:
        """Open ``url`` in a new tab and wait for its load event; returns the tab's session
        and what was reported while it loaded."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})
        session = session["sessionId"]
        for domain in ("Runtime", "Log", "Network", "Page"):
            self.call(f"{domain}.enable", session=session)
        self._events.clear()
        self.call("Page.navigate", {"url": url}, session)
        while not any(_is(event, "Page.loadEventFired", session) for event in self._events):
            self._events.append(json.loads(self._socket.recv(timeout=_WAIT)))
        # A round trip after the load: whatever the page reported by then has arrived.
        self.call("Runtime.evaluate", {"expression": "0"}, session)
        return session, _loaded([e for e in self._events if e.get("sessionId") == session])

    def evaluate(self, session: str, expression: str) -> Any:
        result = self.call(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True}, session
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def close(self) -> None:
        try:
            self._socket.close()
        finally:
            self._stop()

    def _stop(self) -> None:
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def _is(event: dict[str, Any], method: str, session: str) -> bool:
    return event.get("method") == method and event.get("sessionId") == session


def _loaded(events: list[dict[str, Any]]) -> Loaded:
    loaded = Loaded()
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            loaded.errors.append(details.get("exception", {}).get("description") or details["text"])
        elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
            loaded.errors.append(" ".join(str(arg.get("value")) for arg in params["args"]))
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            loaded.errors.append(params["entry"]["text"])
        elif method == "Network.requestWillBeSent":
            loaded.requests.append(params["request"]["url"])
    return loaded
