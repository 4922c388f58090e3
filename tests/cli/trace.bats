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

@test "--otlp URL: a collector that does not answer holds up no event" {
	python3 "$COLLECTOR" "$T" --lifetime 60 --stall &
	echo $! >> "$T/bg.pids"
	wait_for 10 test -s "$T/port"
	url="http://127.0.0.1:$(cat "$T/port")/v1/traces"
	for i in 1 2 3; do evemit --otlp /dev/null -s /shop --id "e$i" a; done > "$T/ev"
	mkfifo "$T/in"
	bg evfilter --otlp "$url" true "$T/in" > "$T/out" 2> "$T/err"
	pid=$BGPID
	exec 5> "$T/in"
	# each event is committed alone, and each commit sends its span: a tool
	# that waited for the collector would hold the next event 5 s
	for i in 1 2 3; do
		sed -n "${i}p" "$T/ev" >&5
		wait_for 4 test "$(wc -l < "$T/out")" -ge "$i"
	done
	exec 5>&-
	wait "$pid"
	cmp "$T/out" "$T/ev"
	grep -q "spans not sent" "$T/err"
}

# evhttp on a free loopback port, its stderr in $T/log; sets URL, HPID.
evhttp_start() {
	bg evhttp -l 127.0.0.1:0 "$@" 2> "$T/log"
	HPID=$BGPID
	wait_for 20 grep -q "(port [0-9]*)" "$T/log"
	URL="http://127.0.0.1:$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$T/log" | head -1)"
}

@test "evhttp --otlp: a server span per request; a new trace, or the caller's continued (traceparent, ce-traceparent)" {
	local caller=0af7651916cd43dd8448eb211c80319c cspan=b7ad6b7169203331
	evhttp_start -o "$T/ev.ndjson" --otlp "$T/s.otlp"
	# no trace given: a new one, the event's traceparent is the server span
	curl -sf -H 'Content-Type: application/cloudevents+json' \
	    --data-binary '{"specversion":"1.0","type":"a","source":"/x","id":"e1"}' "$URL/events"
	# a W3C traceparent header: its trace continued, for every event without one
	curl -sf -H "traceparent: 00-$caller-$cspan-01" -H 'Content-Type: application/x-ndjson' \
	    --data-binary $'{"type":"b","id":"e2"}\n{"type":"c","id":"e3","traceparent":"00-11111111111111111111111111111111-2222222222222222-01"}\n' \
	    "$URL/events"
	# binary mode: ce-traceparent is the event's, and the request's parent
	curl -sf -H 'ce-specversion: 1.0' -H 'ce-type: d' -H 'ce-id: e4' -H 'ce-source: /x' \
	    -H 'ce-traceparent: 00-33333333333333333333333333333333-4444444444444444-01' \
	    -H 'Content-Type: application/json' --data-binary '{"n":4}' "$URL/events"
	# spans are written every few seconds while it runs
	wait_for 20 test -s "$T/s.otlp"
	kill "$HPID"
	wait "$HPID"
	run python3 "$SPANS" "$T/s.otlp"
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" > "$T/spans"
	[ "$(wc -l < "$T/spans")" -eq 3 ]
	[ "$(cut -d' ' -f1,2,8 "$T/spans" | sort -u)" = "evhttp POST_/events 1" ]
	# request 1: a root span, the event's id, and the event carries it
	set -- $(grep ' e1 ' "$T/spans")
	[ "$5" = - ]
	[ "$(jq -r 'select(.id == "e1") | .traceparent' "$T/ev.ndjson")" = "00-$3-$4-01" ]
	# request 2: a child of the caller's span; e2 stamped with it, e3 kept its own
	set -- $(grep " $caller " "$T/spans")
	[ "$5 $6" = "$cspan -" ]
	[ "$(jq -r 'select(.id == "e2") | .traceparent' "$T/ev.ndjson")" = "00-$caller-$4-01" ]
	[ "$(jq -r 'select(.id == "e3") | .traceparent' "$T/ev.ndjson")" = 00-11111111111111111111111111111111-2222222222222222-01 ]
	# request 3: a child of the event's ce-traceparent, which the event keeps
	set -- $(grep ' e4 ' "$T/spans")
	[ "$3 $5" = "33333333333333333333333333333333 4444444444444444" ]
	[ "$(jq -r 'select(.id == "e4") | .traceparent' "$T/ev.ndjson")" = 00-33333333333333333333333333333333-4444444444444444-01 ]
}

@test "evhttp without --otlp: no span, no traceparent added, a caller's trace still continued" {
	evhttp_start -o "$T/ev.ndjson"
	curl -sf -H 'Content-Type: application/x-ndjson' --data-binary $'{"type":"a","id":"e1"}\n' "$URL/events"
	curl -sf -H 'traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' \
	    -H 'Content-Type: application/x-ndjson' --data-binary $'{"type":"b","id":"e2"}\n' "$URL/events"
	kill "$HPID"
	wait "$HPID"
	[ "$(jq -r 'select(.id == "e1") | .traceparent' "$T/ev.ndjson")" = null ]
	[[ "$(jq -r 'select(.id == "e2") | .traceparent' "$T/ev.ndjson")" =~ ^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$ ]]
}

@test "sampling: OTEL_TRACES_SAMPLER; an unsampled trace passes on its traceparent and records no span" {
	OTEL_TRACES_SAMPLER=always_off evemit --otlp "$T/e.otlp" -s /shop a > "$T/off"
	[[ "$(tp "$T/off")" =~ ^00-[0-9a-f]{32}-[0-9a-f]{16}-00$ ]]
	[ ! -s "$T/e.otlp" ]
	evfilter --otlp "$T/f.otlp" true "$T/off" > /dev/null
	[ ! -s "$T/f.otlp" ] # parentbased (the default): not sampled upstream, no span here
	run evretry --otlp "$T/r.otlp" -i "$T/off" -- sh -c 'cat > /dev/null; echo "$TRACEPARENT" > "$0"' "$T/htp"
	[ "$status" -eq 0 ]
	[ ! -s "$T/r.otlp" ]
	[[ "$(cat "$T/htp")" =~ -00$ ]] # the handler is told: not sampled
	# a ratio: about that share of new traces, every tool deciding alike by the trace id
	seq 400 | OTEL_TRACES_SAMPLER=traceidratio OTEL_TRACES_SAMPLER_ARG=0.5 evemit -l --otlp "$T/h.otlp" -s /shop a > "$T/half"
	n=$(grep -c -- '-01"}$' "$T/half")
	[ "$n" -gt 120 ]
	[ "$n" -lt 280 ]
	[ "$(python3 "$SPANS" "$T/h.otlp" | wc -l)" -eq "$n" ]
	OTEL_TRACES_SAMPLER=traceidratio OTEL_TRACES_SAMPLER_ARG=0.5 evfilter --otlp "$T/h2.otlp" true "$T/half" > /dev/null
	[ "$(python3 "$SPANS" "$T/h2.otlp" | wc -l)" -eq "$n" ]
	run evfilter --otlp "$T/x.otlp" true "$T/half"
	[ "$status" -eq 0 ]
}

@test "evfilter, evroute, evdedupe and evfold find a traceparent anywhere at the top of the event, spelt with escapes too, and not in data" {
	t=00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01
	# first, in the middle, escaped twice over, then three that are not the
	# event's (nested, a value, another name), then a bad line
	{
		printf '{"traceparent":"%s","id":"a","type":"x"}\n' "$t"
		printf '{"id":"b","traceparent":"%s","type":"x"}\n' "$t"
		printf '{"id":"c","trace\\u0070arent":"%s","type":"x"}\n' "$t"
		printf '{"id":"d","\\u0074\\u0072\\u0061\\u0063\\u0065\\u0070\\u0061\\u0072\\u0065\\u006e\\u0074":"%s","type":"x"}\n' "$t"
		printf '{"id":"e","data":{"traceparent":"%s"},"type":"x"}\n' "$t"
		printf '{"id":"f","note":"traceparent %s","type":"x"}\n' "$t"
		printf '{"id":"g","tracestate":"%s","type":"x"}\n' "$t"
		printf '{"id":"h","traceparent":"%s",\n' "$t"
	} > "$T/in"
	run -2 evfilter --otlp "$T/f.otlp" true "$T/in"
	[ "${#lines[@]}" -eq 8 ]
	run -2 evroute --otlp "$T/r.otlp" -i "$T/in" '# > -'
	# tools that scan on a helper thread, a batch at a time
	run -2 evdedupe --otlp "$T/d.otlp" "$T/in"
	[ "${#lines[@]}" -eq 8 ]
	run -2 evfold --otlp "$T/v.otlp" --db "$T/v.db" -k .type --count "$T/in"
	[ "$(sqlite3 "$T/v.db" 'SELECT count(*) FROM fold')" -eq 1 ]
	for f in f r d v; do
		python3 "$SPANS" "$T/$f.otlp" > "$T/$f.spans"
		[ "$(cut -d' ' -f6 "$T/$f.spans" | sort | tr -d '\n')" = abcd ]
		[ "$(cut -d' ' -f5 "$T/$f.spans" | sort -u)" = b7ad6b7169203331 ]
	done
}
