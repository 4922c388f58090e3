#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""tests/hookserver.py — a webhook endpoint on loopback for the tests.

    hookserver.py DIR [--status S,S,...] [--refuse TEXT] [--retry-after N]
                      [--default S] [--verify SECRET]

Listens on 127.0.0.1 on a port the kernel chooses (HTTP/1.1, keep-alive,
one thread per connection), writes the port to DIR/port once it listens,
and records each request as one JSON line in DIR/requests.ndjson:
{"t": seconds, "peer": "host:port", "method", "path", "headers": {lowercase
name: value}, "body": text, "status": answered, "verified": bool or null}.
The answer: the next of --status's statuses while any are left, else 422
for a body containing --refuse's TEXT, else --default (200). 429 and 503
carry Retry-After: N with --retry-after. With --verify, a request whose
Standard Webhooks signature does not verify gets 401.
"""
import argparse
import base64
import hashlib
import hmac
import http.server
import json
import os
import threading
import time

ap = argparse.ArgumentParser()
ap.add_argument("dir")
ap.add_argument("--status", default="")
ap.add_argument("--refuse", default=None)
ap.add_argument("--retry-after", default=None)
ap.add_argument("--default", type=int, default=200)
ap.add_argument("--verify", default=None)
args = ap.parse_args()

script = [int(s) for s in args.status.split(",") if s]
lock = threading.Lock()
log = open(os.path.join(args.dir, "requests.ndjson"), "a", buffering=1)


def verified(headers, body):
    if args.verify is None:
        return None
    key = base64.b64decode(args.verify.removeprefix("whsec_"))
    wid = headers.get("webhook-id", "")
    ts = headers.get("webhook-timestamp", "")
    signed = f"{wid}.{ts}.".encode() + body
    mac = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    sigs = headers.get("webhook-signature", "").split()
    return any(s.split(",", 1) == ["v1", mac] for s in sigs)


class Hook(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        headers = {k.lower(): v for k, v in self.headers.items()}
        ok = verified(headers, body)
        with lock:
            if script:
                status = script.pop(0)
            elif args.refuse is not None and args.refuse.encode() in body:
                status = 422
            else:
                status = args.default
            if ok is False:
                status = 401
            log.write(json.dumps({
                "t": time.time(), "peer": "%s:%d" % self.client_address,
                "method": self.command, "path": self.path, "headers": headers,
                "body": body.decode("utf-8", "replace"), "status": status,
                "verified": ok}) + "\n")
        answer = b'{"error":"not today"}' if status >= 400 else b""
        self.send_response(status)
        if args.retry_after is not None and status in (429, 503):
            self.send_header("Retry-After", args.retry_after)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
server.daemon_threads = True
with open(os.path.join(args.dir, "port.tmp"), "w") as f:
    f.write("%d\n" % server.server_address[1])
os.rename(os.path.join(args.dir, "port.tmp"), os.path.join(args.dir, "port"))
server.serve_forever()
