#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# evdedupe: keys, windows, duplicates, missing keys, bad lines, state across restarts and crashes.
load helpers
bats_require_minimum_version 1.5.0

# ev ID [SOURCE [TIME]]: one small event.
ev() {
	local s="{\"id\":\"$1\""
	[ -n "${2:-}" ] && s="$s,\"source\":\"$2\""
	[ -n "${3:-}" ] && s="$s,\"time\":\"$3\""
	printf '%s}\n' "$s"
}

# since_ms_ge START_NS MS: at least MS milliseconds have passed since START_NS.
since_ms_ge() {
	[ $(( ($(date +%s%N) - $1) / 1000000 )) -ge "$2" ]
}

# keys FILE...: the id and source of each generated event, in order.
keys() {
	cut -d'"' -f8,12 "$@"
}

# recipe NAME: the literal block marked '.\" recipe: NAME' in evdedupe(1), as a user types it.
recipe() {
	awk -v name="$1" '
		$0 == ".\\\" recipe: " name { found = 1; next }
		found && /^\.Bd/ { inblock = 1; next }
		inblock && /^\.Ed/ { exit }
		inblock { print }
	' "$BATS_TEST_DIRNAME/../../man/evdedupe.1" | sed -e 's/\\e/\\/g' -e 's/\\&//g'
}

# at SPOOL CURSOR: the cursor's position is the spool's end.
at_end() {
	[ "$(evspool cursor "$1" "$2" | cut -d' ' -f2)" = "$(evspool stat --json "$1" |
		sed 's/.*"end":\([0-9]*\).*/\1/')" ]
}

# pause_ms N: sleep N milliseconds.
pause_ms() {
	sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"
}

@test "evdedupe drops redelivered events and keeps first occurrences byte for byte" {
	printf '%s\n' '{"id":"1", "source":"/shop","n":1}' '{"id":"1","source":"/shop","n":2}' \
		'{ "id" : "2","source":"/shop"}' '{"source":"/shop","id":"1"}' > "$T/in"
	run evdedupe "$T/in"
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '%s\n' '{"id":"1", "source":"/shop","n":1}' '{ "id" : "2","source":"/shop"}')" ]
}

@test "1,000,000 events with 10% duplicates: the same lines as awk '!seen[key]++'" {
	bash "$GEN" 1000000 10 7 > "$T/in"
	evdedupe --sync none -o "$T/out.ndjson" --stats=json "$T/in" 2> "$T/stats"
	awk -F'"' '!seen[$12 FS $8]++' "$T/in" > "$T/want"
	cmp "$T/out.ndjson" "$T/want"
	want=$(wc -l < "$T/want")
	grep -q "\"in\":1000000,\"out\":$want,\"dups\":$((1000000 - want)),\"nokey\":0,\"bad\":0" "$T/stats"
}

@test "the default key is source and id together (CloudEvents identity)" {
	{ ev 1 /a; ev 1 /b; ev 1; ev 1 /a; ev 1; ev '\u0031' /a; } > "$T/in"
	run evdedupe "$T/in"
	[ "$output" = "$(ev 1 /a; ev 1 /b; ev 1)" ]
}

@test "--max-keys N: a key is a duplicate while among the last N keys (edges)" {
	{ ev a; ev b; ev c; ev a; } > "$T/inside"
	{ ev a; ev b; ev c; ev d; ev a; } > "$T/outside"
	run evdedupe -n 3 "$T/inside"
	[ "${#lines[@]}" -eq 3 ]
	run evdedupe -n 3 "$T/outside"
	[ "${#lines[@]}" -eq 5 ]
	[ "${lines[4]}" = '{"id":"a"}' ]
}

@test "--window by event time: forgotten when the clock reaches first time + window (edges)" {
	t0=2026-11-23T10:00:00.000Z
	{ ev a "" $t0; ev b "" 2026-11-23T10:00:00.999Z; ev a "" $t0; } > "$T/inside"
	{ ev a "" $t0; ev b "" 2026-11-23T10:00:01.000Z; ev a "" $t0; } > "$T/outside"
	run evdedupe -w 1s "$T/inside"
	[ "${#lines[@]}" -eq 2 ]
	run evdedupe -w 1s "$T/outside"
	[ "${#lines[@]}" -eq 3 ]
	# A duplicate does not extend the window; an event without a time keeps the clock.
	{ ev a "" $t0; ev a "" 2026-11-23T10:00:00.600Z; ev x; ev a "" 2026-11-23T10:00:01.000Z; } > "$T/in"
	run evdedupe -w 1s "$T/in"
	[ "$output" = "$(ev a "" $t0; ev x; ev a "" 2026-11-23T10:00:01.000Z)" ]
}

@test "--window --arrival judges by the time events are read" {
	{ ev a; ev a; } > "$T/in"
	run evdedupe -w 10s --arrival "$T/in"
	[ "${#lines[@]}" -eq 1 ]
	ev a > "$T/one"
	evdedupe -w 200ms --arrival --state "$T/st" "$T/one" > "$T/out.ndjson"
	start=$(date +%s%N)
	# Time has to pass: wait until 300 ms have.
	wait_for 5 since_ms_ge "$start" 300
	evdedupe -w 200ms --arrival --state "$T/st" "$T/one" >> "$T/out.ndjson"
	[ "$(lines "$T/out.ndjson")" -eq 2 ]
	evdedupe -w 1h --arrival --state "$T/st" "$T/one" >> "$T/out.ndjson"
	[ "$(lines "$T/out.ndjson")" -eq 2 ]
}

@test "--key takes any jq expression; --dups gets the duplicates; --stats counts them" {
	printf '%s\n' '{"id":1,"data":{"order_id":"o1"}}' '{"id":2,"data":{"order_id":"o2"}}' \
		'{"id":3,"data":{"order_id":"o1"}}' '{"id":4,"subject":"s","type":"t"}' \
		'{"id":5,"subject":"s","type":"t"}' > "$T/in"
	run -0 --separate-stderr evdedupe -k .data.order_id --dups "$T/dups.ndjson" --stats "$T/in"
	[ "${#lines[@]}" -eq 4 ]
	[ "$(cat "$T/dups.ndjson")" = '{"id":3,"data":{"order_id":"o1"}}' ]
	[ "$stderr" = "evdedupe: in 5, out 4, dups 1, nokey 2, bad 0, keys 2" ]
	run evdedupe -k '[.subject, .type]' "$T/in"
	[ "${#lines[@]}" -eq 2 ]
	run evdedupe -k '.data.order_id | ascii_downcase' "$T/in"
	[ "$status" -eq 2 ]
	[[ "$output" == *"evdedupe: $T/in:4: .data.order_id | ascii_downcase: "* ]]
}

@test "events without the key pass through and are counted, or are bad input with --require-key" {
	{ ev a; echo '{"type":"t"}'; echo '{"id":null}'; ev a; } > "$T/in"
	run -0 --separate-stderr evdedupe --stats=json "$T/in"
	[ "$output" = "$(ev a; echo '{"type":"t"}'; echo '{"id":null}')" ]
	[[ "$stderr" == *'"nokey":2'* ]]
	run -2 --separate-stderr evdedupe --require-key --rejects "$T/rej.ndjson" "$T/in"
	[ "$output" = "$(ev a)" ]
	[[ "$stderr" == *"evdedupe: $T/in:2: no key (.id)"* ]]
	[ "$(cat "$T/rej.ndjson")" = "$(echo '{"type":"t"}'; echo '{"id":null}')" ]
}

@test "bad lines are reported, kept verbatim in --rejects, and the rest is deduplicated" {
	{ ev a; echo '{"id":"b",'; echo '[1,2]'; ev a; printf '{"id":"c"}'; } > "$T/in"
	run -2 --separate-stderr evdedupe --rejects "$T/rej.ndjson" "$T/in"
	[ "$output" = "$(ev a; ev c)" ]
	[[ "$stderr" == *"evdedupe: $T/in:2: column "* ]]
	[[ "$stderr" == *"evdedupe: $T/in:3: not a JSON object"* ]]
	[ "$(cat "$T/rej.ndjson")" = "$(printf '%s\n' '{"id":"b",' '[1,2]')" ]
}

# restart OPTS...: the first half, stop, the second half with the same state == one run.
restart() {
	rm -f "$T/st"
	evdedupe "$@" "$T/in" > "$T/one"
	evdedupe "$@" --state "$T/st" "$T/h1" > "$T/two"
	evdedupe "$@" --state "$T/st" "$T/h2" >> "$T/two"
	cmp "$T/one" "$T/two"
}

@test "--state: process half, stop, restart, process the rest: the output of one run" {
	bash "$GEN" 20000 10 3 > "$T/in"
	head -n 10000 "$T/in" > "$T/h1"
	tail -n +10001 "$T/in" > "$T/h2"
	restart
	restart -n 500
	restart -w 2s
	restart -w 300ms
	restart -k .subject -n 1000
}

@test "--state refuses a file made for another key, files that are not states, a second user" {
	ev a > "$T/in"
	evdedupe --state "$T/st" "$T/in"
	run -2 evdedupe --state "$T/st" -k .id "$T/in"
	[[ "$output" == *"made with another key"* ]]
	echo '{"not":"a state"}' > "$T/other"
	run -2 evdedupe --state "$T/other" "$T/in"
	[[ "$output" == *"not an evdedupe state file"* ]]
	mkfifo "$T/fifo"
	evdedupe --state "$T/st" "$T/fifo" > "$T/out.ndjson" &
	exec 5> "$T/fifo" # returns once evdedupe reads its input: it holds the state by then
	run -111 evdedupe --state "$T/st" "$T/in"
	[[ "$output" == *"in use by another process"* ]]
	exec 5>&-
	wait
}

@test "SIGKILL at 50 random points: the state always loads, no first occurrence is missing" {
	# A stage that reads a spool through a cursor, killed while it works and
	# started again: at least once, whatever the moment.
	bash "$GEN" 10000 10 5 > "$T/in"
	keys "$T/in" | sort -u > "$T/want"
	split -l 197 "$T/in" "$T/portion." # 51 portions: one to time a run, 50 to kill runs of
	evspool init "$T/orders"
	stage=(evdedupe -n 0 --state "$T/st" --cursor dedupe --no-follow -o "$T/out.ndjson" "$T/orders")
	set -- "$T"/portion.*
	evemit -f -o "$T/orders" < "$1"
	shift
	start=$(date +%s%N)
	"${stage[@]}" 2>> "$T/err"
	ms=$(( ($(date +%s%N) - start) / 1000000 + 20 ))
	[ "$#" -eq 50 ]
	for p; do
		evemit -f -o "$T/orders" < "$p"
		"${stage[@]}" 2>> "$T/err" &
		pid=$!
		pause_ms $((RANDOM % ms))
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" || true
	done
	"${stage[@]}" 2>> "$T/err"
	# Every run loaded the state (no message), and no key went missing: with -n 0
	# nothing is forgotten, so a key remembered without its event would be.
	# (A kill that lands in LeakSanitizer's exit check makes it say so: noise.)
	# A run killed in the middle of a write leaves part of a line; the next
	# one ends it before appending (and says so), so its own lines stay
	# whole: those parts are the only lines that are not JSON.
	! grep -v -e '^==[0-9]*==' -e 'ends in part of a line' "$T/err"
	jq -rR 'select((fromjson? // null) != null)' "$T/out.ndjson" > "$T/whole"
	keys "$T/whole" | sort -u | cmp - "$T/want"
}

@test "a stage between spools: --cursor in, -o spool, --dups spool; follows, resumes after SIGKILL" {
	evspool init "$T/orders"
	evspool init "$T/unique"
	evspool init "$T/dups"
	bash "$GEN" 2000 10 9 > "$T/in"
	head -n 1000 "$T/in" | evemit -f -o "$T/orders"
	evdedupe --state "$T/keys" --cursor dedupe -o "$T/unique" --dups "$T/dups" "$T/orders" &
	pid=$!
	# It follows: new events are deduplicated as they come, against the ones before.
	wait_for 20 at_end "$T/orders" dedupe
	tail -n +1001 "$T/in" | evemit -f -o "$T/orders"
	wait_for 20 at_end "$T/orders" dedupe
	# Killed at rest (everything committed), started again: nothing is lost or repeated.
	kill -9 "$pid"
	wait "$pid" || true
	bash "$GEN" 2200 10 9 | tail -n +2001 > "$T/more"
	evemit -f -o "$T/orders" < "$T/more"
	run -0 --separate-stderr evdedupe --state "$T/keys" --cursor dedupe --no-follow \
		-o "$T/unique" --dups "$T/dups" --stats "$T/orders"
	[[ "$stderr" == "evdedupe: in 200, "* ]]
	cat "$T/in" "$T/more" > "$T/all"
	awk -F'"' '!seen[$12 FS $8]++' "$T/all" > "$T/want"
	awk -F'"' 'seen[$12 FS $8]++' "$T/all" > "$T/wantdups"
	evtail --no-follow --from-start "$T/unique" | cmp - "$T/want"
	evtail --no-follow --from-start "$T/dups" | cmp - "$T/wantdups"
}

@test "evdedupe(1)'s recipe runs as written: one mail per order even when stages are killed" {
	cd "$T"
	recipe send-mail > send-mail
	chmod +x send-mail
	recipe pipeline > pipeline
	sh -e pipeline
	[ "$(cat outbox)" = "$(printf '%s\n' \
		'{"event":["/shop","1"],"to":"a@example.com","subject":"order 1"}' \
		'{"event":["/shop","2"],"to":"b@example.com","subject":"order 2"}')" ]
	# More orders, some published twice, in portions; each stage is killed at a
	# random moment (evretry with its handler, as systemd stops a unit) and run again.
	dedupe=$(grep '^evdedupe ' pipeline)
	retry=$(grep '^evretry ' pipeline)
	bash "$GEN" 100 15 4 > orders.in
	split -l 25 orders.in portion.
	for p in portion.*; do
		evemit -f -o orders < "$p"
		eval "$dedupe &"
		pid=$!
		pause_ms $((RANDOM % 600))
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" || true
		eval "$retry 2>/dev/null &"
		pid=$!
		pause_ms $((RANDOM % 1000))
		kill -STOP "$pid" 2>/dev/null || true
		for h in $(pgrep -P "$pid"); do kill -9 -- "-$h" 2>/dev/null || true; done
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" || true
	done
	eval "$dedupe"
	eval "$retry"
	# Every order is in the outbox exactly once.
	{ printf '%s\n' '["/shop","1"]' '["/shop","2"]'; jq -c '[.source, .id]' orders.in; } |
		sort -u > want
	jq -c .event outbox | sort | cmp - want
}

@test "evdedupe --help, --version, and usage errors" {
	run -0 evdedupe --help
	[[ "$output" == "usage: evdedupe [-q] [--arrival] [--require-key] [-i src]"* ]]
	run -0 evdedupe --version
	[[ "$output" == "evdedupe (evkit) "* ]]
	run -2 evdedupe --no-such-option
	run -2 evdedupe -n lots
	run -2 evdedupe -w 0s
	run -2 evdedupe --arrival
	run -2 evdedupe -k '.[' /dev/null
}

