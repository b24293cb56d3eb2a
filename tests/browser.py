"""Headless Chromium driven through its DevTools protocol, as a person uses a page: type into the text box, press the
button, wait for the audio to play, and take a screenshot."""

from __future__ import annotations

import base64
import json
import pathlib
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request

from websockets.sync.client import connect

# What the page shows once the answer played, read from its status line's data attributes.
RESULT = """(() => { const s = document.getElementById("status");
  return JSON.stringify({played: s.dataset.played === "true", duration: Number(s.dataset.duration || 0),
                         status: s.textContent, error: s.className === "error" ? s.textContent : ""}); })()"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Page:
    def __init__(self, websocket_url: str):
        self.socket = connect(websocket_url, max_size=2**26)
        self.next_id = 0

    def call(self, method: str, **params) -> dict:
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv(timeout=60))
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def evaluate(self, expression: str):
        return self.call("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get("value")

    def click(self, selector: str) -> None:
        box = self.evaluate(f"JSON.stringify(document.querySelector({json.dumps(selector)}).getBoundingClientRect())")
        box = json.loads(box)
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)


def type_press_and_wait(url: str, sentence: str, screenshot: pathlib.Path, timeout_s: float = 120) -> dict:
    """Open `url`, replace the text box's sentence by typing `sentence`, press Speak, wait until the audio has played
    (or an error shows); the page's result ({played, duration, status, error}) and a PNG screenshot."""
    port = _free_port()
    profile = tempfile.mkdtemp(prefix="chromium-")
    browser = subprocess.Popen(
        [shutil.which("chromium"), "--headless", "--no-sandbox", "--disable-gpu", f"--remote-debugging-port={port}",
         "--remote-debugging-address=127.0.0.1", f"--user-data-dir={profile}", "--window-size=900,700",
         "--autoplay-policy=no-user-gesture-required", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json", timeout=5) as answer:
                    target = next(t for t in json.load(answer) if t["type"] == "page")
                break
            except (OSError, StopIteration):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        page = _Page(target["webSocketDebuggerUrl"])
        page.call("Page.enable")
        page.call("Page.navigate", url=url)
        while page.evaluate("document.readyState") != "complete":
            time.sleep(0.1)
        page.click("#text")
        page.evaluate("document.getElementById('text').select()")  # typing then replaces the sample sentence
        page.call("Input.insertText", text=sentence)
        page.click("#speak")
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            result = json.loads(page.evaluate(RESULT))
            if result["played"] or result["error"]:
                break
            time.sleep(0.2)
        result["typed"] = page.evaluate("document.getElementById('text').value")
        shot = page.call("Page.captureScreenshot", format="png")["data"]
        screenshot.write_bytes(base64.b64decode(shot))
        page.socket.close()
        return result
    finally:
        browser.terminate()
        browser.wait(timeout=30)
        shutil.rmtree(profile, ignore_errors=True)
