#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# --prometheus FILE on every long-running tool: written atomically while the
# tool runs (every few seconds, and at its end), counts and rates, parsed
# strictly (tests/promcheck.py; promtool too where installed); evretry's
# attempts, retries, dead letters, handlers in flight and latency histogram.
load helpers
bats_require_minimum_version 1.5.0

PROMCHECK="$BATS_TEST_DIRNAME/../promcheck.py"

# valid FILE: the file parses, strictly; promtool agrees where it is installed.
valid() {
	python3 "$PROMCHECK" "$1" > "$T/samples" || return 1
	if command -v promtool > /dev/null; then
		promtool check metrics < "$1" || return 1
	fi
}

# sample FILE LINE: the file is valid and holds the sample LINE.
sample() {
	[ -s "$1" ] && valid "$1" && grep -qxF "$2" "$T/samples"
}

@test "every long-running tool writes its counts and rate while it runs, and at its end" {
	local tool
	for tool in evtail evfilter evroute evdedupe evfold evretry; do
		rm -f "$T/in" "$T/$tool.prom"
		mkfifo "$T/in"
		case $tool in
		evtail) bg evtail --from-start --prometheus "$T/$tool.prom" "$T/in" -o /dev/null ;;
		evfilter) bg evfilter --prometheus "$T/$tool.prom" -o /dev/null true "$T/in" ;;
		evroute) bg evroute --prometheus "$T/$tool.prom" -i "$T/in" '# > /dev/null' ;;
		evdedupe) bg evdedupe --prometheus "$T/$tool.prom" -o /dev/null "$T/in" ;;
		evfold) bg evfold --prometheus "$T/$tool.prom" --db "$T/v.db" -k .type --count "$T/in" ;;
		evretry) bg evretry --prometheus "$T/$tool.prom" -i "$T/in" -o /dev/null -- true ;;
		esac
		exec 7> "$T/in"
		printf '{"id":"%s","type":"a"}\n' 1 2 3 >&7
		# while it runs: counts, a rate and the start time, in a file that parses
		case $tool in
		evroute) want='evroute_lines_total{router="evroute"} 3' ;;
		evtail) want='evtail_events_total{name="evtail"} 3' ;;
		*) want="${tool}_in_total{name=\"$tool\"} 3" ;;
		esac
		wait_for 15 sample "$T/$tool.prom" "$want"
		grep -q "^${tool}_lines_per_second{name=\"$tool\"} " "$T/samples"
		grep -q "^${tool}_start_time_seconds{name=\"$tool\"} 1[0-9]*" "$T/samples"
		printf '{"id":"4","type":"a"}\n' >&7
		exec 7>&-
		wait "$BGPID"
		case $tool in
		evroute) want='evroute_lines_total{router="evroute"} 4' ;;
		evtail) want='evtail_events_total{name="evtail"} 4' ;;
		*) want="${tool}_in_total{name=\"$tool\"} 4" ;;
		esac
		sample "$T/$tool.prom" "$want"
		[ -z "$(ls "$T" | grep -v -e '\.prom$' -e '^in$' -e '^v\.db' -e samples -e bg.pids)" ]
	done
}

@test "evretry: attempts, retries, dead letters, handlers in flight and the handler latency histogram" {
	mkfifo "$T/in"
	# the handler fails (75: again) on event 1, and holds event 2 until $T/go exists
	cat > "$T/h.sh" <<-'EOF2'
	#!/bin/sh
	case $(cat) in
	*'"id":"1"'*) exit 75 ;;
	*'"id":"2"'*) i=0; while [ ! -e "$GO" ] && [ $i -lt 1500 ]; do sleep 0.01; i=$((i + 1)); done ;;
	esac
	exit 0
	EOF2
	chmod +x "$T/h.sh"
	GO="$T/go" bg evretry --prometheus "$T/r.prom" -a 2 -b 10ms -j 2 -i "$T/in" -o /dev/null \
	    -d "$T/dead.ndjson" -- "$T/h.sh"
	exec 7> "$T/in"
	printf '{"id":"%s","type":"a"}\n' 1 2 3 >&7
	# while event 2's handler runs: event 1 tried twice, event 3 done
	wait_for 20 sample "$T/r.prom" 'evretry_handler_seconds_count{name="r"} 3'
	grep -qx 'evretry_inflight_handlers{name="r"} 1' "$T/samples"
	grep -qx 'evretry_retries_total{name="r"} 1' "$T/samples"
	grep -qx 'evretry_attempts_total{name="r"} 4' "$T/samples"
	grep -qx 'evretry_handler_seconds_bucket{le="+Inf",name="r"} 3' "$T/samples"
	touch "$T/go"
	exec 7>&-
	wait "$BGPID"
	valid "$T/r.prom"
	grep -qx 'evretry_inflight_handlers{name="r"} 0' "$T/samples"
	grep -qx 'evretry_dead_total{name="r"} 1' "$T/samples"
	grep -qx 'evretry_done_total{name="r"} 2' "$T/samples"
	[ "$(lines "$T/dead.ndjson")" -eq 1 ]
	grep -qx 'evretry_handler_seconds_count{name="r"} 4' "$T/samples"
	grep -qx 'evretry_handler_seconds_bucket{le="+Inf",name="r"} 4' "$T/samples"
	grep -q '^evretry_handler_seconds_sum{name="r"} ' "$T/samples"
	grep -q '^# TYPE evretry_handler_seconds histogram$' "$T/r.prom"
}

@test "the metrics file is replaced atomically and a failure to write it is reported" {
	run -2 evfilter --prometheus "$T/no/such/dir/x.prom" true /dev/null
	[[ "$output" == *"no/such/dir"* ]]
	echo '{"id":"1"}' | evfilter --prometheus "$T/x.prom" true > /dev/null
	valid "$T/x.prom"
	grep -qx 'evfilter_in_total{name="x"} 1' "$T/samples"
	[ "$(ls "$T" | grep -c x.prom)" -eq 1 ]
}

@test "promcheck refuses what the format forbids" {
	printf 'a 1\n# TYPE a counter\n' > "$T/p1"
	printf 'a{x="1",x="2"} 1\n' > "$T/p2"
	printf '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n' > "$T/p3"
	printf '# TYPE c counter\nc -1\n' > "$T/p4"
	printf 'a 1\nb 1\na{x="y"} 2\n' > "$T/p5"
	printf 'a{x="\\q"} 1\n' > "$T/p6"
	printf 'a 1' > "$T/p7"
	for p in p1 p2 p3 p4 p5 p6 p7; do
		run -1 python3 "$PROMCHECK" "$T/$p"
	done
}

# evhttp on a free loopback port, its stderr in $T/log; sets URL, HPID.
evhttp_start() {
	bg evhttp -l 127.0.0.1:0 "$@" 2> "$T/log"
	HPID=$BGPID
	wait_for 20 grep -q "(port [0-9]*)" "$T/log"
	URL="http://127.0.0.1:$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$T/log" | head -1)"
}

# sentall: the metrics count every byte the subscriber has had.
sentall() {
	sample "$T/h.prom" "evhttp_sent_bytes_total{name=\"h\"} $(wc -c < "$T/sub")"
}

@test "evhttp: requests by status, events, subscribers, bytes and the latency histogram" {
	evspool init "$T/s"
	evhttp_start -o "$T/s" --prometheus "$T/h.prom"
	# written at the start, before any request
	sample "$T/h.prom" 'evhttp_subscribers{name="h"} 0'
	curl -s -H 'Content-Type: application/x-ndjson' --data-binary $'{"type":"a"}\n{"type":"b"}\n' \
	    "$URL/events" > /dev/null
	curl -s -H 'Content-Type: application/json' --data-binary '{"x":1}' "$URL/events" > /dev/null
	curl -s "$URL/nope" > /dev/null
	curl -sN "$URL/events?from=start" > "$T/sub" &
	echo $! >> "$T/bg.pids"
	# while it runs: a subscriber connected, the events sent to it counted
	wait_for 20 sample "$T/h.prom" 'evhttp_subscribers{name="h"} 1'
	wait_for 20 grep -q '"type":"b"' "$T/sub"
	grep -qx 'evhttp_requests_total{code="200",name="h"} 1' "$T/samples"
	grep -qx 'evhttp_requests_total{code="400",name="h"} 1' "$T/samples"
	grep -qx 'evhttp_requests_total{code="404",name="h"} 1' "$T/samples"
	grep -qx 'evhttp_events_accepted_total{name="h"} 2' "$T/samples"
	grep -qx 'evhttp_requests_rejected_total{name="h"} 1' "$T/samples"
	grep -qx 'evhttp_received_bytes_total{name="h"} 33' "$T/samples"
	grep -qx 'evhttp_subscriptions_total{name="h"} 1' "$T/samples"
	grep -qx 'evhttp_request_duration_seconds_count{name="h"} 3' "$T/samples"
	grep -qx 'evhttp_request_duration_seconds_bucket{le="+Inf",name="h"} 3' "$T/samples"
	grep -q '^evhttp_start_time_seconds{name="h"} 1[0-9]*' "$T/samples"
	grep -q '^# TYPE evhttp_request_duration_seconds histogram$' "$T/h.prom"
	wait_for 20 sentall
	# at its end: the last counts (the subscription answered 200 as well)
	kill "$HPID"
	wait "$HPID"
	valid "$T/h.prom"
	grep -qx 'evhttp_requests_total{code="200",name="h"} 2' "$T/samples"
	grep -qx 'evhttp_subscribers{name="h"} 0' "$T/samples"
	grep -qx 'evhttp_request_duration_seconds_count{name="h"} 3' "$T/samples"
	[ "$(ls "$T" | grep -c h.prom)" -eq 1 ]
	run -2 evhttp -l 127.0.0.1:0 -o "$T/s" --prometheus "$T/no/such/dir/h.prom"
	[[ "$output" == *"no/such/dir"* ]]
}
