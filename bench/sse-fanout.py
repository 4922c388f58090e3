#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""bench/sse-fanout.py — many Server-Sent Events subscribers of one spool.

    sse-fanout.py URL SPOOL PID CLIENTS EVENTS

Opens CLIENTS connections to URL (evhttp's GET /events, Accept:
text/event-stream), then appends EVENTS events to SPOOL, one every 10 ms,
each carrying the time it was written (through one `evfilter -o SPOOL`
fed on a pipe), and reads every subscriber's stream until each has them
all. Prints one line: the p50/p99/max delivery latency over every
(event, subscriber) pair, and PID's resident memory per subscriber (the
growth of its VmRSS once all are connected, divided by CLIENTS). The
client is one Python thread: its own delays are in the latency, which is
therefore an upper bound.
"""
import json
import os
import resource
import selectors
import socket
import subprocess
import sys
import time
import urllib.parse

url, spool, pid, nclients, nevents = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
u = urllib.parse.urlsplit(url)


def rss_kib():
    with open("/proc/%s/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def die(msg):
    print("sse-fanout: " + msg)
    sys.exit(1)


soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if soft < nclients + 64:
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, nclients + 64), hard))
before = rss_kib()
sel = selectors.DefaultSelector()
req = ("GET %s HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\n\r\n" % (u.path or "/", u.netloc)).encode()
clients = []
for i in range(nclients):
    s = socket.create_connection((u.hostname, u.port))
    s.sendall(req)
    s.setblocking(False)
    c = {"sock": s, "buf": b"", "head": False, "got": 0}
    clients.append(c)
    sel.register(s, selectors.EVENT_READ, c)
lat = []
deadline = time.time() + 60


def pump(timeout):
    for key, _ in sel.select(timeout):
        c = key.data
        try:
            data = c["sock"].recv(65536)
        except BlockingIOError:
            continue
        if not data:
            die("a subscriber was disconnected")
        now = time.time()
        c["buf"] += data
        if not c["head"]:
            end = c["buf"].find(b"\r\n\r\n")
            if end < 0:
                continue
            if not c["buf"].startswith(b"HTTP/1.1 200"):
                die("answer: " + c["buf"][:80].decode("latin-1"))
            c["head"] = True
            c["buf"] = c["buf"][end + 4:]
        *lines, c["buf"] = c["buf"].split(b"\n")
        for line in lines:
            # a chunk size line or anything else is not "data:"
            if line.startswith(b"data:"):
                try:
                    ev = json.loads(line[5:])
                except ValueError:
                    continue
                if ev.get("type") == "bench.sse":
                    lat.append(now - ev["data"]["t"])
                    c["got"] += 1


while not all(c["head"] for c in clients):
    pump(0.1)
    if time.time() > deadline:
        die("not every subscriber was answered in 60 s")
connected = rss_kib()
pub = subprocess.Popen(["evfilter", "true", "-o", spool], stdin=subprocess.PIPE)
for i in range(nevents):
    line = json.dumps({"specversion": "1.0", "id": "sse-%d" % i, "source": "/bench",
                       "type": "bench.sse", "data": {"t": time.time()}})
    pub.stdin.write((line + "\n").encode())
    pub.stdin.flush()
    stop = time.time() + 0.01
    while time.time() < stop:
        pump(max(0, stop - time.time()))
pub.stdin.close()
pub.wait()
while any(c["got"] < nevents for c in clients):
    pump(0.1)
    if time.time() > deadline + 60:
        die("not every subscriber got every event")
after = rss_kib()
lat.sort()


def pct(p):
    return lat[min(len(lat) - 1, int(len(lat) * p))] * 1000


print("%d subscribers x %d events: delivery latency p50 %.1f ms, p99 %.1f ms, max %.1f ms; "
      "evhttp RSS %.1f KiB per subscriber (%d KiB before, %d connected, %d after)" % (
          nclients, nevents, pct(0.5), pct(0.99), lat[-1] * 1000,
          (max(connected, after) - before) / nclients, before, connected, after))
