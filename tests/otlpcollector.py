#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""tests/otlpcollector.py — a tiny OpenTelemetry collector for the tests.

    otlpcollector.py DIR [--lifetime SECONDS] [--stall]

Listens on 127.0.0.1 on a port the kernel chooses, writes the port to
DIR/port once it listens, and appends the body of each POST to /v1/traces
(OTLP/JSON, Content-Type application/json) as one line to DIR/spans.otlp,
answering 200 with {} (an ExportTraceServiceResponse). Anything else gets
404 or 415. With --stall it reads each request and never answers (a
collector that hangs). Exits after --lifetime seconds (default 60)
whatever happens.
"""
import argparse
import http.server
import json
import os
import threading
import time

ap = argparse.ArgumentParser()
ap.add_argument("dir")
ap.add_argument("--lifetime", type=float, default=60)
ap.add_argument("--stall", action="store_true")
args = ap.parse_args()
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, code, body=b"{}"):
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if args.stall:
            time.sleep(args.lifetime)
            return
        if self.path != "/v1/traces":
            return self.answer(404)
        if self.headers.get("Content-Type", "").split(";")[0] != "application/json":
            return self.answer(415)
        json.loads(body)  # a body that is not JSON ends the request with an error
        with lock, open(os.path.join(args.dir, "spans.otlp"), "ab") as f:
            f.write(body.rstrip(b"\n") + b"\n")
        self.answer(200)

    def log_message(self, *a):
        pass


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
threading.Timer(args.lifetime, srv.shutdown).start()
with open(os.path.join(args.dir, "port.tmp"), "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(os.path.join(args.dir, "port.tmp"), os.path.join(args.dir, "port"))
srv.serve_forever()
