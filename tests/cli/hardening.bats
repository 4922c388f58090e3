#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# Hostile and damaged input (issue 20): lines past --max-event-size, damaged
# and hostile spools, a handler that cannot run, and the small things.
load helpers
bats_require_minimum_version 1.5.0

# events N: N small events {"n":I}.
events() {
	awk -v n="$1" 'BEGIN { for (i = 0; i < n; i++) printf "{\"n\":%d}\n", i }'
}

# as_nobody CMD...: run CMD without root's privileges (a permission error
# must be one), in the current directory; plainly when not root.
as_nobody() {
	if [ "$(id -u)" -eq 0 ]; then
		setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
	else
		"$@"
	fi
}

@test "a line past --max-event-size is reported with its place, kept truncated in --rejects, and skipped" {
	{ echo '{"n":1}'; printf '{"big":"%s"}\n' "$(head -c 3000 /dev/zero | tr '\0' x)"; echo '{"n":3}'; } > "$T/in"
	run --separate-stderr evfilter --max-event-size 1K --rejects "$T/rej.ndjson" true "$T/in"
	[ "$status" -eq 2 ]
	[ "$output" = $'{"n":1}\n{"n":3}' ]
	[[ "$stderr" == "evfilter: $T/in:2: event too long: 3010 bytes, more than --max-event-size 1024; its first 1024 bytes kept, truncated, in $T/rej.ndjson" ]]
	[ "$(wc -c < "$T/rej.ndjson")" -eq 1025 ]
	[ "$(head -c 9 "$T/rej.ndjson")" = '{"big":"x' ]
	# the same event within a raised limit is an event
	run evfilter --max-event-size 4K -c true "$T/in"
	[ "$status" -eq 0 ]
	[ "$output" = 3 ]
	run evfilter --max-event-size 12Q true "$T/in"
	[ "$status" -eq 2 ]
	[[ "$output" == *"--max-event-size: '12Q' is not a size"* ]]
}

@test "a spool cursor moves past an event that is too long, once" {
	evspool init "$T/s"
	{ echo '{"n":1}'; printf '{"big":"%s"}\n' "$(head -c 2000 /dev/zero | tr '\0' x)"; echo '{"n":3}'; } |
		evfilter true -o "$T/s"
	run evfilter --max-event-size 1K --cursor c --no-follow true "$T/s"
	[ "$status" -eq 2 ]
	[[ "$output" == *"$T/s:2: event too long: 2010 bytes"*"skipped"* ]]
	run evfilter --max-event-size 1K --cursor c --no-follow true "$T/s"
	[ "$status" -eq 1 ] && [ -z "$output" ] # nothing left to select, nothing bad
}

@test "an endless line (evfilter true /dev/zero) is read in bounded memory" {
	# 200 MB without a newline, then an event: never held, the event kept
	run --separate-stderr sh -c '{ head -c 200000000 /dev/zero; echo; echo "{\"n\":1}"; } |
		/usr/bin/time -f "rss %M" evfilter --max-event-size 1M true'
	[ "$status" -eq 2 ]
	[ "$output" = '{"n":1}' ]
	[[ "$stderr" == *"<stdin>:1: event too long: 200000000 bytes, more than --max-event-size 1048576; skipped"* ]]
	rss=$(echo "$stderr" | sed -n 's/^rss //p')
	echo "peak RSS ${rss} KiB" >&3
	[ "$rss" -lt 100000 ]
}

@test "--cursor on a spool that cannot be reached says why, not that it is no spool" {
	mkdir "$T/d"
	evspool init "$T/d/s"
	chmod 700 "$T/d"
	chmod 755 "$T"
	cd "$T"
	run as_nobody "$EVKIT_BIN/evtail" --cursor c --no-follow d/s
	[ "$status" -eq 2 ]
	[ "$output" = "evtail: d/s: cannot open: Permission denied" ]
	run evtail --cursor c --no-follow nonexistent
	[ "$output" = "evtail: nonexistent: cannot open: No such file or directory" ]
	echo '{}' > plain
	run evtail --cursor c --no-follow plain
	[ "$output" = "evtail: plain: --cursor needs a spool directory as input" ]
}

@test "ev-spool(5) names the cursor's temporary file as the code writes it" {
	run sh -c "mandoc -Tascii '$BATS_TEST_DIRNAME/../../man/ev-spool.5' | col -b"
	[[ "$output" == *"(.NAME.PID.tmp)"* ]]
	grep -q '"\.%s\.%ld\.tmp"' "$BATS_TEST_DIRNAME/../../lib/base/replace.c"
}

@test "evdedupe --state with a damaged record before others: a loud failure, the file kept" {
	events 10 > "$T/a"; awk '{ sub(/"n":/, "\"n\":1") } 1' "$T/a" > "$T/b"
	evdedupe -k .n --state "$T/st" "$T/a" > /dev/null
	evdedupe -k .n --state "$T/st" "$T/b" > /dev/null
	cp "$T/st" "$T/st.before"
	# flip one bit in the first key of the first record (header 32, record header 16)
	python3 -c 'import sys
f = open(sys.argv[1], "r+b"); f.seek(48); b = f.read(1); f.seek(48); f.write(bytes([b[0] ^ 4]))' "$T/st"
	cp "$T/st" "$T/st.damaged"
	run evdedupe -k .n --state "$T/st" "$T/a"
	[ "$status" -eq 2 ]
	[[ "$output" == *"$T/st: damaged: bad checksum at byte 32"*"truncate it to 32 bytes"* ]]
	cmp "$T/st" "$T/st.damaged"
}

# seg_events S N: append N events of about 100 bytes to spool S, one batch each.
seg_events() {
	for i in $(seq "$2"); do
		printf '{"n":%d,"pad":"%s"}\n' "$i" "$(head -c 80 /dev/zero | tr '\0' p)"
	done | evfilter true -o "$1"
}

@test "a cursor inside a gap between segments: evspool stat and check report it, never crash" {
	evspool init "$T/s"
	seg_events "$T/s" 3
	size=$(stat -c %s "$T/s/segments/0000000000000000.ndjson")
	printf '{"n":9}\n' > "$T/s/segments/$(printf '%016x' $((size + 100))).ndjson"
	echo $((size + 50)) > "$T/s/cursors/c"
	run evspool check "$T/s"
	[ "$status" -eq 1 ]
	[[ "$output" == *"but the next segment begins at $((size + 100))"* ]]
	[[ "$output" == *"cursors/c: cursor at $((size + 50)) is not a valid position"* ]]
	run evspool stat "$T/s"
	[ "$status" -le 2 ] # reported, not a crash (a signal would be 128+)
	run evspool stat --json "$T/s"
	[ "$status" -le 2 ]
}

@test "a FIFO in cursors/ hangs nothing: writers at roll-over, evspool, evtail --cursor" {
	evspool init --segment-bytes 1K --retain-bytes 2K "$T/s"
	seg_events "$T/s" 30
	mkfifo "$T/s/cursors/evil"
	run timeout 20 sh -c "for i in 1 2 3 4 5 6; do printf '{\"n\":%d,\"pad\":\"%0300d\"}\n' \$i 0 | evfilter true -o '$T/s' || exit \$?; done"
	[ "$status" -ne 124 ]
	for cmd in "stat" "check" "gc" "cursor"; do
		run timeout 20 evspool $cmd "$T/s"
		[ "$status" -ne 124 ]
		[ "$status" -lt 128 ]
	done
	run timeout 20 evspool check "$T/s"
	[ "$status" -eq 1 ]
	[[ "$output" == *"cursors/evil: cannot read cursor: not a regular file"* ]]
	run timeout 20 evtail --cursor evil --no-follow "$T/s"
	[ "$status" -eq 2 ]
	[[ "$output" == *"cursors/evil: cannot read cursor: not a regular file"* ]]
	[ -p "$T/s/cursors/evil" ]
}

@test "a FIFO or a link where a segment or SPOOL should be is refused, not waited on" {
	evspool init "$T/s"
	seg_events "$T/s" 2
	mkfifo "$T/s/segments/0000000000001000.ndjson"
	run timeout 20 evtail --no-follow "$T/s"
	[ "$status" -ne 124 ]
	[ "$status" -ne 0 ]
	run timeout 20 evspool check "$T/s"
	[ "$status" -ne 124 ]
	[ "$status" -ne 0 ]
	evspool init "$T/t"
	mv "$T/t/SPOOL" "$T/t/SPOOL.real"; mkfifo "$T/t/SPOOL"
	run timeout 20 evtail --no-follow "$T/t"
	[ "$status" -eq 2 ]
	[[ "$output" == *"$T/t/SPOOL"*"not a regular file"* ]]
	rm "$T/t/SPOOL"; mv "$T/t/SPOOL.real" "$T/t/SPOOL"
	rm "$T/t/lock"; mkfifo "$T/t/lock"
	run timeout 20 sh -c "echo '{}' | evfilter true -o '$T/t'"
	[ "$status" -eq 2 ]
	[[ "$output" == *"$T/t/lock"*"not a regular file"* ]]
}

@test "evspool check fails on a cursor that is a symlink, garbage, empty or a directory" {
	evspool init "$T/s"
	seg_events "$T/s" 2
	for kind in link garbage empty dir; do
		rm -rf "$T/s/cursors/bad"
		case $kind in
		link) ln -s ../SPOOL "$T/s/cursors/bad" ;;
		garbage) echo 'not a number' > "$T/s/cursors/bad" ;;
		empty) : > "$T/s/cursors/bad" ;;
		dir) mkdir "$T/s/cursors/bad" ;;
		esac
		run evspool check "$T/s"
		echo "$kind: $output"
		[ "$status" -eq 1 ]
		[[ "$output" == *"cursors/bad"* ]]
	done
}

@test "a cursor that cannot be read holds retention back: the writers keep its data" {
	evspool init --segment-bytes 1K --retain-bytes 2K "$T/s"
	seg_events "$T/s" 12
	echo 'garbage' > "$T/s/cursors/reader"
	before=$(ls "$T/s/segments" | wc -l)
	run seg_events "$T/s" 60
	[[ "$output" == *"cursors/reader"*"retention held back"* ]]
	[ -f "$T/s/segments/0000000000000000.ndjson" ]
	[ "$(ls "$T/s/segments" | wc -l)" -gt "$before" ]
	run evspool gc "$T/s"
	[ -f "$T/s/segments/0000000000000000.ndjson" ]
	# once the cursor is readable again, retention applies
	echo 0 > "$T/s/cursors/reader"
	rm "$T/s/cursors/reader"
	evspool gc "$T/s"
	[ ! -f "$T/s/segments/0000000000000000.ndjson" ]
}

# ids N: N events {"id":"eI"} into spool $T/s.
ids_spool() {
	evspool init "$T/s"
	for i in $(seq "$1"); do echo "{\"id\":\"e$i\"}"; done | evfilter true -o "$T/s"
}

@test "breaker: a handler that exits 127 stops evretry at once; nothing dead-lettered, the cursor kept" {
	ids_spool 20
	run -127 --separate-stderr evretry --cursor r --no-follow -i "$T/s" -d "$T/dead.ndjson" -- sh -c 'exit 127'
	[ "$status" -eq 127 ]
	[[ "$stderr" == *"breaker: the handler exited with 127 (command not found) for e1"*"nothing dead-lettered, the cursor stays before it"* ]]
	[ "$(lines "$T/dead.ndjson")" -eq 0 ]
	[ "$(cat "$T/s/cursors/r")" = 0 ]
	# fixed, it takes them all
	run evretry --cursor r --no-follow -i "$T/s" -d "$T/dead.ndjson" -- true
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 20 ]
	run evretry --cursor r2 --no-follow -i "$T/s" -d "$T/dead.ndjson" -- sh -c 'exit 126'
	[ "$status" -eq 126 ]
}

@test "breaker: --breaker N events in a row failing alike stop it with 111, none of them dead-lettered" {
	ids_spool 20
	run --separate-stderr evretry -a 1 --breaker 5 --cursor r --no-follow -i "$T/s" -d "$T/dead.ndjson" -- sh -c 'exit 3'
	[ "$status" -eq 111 ]
	[[ "$stderr" == *"breaker: 5 events in a row failed with exit status 3"*"the cursor stays before the first of them (--breaker 5)"* ]]
	[ "$(lines "$T/dead.ndjson")" -eq 0 ]
	[ "$(cat "$T/s/cursors/r")" = 0 ]
}

@test "breaker: events a working handler refuses are dead-lettered as before, and --breaker 0 turns it off" {
	ids_spool 20
	# e1..e4 refused (4 in a row, under the count), then successes: 4 dead letters
	run evretry -q -a 1 --breaker 5 --cursor r --no-follow -i "$T/s" -d "$T/dead.ndjson" -- \
		sh -c 'grep -q "\"e[1-4]\"" && exit 3; exit 0'
	[ "$status" -eq 0 ]
	[ "$(jq -r .id "$T/dead.ndjson" | tr '\n' ' ')" = "e1 e2 e3 e4 " ]
	[ "$(jq -r .evdeadreason "$T/dead.ndjson" | sort -u)" = failed ]
	# a failure at the very end is dead-lettered too (the streak ends with the input)
	run evretry -q -a 1 --breaker 5 --cursor r2 --no-follow -i "$T/s" -d "$T/dead2.ndjson" -- \
		sh -c 'grep -q "\"e20\"" && exit 3; exit 0'
	[ "$status" -eq 0 ]
	[ "$(jq -r .id "$T/dead2.ndjson")" = e20 ]
	run evretry -q -a 1 --breaker 0 --cursor r3 --no-follow -i "$T/s" -d "$T/dead3.ndjson" -- sh -c 'exit 127'
	[ "$status" -eq 0 ]
	[ "$(lines "$T/dead3.ndjson")" -eq 20 ]
}
