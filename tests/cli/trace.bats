#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# Trace context (evkit(7), Tracing): evemit starts or continues a trace,
# every tool records its span of an event with --otlp, evretry gives its
# handler TRACEPARENT and times it; spans read back from a file and from a
# collector over HTTP (tests/otlpcollector.py).
load helpers
bats_require_minimum_version 1.5.0

SPANS="$BATS_TEST_DIRNAME/../spans.py"
COLLECTOR="$BATS_TEST_DIRNAME/../otlpcollector.py"

# tp FILE: the traceparent of the (only) event in FILE.
tp() {
	sed -n 's/.*"traceparent":"\([^"]*\)".*/\1/p' "$1"
}

@test "evemit starts a trace with --otlp, continues \$TRACEPARENT's, and leaves events alone otherwise" {
	evemit -s /shop a > "$T/plain"
	! grep -q traceparent "$T/plain"
	evemit --otlp "$T/s.otlp" -s /shop a > "$T/ev"
	[[ "$(tp "$T/ev")" =~ ^00-[0-9a-f]{32}-[0-9a-f]{16}-01$ ]]
	run python3 "$SPANS" "$T/s.otlp"
	[ "$status" -eq 0 ]
	set -- $output
	[ "$1 $2" = "evemit evemit" ]
	[ "00-$3-$4-01" = "$(tp "$T/ev")" ]
	[ "$5" = - ]
	# a handler's evemit continues its trace
	TRACEPARENT=00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01 evemit -s /shop a > "$T/child"
	[[ "$(tp "$T/child")" =~ ^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$ ]]
	[ "$(tp "$T/child")" != 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01 ]
	# an event that has one keeps it
	evemit --otlp "$T/s2.otlp" -x traceparent=00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01 \
	    -s /shop a > "$T/given"
	[ "$(tp "$T/given")" = 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01 ]
	[ ! -s "$T/s2.otlp" ]
}

@test "one event through evroute, evretry and evdedupe: one trace, each span a child of the event's" {
	evemit --otlp "$T/s.otlp" -s /shop order.placed n:=1 > "$T/ev"
	evroute --otlp "$T/s.otlp" -i "$T/ev" 'order.* > -' |
	    evretry --otlp "$T/s.otlp" -- sh -c 'cat > /dev/null; echo "$TRACEPARENT" > "$0"' "$T/handler-tp" |
	    evdedupe --otlp "$T/s.otlp" > "$T/out"
	cmp "$T/ev" "$T/out" # the traceparent went through untouched
	run python3 "$SPANS" "$T/s.otlp"
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" > "$T/spans"
	[ "$(wc -l < "$T/spans")" -eq 4 ]
	trace=$(tp "$T/ev" | cut -d- -f2) span=$(tp "$T/ev" | cut -d- -f3)
	id=$(sed 's/.*"id":"\([^"]*\)".*/\1/' "$T/ev")
	[ "$(cut -d' ' -f3 "$T/spans" | sort -u)" = "$trace" ]
	[ "$(cut -d' ' -f6 "$T/spans" | sort -u)" = "$id" ]
	grep -q "^evemit evemit $trace $span - " "$T/spans"
	grep -q "^evroute evroute $trace [0-9a-f]* $span " "$T/spans"
	grep -q "^evdedupe evdedupe $trace [0-9a-f]* $span " "$T/spans"
	# the handler's TRACEPARENT is evretry's span of its attempt
	hspan=$(grep '^evretry evretry_handler ' "$T/spans" | cut -d' ' -f4)
	[ "$(grep '^evretry evretry_handler ' "$T/spans" | cut -d' ' -f5)" = "$span" ]
	[ "$(cat "$T/handler-tp")" = "00-$trace-$hspan-01" ]
}

@test "evretry times each attempt: a failed one is a span with an error status" {
	evemit --otlp "$T/s.otlp" -s /shop a > "$T/ev"
	run evretry --otlp "$T/h.otlp" -a 2 -b 1ms -i "$T/ev" -d "$T/dead.ndjson" -- sh -c 'sleep 0.2; exit 75'
	[ "$status" -eq 0 ]
	run python3 "$SPANS" "$T/h.otlp"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	for l in "${lines[@]}"; do
		set -- $l
		[ "$2 $8" = "evretry_handler 2" ]
		[ "$7" -ge 200000000 ] # the handler's duration, in ns
	done
}

@test "--otlp URL: spans POSTed to a collector as OTLP/JSON" {
	python3 "$COLLECTOR" "$T" --lifetime 60 &
	echo $! >> "$T/bg.pids"
	wait_for 10 test -s "$T/port"
	url="http://127.0.0.1:$(cat "$T/port")/v1/traces"
	evemit --otlp "$url" -s /shop a > "$T/ev"
	evfilter --otlp "$url" true "$T/ev" > /dev/null
	wait_for 10 test -s "$T/spans.otlp"
	run python3 "$SPANS" "$T/spans.otlp"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	[[ "${lines[0]}" == "evemit evemit $(tp "$T/ev" | cut -d- -f2) "* ]]
	[[ "${lines[1]}" == "evfilter evfilter $(tp "$T/ev" | cut -d- -f2) "* ]]
	# a collector that is not there: reported, the events still go through
	kill "$(tail -1 "$T/bg.pids")"
	run evfilter --otlp "http://127.0.0.1:1/v1/traces" true "$T/ev"
	[ "$status" -eq 0 ]
	[[ "$output" == *"spans not sent"* ]]
	run -2 evfilter --otlp "$T/no/such/dir/s.otlp" true "$T/ev"
}
