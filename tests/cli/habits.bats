#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# What grep, tail and jq users type: evfilter -q is grep -q, evtail -F is
# tail -F, evfilter --map -r is jq -r.
load helpers
bats_require_minimum_version 1.5.0

@test "evfilter -q prints nothing; the exit status says whether anything matched" {
	printf '%s\n' '{"n":1}' '{"n":2}' > "$T/in"
	run --separate-stderr evfilter -q '.n == 2' "$T/in"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
	run --separate-stderr evfilter -q '.n == 3' "$T/in"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
	# as grep -q: a match is the answer even after a bad line
	printf '%s\n' 'not json' '{"n":2}' > "$T/bad"
	run --separate-stderr evfilter -q '.n == 2' "$T/bad"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
	run --separate-stderr evfilter -q '.n == 3' "$T/bad"
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
	# with --map: did the expression give anything?
	run evfilter -q -m 'select(.n > 1)' "$T/in"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	run evfilter -q -c true "$T/in"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	run evfilter -q -o "$T/out" true "$T/in"
	[ "$status" -eq 2 ]
}

@test "evfilter -q on a followed spool returns at the first match" {
	evspool init "$T/s"
	echo '{"n":1}' | evfilter true -o "$T/s"
	bg evfilter -q --cursor c '.n == 2' "$T/s"
	pid=$BGPID
	echo '{"n":3}' | evfilter true -o "$T/s"
	kill -0 "$pid"
	echo '{"n":2}' | evfilter true -o "$T/s"
	wait "$pid"
	# the cursor is past the match
	[ -z "$(evtail --no-follow --cursor c "$T/s")" ]
}

@test "evfilter --map -r writes strings as text, as jq -r" {
	printf '%s\n' '{"a":"x"}' '{"a":"two\nlines"}' '{"a":[1,"y"]}' '{"a":null}' > "$T/in"
	run evfilter -m -r .a "$T/in"
	[ "$status" -eq 0 ]
	[ "$output" = "$(jq -rc .a "$T/in")" ]
	run evfilter --map --raw-output '.a[]?' "$T/in"
	[ "$output" = "$(jq -rc '.a[]?' "$T/in")" ]
	run evfilter -r .a "$T/in"
	[ "$status" -eq 2 ]
	[[ "$output" == *"give --map"* ]]
}

@test "evtail -F follows a file as tail -F does" {
	echo '{"n":1}' > "$T/f"
	bg sh -c 'exec evtail -F "$0" > "$0.out"' "$T/f"
	wait_for 10 has_lines "$T/f.out" 1
	echo '{"n":2}' >> "$T/f"
	wait_for 10 has_lines "$T/f.out" 2
	run evtail -F --no-follow "$T/f"
	[ "$status" -eq 2 ]
}
