#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""tests/browser.py — drive headless Chromium over the DevTools protocol.

    browser.py URL STEP...

Starts Debian's chromium headless (fresh profile, no network beyond what
the page asks for), opens URL, and runs the steps in order:

    wait:JS     until the expression JS is truthy (at most BROWSER_TIMEOUT
                seconds, default 20; then exit 1 saying which)
    js:JS       evaluate JS
    print:JS    evaluate JS and print its value as JSON on one line
    run:CMD     run the shell command CMD (exit 1 if it fails)
    shot:FILE   save a PNG screenshot of the page

Needs python3-websocket (Debian's /usr/bin/python3 has it) and chromium.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

import websocket

TIMEOUT = float(os.environ.get("BROWSER_TIMEOUT", "20"))
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def die(msg):
    print("browser.py: " + msg, file=sys.stderr)
    sys.exit(1)


class Page:
    def __init__(self, wsurl):
        self.ws = websocket.create_connection(wsurl, timeout=TIMEOUT)
        self.n = 0

    def call(self, method, **params):
        self.n += 1
        self.ws.send(json.dumps({"id": self.n, "method": method, "params": params}))
        while True:
            m = json.loads(self.ws.recv())
            if m.get("id") == self.n:
                if "error" in m:
                    die("%s: %s" % (method, m["error"]))
                return m.get("result", {})

    def eval(self, js):
        r = self.call("Runtime.evaluate", expression=js, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            die("%s: %s" % (js, r["exceptionDetails"].get("exception", {}).get("description", r["exceptionDetails"])))
        return r["result"].get("value")


def start(profile):
    args = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--user-data-dir=" + profile,
            "--remote-debugging-port=0", "--window-size=1280,860", "about:blank"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    portfile = os.path.join(profile, "DevToolsActivePort")
    deadline = time.time() + TIMEOUT * 3
    while not (os.path.exists(portfile) and open(portfile).read().count("\n") >= 1):
        if proc.poll() is not None or time.time() > deadline:
            die("chromium did not start")
        time.sleep(0.05)
    port = open(portfile).read().split("\n")[0]
    while True:
        try:
            targets = json.load(urllib.request.urlopen("http://127.0.0.1:%s/json/list" % port))
            pages = [t for t in targets if t.get("type") == "page"]
            if pages:
                return proc, pages[0]["webSocketDebuggerUrl"]
        except OSError:
            pass
        if time.time() > deadline:
            die("no page target in chromium")
        time.sleep(0.05)


def main():
    if len(sys.argv) < 2:
        die("usage: browser.py URL STEP...")
    profile = tempfile.mkdtemp(prefix="evkit-chromium-")
    proc = None
    try:
        proc, wsurl = start(profile)
        page = Page(wsurl)
        page.call("Page.enable")
        page.call("Page.navigate", url=sys.argv[1])
        for step in sys.argv[2:]:
            kind, _, arg = step.partition(":")
            if kind == "wait":
                deadline = time.time() + TIMEOUT
                probe = "(() => { try { return !!(%s); } catch (e) { return false; } })()" % arg
                while not page.eval(probe):
                    if time.time() > deadline:
                        die("timed out waiting for: " + arg)
                    time.sleep(0.05)
            elif kind == "js":
                page.eval(arg)
            elif kind == "print":
                print(json.dumps(page.eval(arg)), flush=True)
            elif kind == "run":
                if subprocess.call(arg, shell=True) != 0:
                    die("failed: " + arg)
            elif kind == "shot":
                import base64
                png = page.call("Page.captureScreenshot", format="png")["data"]
                with open(arg, "wb") as f:
                    f.write(base64.b64decode(png))
            else:
                die("unknown step: " + step)
    finally:
        if proc:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                os.killpg(proc.pid, signal.SIGKILL)
        shutil.rmtree(profile, ignore_errors=True)


main()
