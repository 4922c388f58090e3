#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
# notify-listen.py SOCKET: be systemd's end of sd_notify(3) for a test: bind
# a datagram socket at SOCKET and print every message received, one line per
# field (READY=1, STATUS=..., WATCHDOG=1, STOPPING=1), flushed at once.
import os
import socket
import sys

path = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path + ".tmp")
os.rename(path + ".tmp", path)  # the socket appears when it is ready
while True:
    msg = s.recv(65536).decode("utf-8", "replace")
    for field in msg.split("\n"):
        if field:
            print(field, flush=True)
