#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
# An evretry(1) co-process handler: appends each order's id and total to
# totals.txt. It answers "fail" for an order without priced items (it will
# never have them) and "retry" when the file cannot be written (it may be
# writable later).
import json
import sys

for line in sys.stdin:
    try:
        event = json.loads(line)
        total = sum(item["price"] for item in event["data"]["items"])
    except (KeyError, TypeError, ValueError) as e:
        print("fail no priced items:", repr(e), flush=True)
        continue
    try:
        with open("totals.txt", "a") as out:
            out.write(f"{event['id']} {total}\n")
    except OSError as e:
        print("retry", e, flush=True)
    else:
        print("ok", flush=True)
