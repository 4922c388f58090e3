#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""tests/spans.py FILE...: the spans of OTLP/JSON export requests (one a
line, as --otlp writes them), one a line:

    SERVICE NAME TRACEID SPANID PARENTSPANID|- EVENTID|- DURATION_NS STATUS

checking the shape on the way (hex ids of the right length, times as
decimal strings, end not before start); exits 1 naming what is wrong."""
import json
import re
import sys


def main():
    for path in sys.argv[1:]:
        with open(path) as f:
            for no, line in enumerate(f, 1):
                req = json.loads(line)
                for rs in req["resourceSpans"]:
                    attrs = {a["key"]: a["value"] for a in rs["resource"]["attributes"]}
                    service = attrs["service.name"]["stringValue"]
                    for ss in rs["scopeSpans"]:
                        for s in ss["spans"]:
                            assert re.fullmatch(r"[0-9a-f]{32}", s["traceId"]), s
                            assert re.fullmatch(r"[0-9a-f]{16}", s["spanId"]), s
                            parent = s.get("parentSpanId", "-")
                            assert parent == "-" or re.fullmatch(r"[0-9a-f]{16}", parent), s
                            start, end = int(s["startTimeUnixNano"]), int(s["endTimeUnixNano"])
                            assert end >= start > 0, s
                            ev = {a["key"]: a["value"] for a in s["attributes"]}
                            evid = ev.get("cloudevents.event_id", {}).get("stringValue", "-")
                            print(service, s["name"].replace(" ", "_"), s["traceId"],
                                  s["spanId"], parent, evid, end - start, s["status"]["code"])


if __name__ == "__main__":
    try:
        main()
    except (AssertionError, KeyError, ValueError) as e:
        print("spans: %s" % e, file=sys.stderr)
        sys.exit(1)
