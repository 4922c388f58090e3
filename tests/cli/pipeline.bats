#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# evemit | evfilter: the two tools together.
load helpers

@test "events made by evemit are selected by evfilter on their data" {
	for a in 5 120 300 40; do evemit order.placed amount:=$a customer.name=c$a; done > "$T/orders"
	run evfilter '.type == "order.placed" and .data.amount > 100' "$T/orders"
	[ "$status" -eq 0 ]
	[ "$(jq -r .data.customer.name <<< "$output")" = "$(printf 'c120\nc300')" ]
}

@test "evemit -l | evfilter --map: lines in, transformed data out" {
	run sh -c "printf '%s\n' '{\"n\":1}' '{\"n\":2}' '{\"n\":3}' | evemit -l num | evfilter -m 'select(.data.n % 2 == 1) | .data.n * 10'"
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '10\n30')" ]
}

@test "evemit --csv | evfilter -c with --argjson" {
	printf 'sku,qty\na,1\nb,5\nc,9\n' > "$T/stock.csv"
	run sh -c "evemit --csv stock.level -i '$T/stock.csv' | evfilter -c --argjson min 4 '.data.qty >= \$min'"
	[ "$output" = 2 ]
}

@test "evemit -f completes events that evfilter then routes by type" {
	run sh -c "printf '%s\n' '{\"type\":\"a\"}' '{\"type\":\"b\"}' '{}' | evemit -f dflt | evfilter -v '.type == \"a\"' | evfilter -m .type"
	[ "$output" = "$(printf '"b"\n"dflt"')" ]
}

# fdatasyncs FILE: how many fdatasync(2) calls strace saw on a file named out.ndjson.
fdatasyncs() {
	grep -cE '^([0-9]+ +)?fdatasync\([0-9]+<[^>]*/out\.ndjson>' "$1" || true
}

@test "a plain file output is synced only when a cursor or state depends on it" {
	command -v strace > /dev/null || skip "strace is not installed"
	strace -o /dev/null true 2> /dev/null || skip "strace cannot trace here"
	cd "$T"
	for i in 1 2 3; do evemit tick n:=$i; done > in
	# a filter from a file into a file: written as cat writes, no fdatasync
	ASAN_OPTIONS=detect_leaks=0 strace -f -y -e trace=fdatasync -o t1 evfilter true in -o out.ndjson
	[ "$(fdatasyncs t1)" -eq 0 ]
	[ "$(lines out.ndjson)" -eq 3 ]
	# the same from a spool through a cursor: synced before the cursor moves
	rm out.ndjson; evspool init s; evfilter true in -o s
	ASAN_OPTIONS=detect_leaks=0 strace -f -y -e trace=fdatasync -o t2 \
		evfilter --cursor c --no-follow true s -o out.ndjson
	[ "$(fdatasyncs t2)" -ge 1 ]
	# with evdedupe's --state the output is synced before the state
	rm out.ndjson
	ASAN_OPTIONS=detect_leaks=0 strace -f -y -e trace=fdatasync -o t3 \
		evdedupe --state keys in -o out.ndjson
	[ "$(fdatasyncs t3)" -ge 1 ]
	# and --sync batch asks for it anyway
	rm out.ndjson
	ASAN_OPTIONS=detect_leaks=0 strace -f -y -e trace=fdatasync -o t4 \
		evfilter --sync batch true in -o out.ndjson
	[ "$(fdatasyncs t4)" -ge 1 ]
}
