#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# evtail: follow a spool or a file.
load helpers

# timed N [FIRST]: N events a second apart from 10:00:00 + FIRST seconds.
timed() {
	awk -v n="$1" -v f="${2:-0}" 'BEGIN { for (i = f; i < f + n; i++)
		printf "{\"n\":%d,\"time\":\"2026-11-23T%02d:%02d:%02d.000Z\"}\n", i, 10 + int(i / 3600), int(i / 60) % 60, i % 60 }'
}

mkspool() {
	evspool init "$@" "$T/s"
}

@test "evtail --help and a bad option" {
	run evtail --help
	[ "$status" -eq 0 ]
	[[ "$output" == "usage: evtail "* ]]
	run evtail --bogus
	[ "$status" -eq 2 ]
}

@test "evtail --no-follow prints the last 10 events of a spool, -n the last N" {
	mkspool
	timed 30 | evfilter true -o "$T/s"
	run evtail --no-follow "$T/s"
	[ "$output" = "$(timed 10 20)" ]
	run evtail --no-follow -n 3 "$T/s"
	[ "$output" = "$(timed 3 27)" ]
	run evtail --no-follow -n 0 "$T/s"
	[ -z "$output" ]
}

@test "evtail -n N across segments" {
	mkspool --segment-bytes 100
	for i in 0 1 2 3 4; do timed 3 $((i * 3)) | evfilter true -o "$T/s"; done
	[ "$(ls "$T/s/segments" | wc -l)" -ge 5 ]
	run evtail --no-follow -n 7 "$T/s"
	[ "$output" = "$(timed 7 8)" ]
}

@test "evtail --from-start --count N stops after N events" {
	mkspool
	timed 30 | evfilter true -o "$T/s"
	run evtail --from-start --count 2 "$T/s"
	[ "$status" -eq 0 ]
	[ "$output" = "$(timed 2)" ]
}

@test "evtail --until TIME stops before the first later event, and the cursor stays there" {
	mkspool
	timed 30 | evfilter true -o "$T/s"
	run evtail --cursor c --until 2026-11-23T10:00:04Z "$T/s"
	[ "$status" -eq 0 ]
	[ "$output" = "$(timed 5)" ]
	run evtail --cursor c --no-follow --count 1 "$T/s"
	[ "$output" = "$(timed 1 5)" ]
}

@test "evtail --since picks the right first event without reading every segment" {
	mkspool --segment-bytes 1K
	timed 1200 | evfilter --sync=always true -o "$T/s"
	nseg=$(ls "$T/s/segments" | wc -l)
	total=$(cat "$T/s"/segments/* | wc -c)
	[ "$nseg" -ge 50 ]
	run evtail --no-follow --since 2026-11-23T10:13:20Z --count 2 --stats "$T/s"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "$(timed 1 800)" ]
	[ "${lines[1]}" = "$(timed 1 801)" ]
	opened=$(echo "$output" | sed -n 's/.*segments_opened \([0-9]*\).*/\1/p')
	read=$(echo "$output" | sed -n 's/.*bytes_read \([0-9]*\).*/\1/p')
	echo "# $opened of $nseg segments opened, $read of $total bytes read" >&3
	[ "$opened" -lt 20 ]
	[ "$read" -lt $((total / 4)) ]
	# A time between two events, one before all, one after all.
	run evtail --no-follow --since 2026-11-23T10:13:20.500Z --count 1 "$T/s"
	[ "$output" = "$(timed 1 801)" ]
	run evtail --no-follow --since 2026-11-23T09:00:00Z --count 1 "$T/s"
	[ "$output" = "$(timed 1 0)" ]
	run evtail --no-follow --since 2026-11-23T12:00:00Z "$T/s"
	[ -z "$output" ]
}

@test "evtail --since on a file skips to the first event at or after TIME" {
	timed 100 > "$T/f"
	run evtail --no-follow --since 2026-11-23T10:01:30Z "$T/f"
	[ "$output" = "$(timed 10 90)" ]
}

@test "evtail --cursor resumes where that consumer left off" {
	mkspool
	timed 5 | evfilter true -o "$T/s"
	run evtail --no-follow --cursor mailer "$T/s"
	[ "$output" = "$(timed 5)" ]
	timed 3 5 | evfilter true -o "$T/s"
	run evtail --no-follow --cursor mailer "$T/s"
	[ "$output" = "$(timed 3 5)" ]
}

@test "a following evtail's committed cursor survives SIGKILL" {
	mkspool
	timed 2000 | evfilter true -o "$T/s"
	bg evtail --cursor c "$T/s" > "$T/out1"
	pid=$BGPID
	wait_for 10 has_lines "$T/out1" 2000
	# it has printed everything and committed before waiting for more
	at_end() { [ "$(cat "$T/s/cursors/c")" = "$(cat "$T/s"/segments/* | wc -c)" ]; }
	wait_for 10 at_end
	kill -9 "$pid"; wait "$pid" || true
	timed 5 2000 | evfilter true -o "$T/s"
	run evtail --no-follow --cursor c "$T/s"
	[ "$output" = "$(timed 5 2000)" ]
}

@test "a cursor is never torn: killed at random while committing, it always parses" {
	mkspool
	timed 3000 | evfilter true -o "$T/s"
	for i in $(seq 1 20); do
		bg evtail --no-follow --cursor c --from-start "$T/s" > /dev/null
		pid=$BGPID
		sleep "0.0$((RANDOM % 5))"
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		[ -e "$T/s/cursors/c" ] || continue # killed before it registered
		grep -Eqx '[0-9]+' "$T/s/cursors/c"
		evspool cursor --set "$(cat "$T/s/cursors/c")" "$T/s" check
	done
}

@test "evtail follows a file like tail -F: appends, rotation, truncation" {
	echo '{"a":0}' > "$T/log"
	bg evtail "$T/log" > "$T/out" 2> "$T/err"
	pid=$BGPID
	wait_for 10 has_lines "$T/out" 1
	echo '{"a":1}' >> "$T/log"
	wait_for 10 has_lines "$T/out" 2
	mv "$T/log" "$T/log.1"
	echo '{"a":2}' > "$T/log"
	wait_for 10 has_lines "$T/out" 3
	: > "$T/log" # (a truncation is seen as the file getting shorter, as tail -F sees it)
	wait_for 10 grep -q truncated "$T/err"
	echo '{"a":3}' >> "$T/log"
	wait_for 10 has_lines "$T/out" 4
	kill "$pid"; wait "$pid" || true
	[ "$(cat "$T/out")" = $'{"a":0}\n{"a":1}\n{"a":2}\n{"a":3}' ]
	grep -q 'rotated' "$T/err"
}

@test "evtail -n N on a pipe prints the last N when it ends" {
	run sh -c 'seq 0 19 | sed "s/.*/{\"n\":&}/" | evtail -n 3'
	[ "$output" = $'{"n":17}\n{"n":18}\n{"n":19}' ]
}

@test "evtail --no-follow -n N on a file" {
	timed 20 > "$T/f"
	run evtail --no-follow -n 2 "$T/f"
	[ "$output" = "$(timed 2 18)" ]
}

@test "two independent consumers on one spool, one killed and restarted, see everything" {
	mkspool
	bg evtail --cursor a "$T/s" > "$T/a"
	pa=$BGPID
	bg evtail --cursor b "$T/s" > "$T/b1"
	pb=$BGPID
	timed 100 | evfilter true -o "$T/s"
	wait_for 10 has_lines "$T/b1" 100
	kill -9 "$pb"; wait "$pb" || true
	timed 100 100 | evfilter true -o "$T/s"
	evtail --cursor b --no-follow "$T/s" > "$T/b2"
	wait_for 10 has_lines "$T/a" 200
	kill "$pa"; wait "$pa" || true
	diff "$T/a" <(timed 200)
	diff <(cat "$T/b1" "$T/b2" | sort -u | sort -t: -k2 -n) <(timed 200 | sort -t: -k2 -n)
}

@test "evtail --since 1h and evspool cursor --set 1h: a duration means that long ago" {
	mkspool
	evemit -o "$T/s" -t 3h old.event
	evemit -o "$T/s" -t 2h old.event
	evemit -o "$T/s" new.event
	run evtail --no-follow --since 1h "$T/s"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *'"type":"new.event"'* ]]
	evspool cursor --set 150m "$T/s" late
	run evtail --no-follow --cursor late "$T/s"
	[ "${#lines[@]}" -eq 2 ]
	[[ "${lines[0]}" == *'"type":"old.event"'* ]]
}
