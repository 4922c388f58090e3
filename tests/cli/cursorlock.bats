#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# One live reader per cursor (ev-spool(5)): a second reader is refused with
# 75 or waits with --wait; a killed holder never blocks the next reader.
load helpers

# committed S C: cursor C of spool S is at the end of S.
committed() {
	[ "$(cat "$1/cursors/$2" 2>/dev/null)" = "$(cat "$1"/segments/*.ndjson | wc -c)" ]
}

# fill S N: a spool S holding N events {"n":I}.
fill() {
	evspool init "$1"
	awk -v n="$2" 'BEGIN { for (i = 0; i < n; i++) printf "{\"n\":%d}\n", i }' |
		evfilter true -o "$1"
}

@test "a second reader on a cursor is refused at once with 75 and says who holds it" {
	fill "$T/s" 3
	bg evtail --cursor c -o "$T/first.ndjson" "$T/s"
	wait_for 10 has_lines "$T/first.ndjson" 3
	run evfilter --no-follow --cursor c true "$T/s"
	[ "$status" -eq 75 ]
	[[ "$output" == *"$T/s: cursor 'c' is in use by another reader (pid $BGPID)"*"--wait"* ]]
	# every tool that takes --cursor shares the lock
	run evtail --no-follow --cursor c "$T/s"
	[ "$status" -eq 75 ]
	run evroute --no-follow --cursor c -i "$T/s" --otherwise /dev/null 'x.#'
	[ "$status" -eq 75 ]
	run evdedupe --no-follow --cursor c "$T/s"
	[ "$status" -eq 75 ]
	run evretry --no-follow --cursor c -i "$T/s" -- true
	[ "$status" -eq 75 ]
	# another cursor, or no cursor, is not held back
	run evtail --no-follow --cursor d "$T/s"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 3 ]
	run evtail --no-follow -n 1 "$T/s"
	[ "$status" -eq 0 ]
	[ "$output" = '{"n":2}' ]
}

@test "two overlapping runs on one cursor never deliver an event twice" {
	fill "$T/s" 20000
	( r=0; evfilter --no-follow --cursor job -o "$T/a.ndjson" true "$T/s" || r=$?; echo $r > "$T/ra" ) &
	a=$!
	( r=0; evfilter --no-follow --cursor job -o "$T/b.ndjson" true "$T/s" || r=$?; echo $r > "$T/rb" ) &
	wait "$a" $!
	cat "$T/a.ndjson" "$T/b.ndjson" 2>/dev/null | sort -u > "$T/u"
	[ "$(lines "$T/u")" -eq 20000 ]
	[ "$(cat "$T/a.ndjson" "$T/b.ndjson" 2>/dev/null | wc -l)" -eq 20000 ]
	# one ran, the other was refused (or ran after the first had finished)
	grep -qx 0 "$T/ra" || grep -qx 0 "$T/rb"
	for r in "$T/ra" "$T/rb"; do grep -qxE '0|1|75' "$r"; done
}

@test "a SIGKILLed holder never blocks the next reader" {
	fill "$T/s" 5
	bg evtail --cursor c -o "$T/first.ndjson" "$T/s"
	wait_for 10 committed "$T/s" c
	kill -9 "$BGPID"
	wait "$BGPID" 2>/dev/null || true
	echo '{"n":5}' | evfilter true -o "$T/s"
	run evtail --no-follow --cursor c "$T/s"
	[ "$status" -eq 0 ]
	[ "$output" = '{"n":5}' ]
}

@test "a handler that outlives evretry does not keep its cursor's lock" {
	fill "$T/s" 1
	export T
	run evretry --no-follow --cursor c -i "$T/s" -o /dev/null -- \
		sh -c 'sleep 30 </dev/null >/dev/null 2>&1 & echo $! > "$T/sleeper"'
	[ "$status" -eq 0 ]
	echo "$(cat "$T/sleeper")" >> "$T/bg.pids" # killed by the teardown
	kill -0 "$(cat "$T/sleeper")"
	run evtail --no-follow --cursor c "$T/s"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "--wait waits for the holder, then starts where it committed" {
	fill "$T/s" 3
	bg evtail --cursor c -o "$T/first.ndjson" "$T/s"
	first=$BGPID
	wait_for 10 has_lines "$T/first.ndjson" 3
	( evtail --wait --no-follow --cursor c "$T/s" > "$T/second"; echo $? > "$T/rc" ) &
	echo '{"n":3}' | evfilter true -o "$T/s"
	wait_for 10 has_lines "$T/first.ndjson" 4
	wait_for 10 committed "$T/s" c
	[ ! -e "$T/rc" ]
	kill -TERM "$first"
	wait_for 10 test -e "$T/rc"
	[ "$(cat "$T/rc")" -eq 0 ]
	[ ! -s "$T/second" ]
	[ "$(cat "$T/s/cursors/c")" -eq "$(stat -c %s "$T"/s/segments/*.ndjson)" ]
}

@test "the lock is a regular file in cursors/, never followed through a link" {
	fill "$T/s" 1
	ln -s "$T/elsewhere" "$T/s/cursors/.c.lock"
	run evtail --no-follow --cursor c "$T/s"
	[ "$status" -eq 2 ]
	[[ "$output" == *"cursors/.c.lock: cannot open"* ]]
	[ ! -e "$T/elsewhere" ]
	rm "$T/s/cursors/.c.lock"
	evtail --no-follow --cursor c "$T/s" > /dev/null
	[ -f "$T/s/cursors/.c.lock" ]
	run evspool stat "$T/s"
	[[ "$output" != *".c.lock"* ]]
}
