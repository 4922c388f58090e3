#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# Spools as a location for every tool, and evspool.
load helpers

teardown() {
	kill_bg
	[ -n "${MOUNTED:-}" ] && umount "$MOUNTED"
	return 0
}

# events N [FIRST]: N small events {"n":I,"k":I%3} from FIRST (default 0).
events() {
	awk -v n="$1" -v f="${2:-0}" 'BEGIN { for (i = f; i < f + n; i++) printf "{\"n\":%d,\"k\":%d}\n", i, i % 3 }'
}

# spool_lines S: every complete line of spool S, in order (bypassing the tools).
spool_lines() {
	cat "$1"/segments/*.ndjson | awk '{ print }' RS='\n'
}

@test "evspool init makes a spool that evfilter appends to and reads from" {
	evspool init "$T/s"
	[ -f "$T/s/SPOOL" ]
	[ -d "$T/s/segments" ]
	[ -d "$T/s/cursors" ]
	events 5 > "$T/in"
	evfilter true -o "$T/s" "$T/in"
	run evfilter --no-follow '.n >= 3' "$T/s"
	[ "$status" -eq 0 ]
	[ "$output" = $'{"n":3,"k":0}\n{"n":4,"k":1}' ]
}

@test "evspool init refuses a directory that is not empty, or already a spool" {
	mkdir "$T/d"; touch "$T/d/x"; chmod 700 "$T/d"
	run evspool init -g nogroup -m 0660 "$T/d"
	[ "$status" -eq 2 ]
	[[ "$output" == *"not empty"* ]]
	[ "$(stat -c '%a %U' "$T/d")" = "700 $(id -un)" ]
	[ "$(ls "$T/d")" = x ]
	evspool init "$T/s"
	run evspool init "$T/s"
	[ "$status" -eq 2 ]
	[[ "$output" == *"already a spool"* ]]
}

@test "a directory that is not a spool is a clear error, for input and output" {
	mkdir "$T/plain"
	run evfilter true -o "$T/plain" /dev/null
	[ "$status" -eq 2 ]
	[[ "$output" == *"$T/plain: not a spool"*"evspool init"* ]]
	run evfilter --no-follow true "$T/plain"
	[ "$status" -eq 2 ]
	[[ "$output" == *"not a spool"* ]]
	[ -z "$(ls "$T/plain")" ]
}

@test "a missing spool is a clear error" {
	run evtail --no-follow "$T/nonexistent"
	[ "$status" -eq 2 ]
	[[ "$output" == *"$T/nonexistent"*"No such file or directory"* ]]
}

@test "permission errors name the path and the operation" {
	[ "$(id -u)" -ne 0 ] || command -v setpriv >/dev/null || skip "root, and no setpriv to drop privileges"
	P=$(mktemp -d /tmp/evkit-perm.XXXXXX); chmod 755 "$P"
	evspool init -m 0640 "$P/s"
	evspool init -m 0644 "$P/w"
	echo '{}' | evfilter true -o "$P/s"
	asuser() { if [ "$(id -u)" -eq 0 ]; then setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; else "$@"; fi; }
	run asuser "$EVKIT_BIN/evtail" --no-follow "$P/s"
	s1=$status o1=$output
	run asuser sh -c "echo '{}' | '$EVKIT_BIN/evfilter' true -o '$P/w'"
	s2=$status o2=$output
	rm -rf "$P"
	[ "$s1" -eq 2 ]
	[[ "$o1" == *"$P/s"*"cannot open"*"Permission denied"* ]]
	[ "$s2" -eq 2 ]
	[[ "$o2" == *"$P/w/lock: cannot open for writing: Permission denied"* ]]
}

@test "evspool init -g -m: a setgid spool whose files all get its group and mode" {
	evspool init -g nogroup -m 0660 "$T/s"
	[ "$(stat -c %a "$T/s")" = 2770 ]
	[ "$(stat -c %G "$T/s/segments")" = nogroup ]
	events 3 | (umask 077; evfilter true -o "$T/s")
	(umask 077; evfilter --cursor mailer --no-follow true "$T/s" > /dev/null)
	for f in "$T/s"/segments/* "$T/s/cursors/mailer" "$T/s/lock" "$T/s/SPOOL"; do
		[ "$(stat -c '%a %G' "$f")" = "660 nogroup" ] || { stat -c '%n %a %G' "$f"; false; }
	done
}

@test "by default nothing in a spool is world-writable" {
	(umask 000; evspool init "$T/s")
	echo '{}' | (umask 000; evfilter true -o "$T/s")
	run find "$T/s" -perm -0002
	[ -z "$output" ]
}

@test "a cursor name with / or .. is refused and nothing is written outside" {
	evspool init "$T/s"
	echo '{}' | evfilter true -o "$T/s"
	for name in ../escape a/b ..; do
		run evtail --no-follow --cursor "$name" "$T/s"
		[ "$status" -eq 2 ]
		[[ "$output" == *"not a valid cursor name"* ]]
	done
	[ ! -e "$T/s/escape" ]
	[ ! -e "$T/escape" ]
	run evspool cursor --set end "$T/s" ../escape
	[ "$status" -eq 2 ]
}

@test "a segment replaced by a symbolic link is refused by readers and writers" {
	evspool init "$T/s"
	echo '{"a":1}' | evfilter true -o "$T/s"
	seg=$(ls "$T/s/segments")
	mv "$T/s/segments/$seg" "$T/outside"
	ln -s "$T/outside" "$T/s/segments/$seg"
	run evtail --no-follow "$T/s"
	[ "$status" -eq 2 ]
	[[ "$output" == *"$seg: a symbolic link, not a segment"* ]]
	run sh -c "echo '{\"b\":2}' | evfilter true -o '$T/s'"
	[ "$status" -ne 0 ]
	[[ "$output" == *"symbolic link"* ]]
	[ "$(cat "$T/outside")" = '{"a":1}' ]
	run evspool check "$T/s"
	[ "$status" -eq 2 ]
}

@test "a full disk: exit 111, a clear error, and the spool still ends at a line boundary" {
	mkdir "$T/mnt"
	mount -t tmpfs -o size=256k tmpfs "$T/mnt" 2>/dev/null ||
		skip "cannot mount a small tmpfs here (not root?)"
	MOUNTED="$T/mnt"
	evspool init "$T/mnt/s"
	events 20000 > "$T/in"   # about 330 KB: more than fits
	run evtail --no-follow --from-start --sync=always -o "$T/mnt/s" "$T/in"
	[ "$status" -eq 111 ]
	[[ "$output" == *"write: No space left on device"* ]]
	run evspool check "$T/mnt/s"
	[ "$status" -eq 0 ]
	n=$(evtail --no-follow --from-start "$T/mnt/s" | wc -l)
	[ "$n" -gt 1000 ]
	diff <(evtail --no-follow --from-start "$T/mnt/s") <(head -n "$n" "$T/in")
}

@test "evspool check finds a torn tail and --repair removes it, keeping every complete line" {
	evspool init "$T/s"
	events 3 | evfilter true -o "$T/s"
	printf '{"n":99,"k"' >> "$T/s"/segments/0000000000000000.ndjson
	run evtail --no-follow --from-start "$T/s"
	[ "$output" = "$(events 3)" ]
	run evspool check "$T/s"
	[ "$status" -eq 1 ]
	[[ "$output" == *"torn tail of 11 bytes"* ]]
	run evspool check --repair "$T/s"
	[ "$status" -eq 0 ]
	evspool check "$T/s"
	[ "$(spool_lines "$T/s")" = "$(events 3)" ]
}

@test "the next writer repairs a torn tail" {
	evspool init "$T/s"
	events 3 | evfilter true -o "$T/s"
	printf '{"n":99,"k"' >> "$T/s"/segments/0000000000000000.ndjson
	events 2 3 | evfilter true -o "$T/s" 2> "$T/err"
	grep -q 'removed a torn tail of 11 bytes' "$T/err"
	[ "$(spool_lines "$T/s")" = "$(events 5)" ]
}

@test "evspool stat: events, bytes, segments, times and each cursor's lag" {
	evspool init "$T/s"
	printf '{"time":"2026-11-23T10:00:00.000Z"}\n{"time":"2026-11-23T10:00:05.000Z"}\n' |
		evfilter true -o "$T/s"
	evspool cursor --set 36 "$T/s" half
	run evspool stat --json "$T/s"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -c '[.events, .bytes, .segments, .first_time, .last_time]')" = \
		'[2,72,1,"2026-11-23T10:00:00.000Z","2026-11-23T10:00:05.000Z"]' ]
	[ "$(echo "$output" | jq -c '.cursors')" = \
		'[{"name":"half","position":36,"lag_events":1,"lag_bytes":36,"lost":false}]' ]
	run evspool stat --prometheus "$T/s"
	[[ "$output" == *"# TYPE evkit_spool_events gauge"* ]]
	[[ "$output" == *"evkit_spool_events{spool=\"$T/s\"} 2"* ]]
	[[ "$output" == *"evkit_spool_cursor_lag_events{spool=\"$T/s\",cursor=\"half\"} 1"* ]]
	[[ "$output" == *"evkit_spool_last_event_timestamp_seconds{spool=\"$T/s\"} 1795428005"* ]]
}

@test "evspool cursor: set to start, end, an offset and a time; list; delete" {
	evspool init "$T/s"
	printf '{"time":"2026-11-23T10:00:00Z"}\n{"time":"2026-11-23T11:00:00Z"}\n' | evfilter true -o "$T/s"
	evspool cursor --set start "$T/s" a
	evspool cursor --set end "$T/s" b
	evspool cursor --set 2026-11-23T10:30:00Z "$T/s" c
	run evspool cursor "$T/s"
	[ "$output" = $'a 0\nb 64\nc 32' ]
	run evspool cursor --set 5 "$T/s" d
	[ "$status" -eq 2 ]
	[[ "$output" == *"not at the start of a line"* ]]
	evspool cursor --delete "$T/s" a
	run evspool cursor "$T/s" a
	[ "$status" -eq 2 ]
}

@test "evspool gc refuses to delete what a cursor has not read, unless --force" {
	evspool init --segment-bytes 1K --retain-bytes 2K "$T/s"
	evspool cursor --set start "$T/s" slow
	for i in 1 2 3 4 5; do events 100 $((i * 100)) | evfilter true -o "$T/s"; done
	n=$(ls "$T/s/segments" | wc -l)
	[ "$n" -ge 5 ] # retention at roll-over kept what "slow" has not read
	run evspool gc "$T/s"
	[ "$status" -eq 0 ]
	[[ "$output" == *"kept"*"a cursor has not read"*"--force"* ]]
	[ "$(ls "$T/s/segments" | wc -l)" -eq "$n" ]
	evspool gc --force "$T/s"
	[ "$(ls "$T/s/segments" | wc -l)" -lt "$n" ]
	run evtail --no-follow --cursor slow "$T/s"
	[ "$status" -eq 2 ]
	[[ "$output" == *"before the oldest event"* ]]
	run evtail --no-follow --cursor slow --skip-lost --stats "$T/s"
	[ "$status" -eq 0 ]
	[[ "$output" == *"skipped"*"removed by retention"* ]]
	[[ "$output" == *"lost_bytes "[1-9]* ]]
}

@test "a writer SIGKILLed 50 times: no complete line lost, no partial line shown" {
	evspool init --segment-bytes 8K "$T/s"
	events 3000 > "$T/in"
	for i in $(seq 1 50); do
		bg evfilter --sync=always true -o "$T/s" "$T/in" 2>/dev/null
		pid=$BGPID
		sleep "0.0$((RANDOM % 6))"
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	evspool check --repair "$T/s"
	evspool check "$T/s"
	# Every line is one whole event, and each run wrote a prefix of the input, in order.
	evtail --no-follow --from-start "$T/s" | awk '
		!/^\{"n":[0-9]+,"k":[0-2]\}$/ { print "partial: " $0; bad = 1; exit 1 }
		{ split($0, a, /[:,]/); n = a[2] + 0
		  if (n != want && n != 0) { print "line " NR ": " n " after " want - 1; bad = 1; exit 1 }
		  want = n + 1 }'
}

@test "the durable hop: evfilter --cursor c -o B EXPR A, killed at random, loses nothing" {
	evspool init "$T/A"; evspool init "$T/B"
	events 20000 | evfilter true -o "$T/A"
	# How long one uninterrupted run takes, on copies, warm: the shorter of
	# two (a slow first run would put the kills after the end of the runs)
	ms=
	for c in 2 3; do
		cp -r "$T/A" "$T/A$c"; evspool init "$T/B$c"
		t0=$(date +%s%N)
		evfilter --cursor c --no-follow -o "$T/B$c" '.k == 0' "$T/A$c"
		t=$((($(date +%s%N) - t0) / 1000000))
		[ -n "$ms" ] && [ "$ms" -le "$t" ] || ms=$t
	done
	: > "$T/restarts"
	done=0
	for i in $(seq 1 200); do
		bg evfilter --cursor c --no-follow -o "$T/B" '.k == 0' "$T/A" 2>/dev/null
		pid=$BGPID
		# killed at random within an eighth of what one run takes, later
		# and later, so that it gets through in the end
		sleep "$(awk -v r="$RANDOM" -v ms="$ms" -v i="$i" \
			'BEGIN { printf "%.3f", r / 32768 * (ms + 20) / 8 * (1 + i / 8) / 1000 }')"
		if kill -9 "$pid" 2>/dev/null; then
			wait "$pid" 2>/dev/null || true
			# whole lines only: a kill in the middle of an append leaves
			# part of a line, which the next run's writer cuts and
			# writes over (spool_lines would count it, and mark the
			# restart one line late)
			cat "$T"/B/segments/*.ndjson | wc -l >> "$T/restarts"
		else
			st=0; wait "$pid" || st=$?
			if [ "$st" -le 1 ]; then done=1; break; fi
		fi
	done
	[ "$done" -eq 1 ]
	[ "$(wc -l < "$T/restarts")" -ge 3 ]
	# In order; a step back only right after a restart; every match at least once.
	echo "# $(wc -l < "$T/restarts") restarts" >&3
	spool_lines "$T/B" | awk -v max=19998 '
		FILENAME == ARGV[1] { restart[$1 + 1] = 1; next }
		{ split($0, a, /[:,]/); n = a[2] + 0
		  if (n != want && !(restart[FNR] && n < want && n % 3 == 0)) {
			print "line " FNR ": " n ", expected " want; exit 1 }
		  want = n + 3 }
		END { if (want != max + 3) { print "ended at " want - 3; exit 1 } }' "$T/restarts" -
}

@test "a reader started before the writer sees every event once across roll-overs" {
	evspool init --segment-bytes 4K "$T/s"
	bg evtail --from-start "$T/s" > "$T/out"
	pid=$BGPID
	for i in 0 1 2 3 4 5; do events 500 $((i * 500)) | evfilter true -o "$T/s"; done
	wait_for 20 has_lines "$T/out" 3000
	kill "$pid"; wait "$pid" || true
	[ "$(ls "$T/s/segments" | wc -l)" -ge 6 ]
	diff "$T/out" <(events 3000)
}

@test "retention: by size at each roll-over, by age with evspool gc, never the active segment" {
	evspool init --segment-bytes 1K --retain-bytes 3K "$T/s"
	for i in 0 1 2 3 4 5 6 7; do events 100 $((i * 100)) | evfilter true -o "$T/s"; done
	[ "$(cat "$T/s"/segments/* | wc -c)" -le $((3 * 1024 + 1800)) ]
	[ "$(evtail --no-follow -n 1 "$T/s")" = '{"n":799,"k":1}' ]
	evspool init --retain-age 1d "$T/a"
	events 10 | evfilter true -o "$T/a"
	touch -d '2 days ago' "$T/a"/segments/*
	evspool gc "$T/a"
	[ "$(ls "$T/a/segments" | wc -l)" -eq 1 ] # the active segment stays
	[ "$(evtail --no-follow --from-start "$T/a" | wc -l)" -eq 10 ]
	evspool init --segment-bytes 100 --retain-age 1d "$T/b"
	for i in 0 1 2; do events 10 $((i * 10)) | evfilter true -o "$T/b"; done
	touch -d '2 days ago' "$T/b"/segments/*
	evspool gc "$T/b"
	[ "$(ls "$T/b/segments" | wc -l)" -eq 1 ]
	[ "$(evtail --no-follow --from-start "$T/b")" = "$(events 10 20)" ]
}

@test "the format marker: SPOOL names version 1; another version or an unknown setting is refused" {
	evspool init "$T/s"
	[ "$(head -n 1 "$T/s/SPOOL")" = "evkit-spool 1" ]
	echo '{"a":1}' | evfilter true -o "$T/s"
	before=$(cat "$T/s"/segments/*)
	sed -i '1s/.*/evkit-spool 2/' "$T/s/SPOOL"
	run evtail --no-follow "$T/s"
	[ "$status" -eq 2 ]
	[[ "$output" == *"spool format version 2; this evkit reads version 1"* ]]
	run sh -c "echo '{\"b\":2}' | evfilter true -o '$T/s'"
	[ "$status" -eq 2 ]
	[[ "$output" == *"format version 2"* ]]
	sed -i '1s/.*/evkit-spool 1/' "$T/s/SPOOL"
	echo 'compress zstd' >> "$T/s/SPOOL"
	run evspool stat "$T/s"
	[ "$status" -eq 2 ]
	[[ "$output" == *"SPOOL:6: not a spool format marker or setting"* ]]
	[ "$(cat "$T/s"/segments/*)" = "$before" ]
}

@test "--sync=none|batch|always: no fdatasync, one per batch, one per event" {
	evspool init "$T/s"
	events 50 > "$T/in"
	for m in none:0 batch:1 always:50; do
		run evtail --no-follow --from-start --sync="${m%:*}" --stats -o "$T/s" "$T/in"
		[ "$status" -eq 0 ]
		[[ "$output" == *"syncs ${m#*:}"* ]] || { echo "$m: $output"; false; }
	done
	[ "$(evtail --no-follow --from-start "$T/s" | wc -l)" -eq 150 ]
}

@test "a file size limit (RLIMIT_FSIZE, EFBIG) mid-batch: exit 111, the spool still ends at a line boundary" {
	evspool init "$T/s"
	events 8000 > "$T/in"   # about 130 KB in one batch; the limit is 64 KiB
	run bash -c "trap '' XFSZ; ulimit -f 64; evtail --no-follow --from-start -o '$T/s' '$T/in'"
	[ "$status" -eq 111 ]
	[[ "$output" == *"write: File too large"* ]]
	run evspool check "$T/s"
	[ "$status" -eq 0 ]
	n=$(evtail --no-follow --from-start "$T/s" | wc -l)
	[ "$n" -gt 1000 ]
	diff <(evtail --no-follow --from-start "$T/s") <(head -n "$n" "$T/in")
	# With the limit lifted, the next writer goes on after the last whole line.
	events 2 8000 | evfilter true -o "$T/s"
	[ "$(evtail --no-follow -n 3 "$T/s")" = "$(sed -n "${n}p" "$T/in"; events 2 8000)" ]
}

@test "a sealed segment cut short by hand: readers stop with a clear error instead of hanging" {
	evspool init --segment-bytes 1K "$T/s"
	for i in 0 1 2; do events 100 $((i * 100)) | evfilter true -o "$T/s"; done
	first=$(ls "$T/s/segments" | head -n 1)
	cp "$T/s/segments/$first" "$T/seg0"
	truncate -s 140 "$T/s/segments/$first"   # 10 whole lines
	st=0; timeout 20 evtail --from-start "$T/s" > "$T/out" 2> "$T/err" || st=$?
	[ "$st" -eq 2 ]
	grep -q "$first: ends at 140 but the next segment begins at .*damaged" "$T/err"
	diff "$T/out" <(events 10)
	run evspool check "$T/s"
	[ "$status" -eq 1 ]
	[[ "$output" == *"ends at 140 but the next segment begins"* ]]
	head -c 150 "$T/seg0" > "$T/s/segments/$first" # and in the middle of a line
	run timeout 20 evtail --from-start "$T/s"
	[ "$status" -eq 2 ]
	[[ "$output" == *"ends at 150 without a newline but the next segment begins"* ]]
}

@test "a truncated cursor file is a clear error, and evspool cursor --set mends it" {
	evspool init "$T/s"
	events 3 | evfilter true -o "$T/s"
	: > "$T/s/cursors/c"
	run evtail --no-follow --cursor c "$T/s"
	[ "$status" -eq 2 ]
	[[ "$output" == *"cursors/c: not a cursor"* ]]
	evspool cursor --set start "$T/s" c
	[ "$(evtail --no-follow --cursor c "$T/s")" = "$(events 3)" ]
}

@test "EVKIT_WATCH=poll: a follower without kernel notifications still sees every event" {
	evspool init --segment-bytes 1K "$T/s"
	EVKIT_WATCH=poll bg evtail --from-start "$T/s" > "$T/out"
	for i in 0 1 2; do events 100 $((i * 100)) | evfilter true -o "$T/s"; done
	wait_for 20 has_lines "$T/out" 300
	[ "$(ls "$T/s/segments" | wc -l)" -ge 3 ]
	diff "$T/out" <(events 300)
}

@test "eight --sync=always writers at once: every event exactly once, and SPOOL/sync claims every byte" {
	evspool init --segment-bytes 64K "$T/s"
	for w in 0 1 2 3 4 5 6 7; do
		events 200 $((w * 1000)) > "$T/in.$w"
		bg evtail --no-follow --from-start --sync=always -o "$T/s" "$T/in.$w"
		echo $BGPID >> "$T/writers"
	done
	for p in $(cat "$T/writers"); do wait "$p"; done
	evspool check "$T/s"
	[ "$(spool_lines "$T/s" | sort | uniq -d | wc -l)" -eq 0 ]
	[ "$(spool_lines "$T/s" | wc -l)" -eq 1600 ]
	[ "$(cat "$T"/in.* | sort | cmp - <(spool_lines "$T/s" | sort) && echo same)" = same ]
	bytes=$(cat "$T"/s/segments/*.ndjson | wc -c)
	grep -qx "synced $(printf '%020d' "$bytes")" "$T/s/sync"
}

@test "a sync leader SIGKILLed mid-sync: the writer waiting for it syncs itself, and does not hang" {
	evspool init "$T/s"
	events 1 | evtail --sync=always -o "$T/s"
	# What a leader leaves while it syncs: slot 0 locked, its target (far
	# ahead) announced, the claim not yet raised.
	printf 'evkit-sync 1\nsynced %020d\nslot 0 %020d\n' 12 1000000 > "$T/sync"
	for k in 1 2 3; do printf 'slot %d %020d\n' "$k" 0 >> "$T/sync"; done
	cp "$T/sync" "$T/s/sync"
	bg flock -o "$T/s/sync.0" sleep 60
	leader=$BGPID
	wait_for 5 sh -c "! flock -n '$T/s/sync.0' true"
	events 1 1 > "$T/in"
	bg evtail --no-follow --from-start --sync=always --stats -o "$T/s" "$T/in" 2> "$T/err"
	writer=$BGPID
	if [ -r /proc/locks ]; then # it waits for that leader's lock
		wait_for 10 grep -q -- "-> FLOCK .* READ *$writer " /proc/locks
	fi
	kill -9 "$leader"
	wait_for 10 sh -c "! kill -0 $writer 2>/dev/null"
	wait "$writer"
	grep -q "syncs 1" "$T/err"
	[ "$(spool_lines "$T/s" | wc -l)" -eq 2 ]
}

@test "--sync=none rolls over without fdatasync" {
	evspool init --segment-bytes 256K "$T/s"
	events 200000 > "$T/in" # appended a megabyte at a time: roll-overs
	run evtail --no-follow --from-start --sync=none --stats -o "$T/s" "$T/in"
	[ "$status" -eq 0 ]
	[[ "$output" == *"syncs 0"* ]]
	[ "$(ls "$T/s/segments" | wc -l)" -ge 3 ]
	evspool check "$T/s"
	[ "$(spool_lines "$T/s" | wc -l)" -eq 200000 ]
}
