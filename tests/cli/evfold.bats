#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# evfold: reducers and built-in folds against jq, bad events, the changelog,
# windows against an awk reference, rebuilds, and exactly-once across SIGKILL.
load helpers
bats_require_minimum_version 1.5.0

# ref_by KEY REDUCER FILE: what jq -n 'reduce' makes of FILE, one {"key","state"} a line, sorted.
ref_by() {
	jq -c -n "reduce inputs as \$e ({}; (\$e | $1) as \$key | if \$key == null then . else
	    ((.[\$key] | $2) as \$s | if \$s == null then del(.[\$key]) else .[\$key] = \$s end) end) |
	    to_entries[] | {key, state: .value}" "$3" | sort
}

# wev MS KEY: an event at MS milliseconds after 2026-01-01T00:00:00Z (within a day).
wev() {
	local s=$(($1 / 1000))
	printf '{"type":"t","time":"2026-01-01T%02d:%02d:%02d.%03dZ","k":"%s"}\n' \
		$((s / 3600)) $((s / 60 % 60)) $((s % 60)) $(($1 % 1000)) "$2"
}

@test "a jq reducer per key: the view is jq's reduce, read with --get, --dump and sqlite3" {
	bash "$GEN" 3000 0 3 > "$T/in"
	R='{n: ((.n // 0) + 1), amount: ((.amount // 0) + ($e.data.amount // 0)), key: $key}'
	run -0 evfold --db "$T/v.db" --view bytype -k .type "$R" "$T/in"
	ref_by .type "$R" "$T/in" > "$T/want"
	evfold --db "$T/v.db" --dump | sort | cmp - "$T/want"
	run -0 evfold --db "$T/v.db" --get order.placed
	[ "$output" = "$(jq -c 'select(.key == "order.placed") | .state' "$T/want")" ]
	run -1 evfold --db "$T/v.db" --get no.such.type
	[ "$output" = "" ]
	# the documented layout: one row per key, the state as JSON
	run -0 sqlite3 "$T/v.db" "SELECT json_extract(state, '\$.n') FROM bytype WHERE key = 'order.placed'"
	[ "$output" = "$(jq 'select(.key == "order.placed") | .state.n' "$T/want")" ]
	# folding more events goes on from the states kept
	bash "$GEN" 500 0 4 > "$T/more"
	evfold --db "$T/v.db" --view bytype -k .type "$R" "$T/more"
	cat "$T/in" "$T/more" > "$T/all"
	ref_by .type "$R" "$T/all" | cmp - <(evfold --db "$T/v.db" --dump | sort)
}

@test "null deletes a key; --init is the state of a new key; a jq key expression" {
	printf '%s\n' '{"u":"a","op":"add","n":2}' '{"u":"b","op":"add","n":5}' \
		'{"u":"a","op":"del"}' '{"u":"a","op":"add","n":1}' > "$T/in"
	run -0 evfold --db "$T/v.db" -k '.u | ascii_upcase' --init '{"total":10}' \
		'if $e.op == "del" then null else .total += $e.n end' "$T/in"
	run -0 evfold --db "$T/v.db" --dump
	[ "$output" = "$(printf '%s\n' '{"key":"A","state":{"total":11}}' '{"key":"B","state":{"total":15}}')" ]
}

@test "built-in folds on the scanner, combined in one state, equal jq's" {
	bash "$GEN" 5000 0 5 > "$T/in"
	run -0 --separate-stderr evfold -q --db "$T/v.db" -k .type --count --sum .data.amount \
		--min .data.amount --max .data.amount --avg .data.amount --first=.id --last .id \
		"$T/in"
	jq -c -n 'reduce inputs as $e ({}; .[$e.type] |= (
	    {count: (.count + 1), sum: (.sum + ($e.data.amount // 0)),
	     min: ([.min, $e.data.amount] | map(select(. != null)) | min),
	     max: ([.max, $e.data.amount] | max), s: (.s + ($e.data.amount // 0)),
	     n: (.n + (if $e.data.amount then 1 else 0 end)), first: (.first // $e.id), last: $e.id})) |
	    to_entries[] | {key, state: (.value | {count, sum, min, max,
	    avg: (if .n > 0 then .s / .n else null end), first, last})}' "$T/in" | sort > "$T/want"
	evfold --db "$T/v.db" --dump | sort | cmp - "$T/want"
}

@test "--count --sum over many keys, across runs and with a small --cache, equal jq's" {
	# keys enough that the cache grows and reads ahead; long ones that share
	# their first bytes; an escaped one (hashed after the scan)
	awk 'BEGIN { for (i = 0; i < 6000; i++) { k = (i * 7919) % 2000
		key = i % 500 == 7 ? "caf\\u00e9" : k % 3 ? "k" k : sprintf("customer-%05d", k)
		printf "{\"id\":%d,\"k\":\"%s\",\"n\":%d.25}\n", i, key, i % 97 } }' > "$T/in"
	head -n 3500 "$T/in" > "$T/a"
	tail -n +3501 "$T/in" > "$T/b"
	jq -c -n 'reduce inputs as $e ({}; .[$e.k] |= {count: (.count + 1), sum: (.sum + $e.n)}) |
	    to_entries[] | {key, state: .value}' "$T/in" | sort > "$T/want"
	[ "$(wc -l < "$T/want")" -gt 1900 ]
	for cache in 1000000 10; do
		rm -f "$T"/v.db*
		evfold -q --db "$T/v.db" --cache $cache -k .k --count --sum .n "$T/a"
		evfold -q --db "$T/v.db" --cache $cache -k .k --count --sum .n "$T/b"
		evfold --db "$T/v.db" --dump | sort | cmp - "$T/want"
	done
}

@test "--distinct estimates within its stated error (1.6%, checked at 5%)" {
	awk 'BEGIN { for (i = 0; i < 20000; i++) printf "{\"k\":\"x\",\"v\":\"u%d\"}\n{\"k\":\"x\",\"v\":\"u%d\"}\n", i, i }' > "$T/in"
	run -0 evfold --db "$T/v.db" -k .k --distinct .v --count "$T/in"
	run -0 evfold --db "$T/v.db" --get x
	d=$(jq .distinct <<< "$output")
	[ "$(jq .count <<< "$output")" -eq 40000 ]
	[ "$d" -gt 19000 ]
	[ "$d" -lt 21000 ]
}

@test "bad events: reported with their place, kept in --rejects, never half-applied" {
	printf '%s\n' '{"k":"a","v":1}' 'not json' '{"v":2}' '{"k":"a","v":"x"}' \
		'{"k":"a","v":3}' > "$T/in"
	run -2 --separate-stderr evfold --db "$T/b.db" -k .k --count --sum .v --rejects "$T/rej.ndjson" "$T/in"
	[[ "$stderr" == *"in:2: column 1: "* ]]
	[[ "$stderr" == *"in:3: no key (-k .k)"* ]]
	[[ "$stderr" == *"in:4: --sum .v: not a number"* ]]
	[ "$(evfold --db "$T/b.db" --get a)" = '{"count":2,"sum":4}' ]
	[ "$(sed -n 2p "$T/in"; sed -n 3,4p "$T/in")" = "$(cat "$T/rej.ndjson")" ]
	# a reducer that fails on an event leaves every state as it was
	printf '%s\n' '{"k":"a","v":1}' '{"k":"a","v":0}' '{"k":"a","v":4}' > "$T/in2"
	run -2 --separate-stderr evfold --db "$T/r.db" -k .k --rejects "$T/rej2.ndjson" \
		'if $e.v == 0 then error("zero") else . + $e.v end' "$T/in2"
	[[ "$stderr" == *"in2:2: "*": zero"* ]]
	[ "$(evfold --db "$T/r.db" --get a)" = 5 ]
	[ "$(cat "$T/rej2.ndjson")" = '{"k":"a","v":0}' ]
}

@test "a changed reducer is refused until --rebuild, which swaps the new view in" {
	bash "$GEN" 2000 0 6 > "$T/in"
	evspool init "$T/orders"
	evemit -f -o "$T/orders" < "$T/in"
	evfold -q --no-follow -i "$T/orders" --cursor bytype --db "$T/v.db" -k .type '. + 1'
	run -2 --separate-stderr evfold --no-follow -i "$T/orders" --cursor bytype --db "$T/v.db" \
		-k .type '. + 2'
	[[ "$stderr" == *"view bytype was made by another fold"*"--rebuild"* ]]
	ref_by .type '. + 1' "$T/in" | cmp - <(evfold --db "$T/v.db" --dump | sort)
	run -0 evfold -q --no-follow --rebuild -i "$T/orders" --cursor bytype --db "$T/v.db" \
		-k .type '. + 2'
	ref_by .type '. + 2' "$T/in" | cmp - <(evfold --db "$T/v.db" --dump | sort)
	[ "$(sqlite3 "$T/v.db" 'SELECT name FROM evfold_views')" = bytype ]
	# and the rebuilt view goes on from where the rebuild stopped
	bash "$GEN" 100 0 8 | evemit -f -o "$T/orders"
	evfold -q --no-follow -i "$T/orders" --cursor bytype --db "$T/v.db" -k .type '. + 2'
	evtail --no-follow --from-start "$T/orders" > "$T/all"
	ref_by .type '. + 2' "$T/all" | cmp - <(evfold --db "$T/v.db" --dump | sort)
}

@test "readers see the old view during a rebuild, then the new one whole" {
	bash "$GEN" 20000 0 9 > "$T/in"
	evspool init "$T/orders"
	evemit -f -o "$T/orders" < "$T/in"
	evfold -q --no-follow -i "$T/orders" --db "$T/v.db" --view n --count
	old=$(evfold --db "$T/v.db" --get '')
	[ "$old" = '{"count":20000}' ]
	bg evfold -q --rebuild -i "$T/orders" --db "$T/v.db" --view n --count --sum .data.amount
	new=$(jq -c -n 'reduce inputs as $e ({count: 0, sum: 0}; .count += 1 | .sum += ($e.data.amount // 0))' "$T/in")
	seen_new() {
		s=$(sqlite3 "$T/v.db" "SELECT state FROM n WHERE key = ''")
		[ "$s" = "$old" ] || [ "$s" = "$new" ] || echo "a half view: $s" >> "$T/half"
		[ "$s" = "$new" ]
	}
	wait_for 60 seen_new
	[ ! -e "$T/half" ]
}

@test "the view is read with sqlite3 while the fold follows a spool" {
	evspool init "$T/orders"
	bg evfold -q -i "$T/orders" --cursor c --db "$T/v.db" --view c --count
	for i in 1 2 3; do
		bash "$GEN" 1000 0 "$i" | evemit -f -o "$T/orders"
		count_is() { [ "$(sqlite3 "$T/v.db" "SELECT json_extract(state, '\$.count') FROM c")" = "$1" ]; }
		wait_for 30 count_is $((i * 1000))
	done
}

@test "-o: every change as a CloudEvent, subject the key, null data for a deletion" {
	printf '%s\n' '{"k":"a","v":1}' '{"k":"b","v":2}' '{"k":"a","v":0}' > "$T/in"
	run -0 evfold --db "$T/v.db" --view totals -o "$T/changes.ndjson" -k .k \
		'if $e.v == 0 then null else . + $e.v end' "$T/in"
	run -0 jq -c '[.type, .subject, .data, .source, .specversion]' "$T/changes.ndjson"
	[ "$output" = "$(printf '%s\n' '["totals.changed","a",1,"/evfold/totals","1.0"]' \
		'["totals.changed","b",2,"/evfold/totals","1.0"]' '["totals.changed","a",null,"/evfold/totals","1.0"]')" ]
	[ "$(jq -r .id "$T/changes.ndjson" | sort -u | wc -l)" -eq 3 ]
}

@test "tumbling windows with lateness, out-of-order and late events, against awk" {
	# 3000 events over about 50 minutes, each up to 20 s out of order
	awk 'BEGIN { srand(11); t = 0; for (i = 0; i < 3000; i++) { t += int(rand() * 2000);
	    printf "%d k%d\n", t - int(rand() * 20000) + 20000, int(rand() * 3) } }' > "$T/times"
	while read -r ms k; do wev "$ms" "$k"; done < "$T/times" > "$T/in"
	run -0 --separate-stderr evfold --db "$T/w.db" -k .k --count --window tumbling:1m \
		--lateness 5s -o "$T/closed.ndjson" --late "$T/late.ndjson" --stats=json "$T/in"
	awk -v size=60000 -v lateness=5000 '
		{ t = $1; ws = int(t / size) * size
		  if (have && ws + size <= wm) { late++; next }
		  c[$2 " " ws]++
		  if (!have || t - lateness > wm) { wm = t - lateness; have = 1 } }
		END { for (x in c) { split(x, p, " "); print p[1], p[2], (p[2] + size <= wm) ? "true" : "false", c[x] }
		      print "late", late + 0 > "/dev/stderr" }' "$T/times" 2> "$T/wantlate" | sort > "$T/want"
	evfold --db "$T/w.db" --dump | jq -r '[.key, (.start | sub("\\.000Z$"; "Z") | fromdate * 1000 - 1767225600000), .closed, .state.count] | join(" ")' |
		sort > "$T/got"
	cmp "$T/want" "$T/got"
	[ "$(wc -l < "$T/late.ndjson")" = "$(cut -d' ' -f2 "$T/wantlate")" ]
	[[ "$stderr" == *"\"late\":$(wc -l < "$T/late.ndjson")"* ]]
	# one event per closed window, with its final state
	[ "$(wc -l < "$T/closed.ndjson")" -eq "$(grep -c ' true ' "$T/want")" ]
	jq -r '[.subject, (.data.start | sub("\\.000Z$"; "Z") | fromdate * 1000 - 1767225600000), "true", .data.state.count] | join(" ")' \
		"$T/closed.ndjson" | sort | cmp - <(grep ' true ' "$T/want")
}

@test "windows survive restarts: two runs make what one run makes" {
	for i in $(seq 0 400); do wev $((i * 1500 + (i % 7) * 900)) "k$((i % 2))"; done > "$T/in"
	evfold --db "$T/one.db" -k .k --count --sum .n --window hopping:1m/20s --lateness 2s "$T/in"
	head -n 200 "$T/in" > "$T/a"
	tail -n +201 "$T/in" > "$T/b"
	evfold --db "$T/two.db" -k .k --count --sum .n --window hopping:1m/20s --lateness 2s "$T/a"
	evfold --db "$T/two.db" -k .k --count --sum .n --window hopping:1m/20s --lateness 2s "$T/b"
	cmp <(evfold --db "$T/one.db" --dump) <(evfold --db "$T/two.db" --dump)
}

@test "windows past the years 0000 to 9999 are bad input: the view keeps RFC 3339 times" {
	printf '%s\n' '{"k":"a","time":"2026-01-01T00:00:00Z"}' \
		'{"k":"a","time":"0000-01-01T00:10:00+01:00"}' '{"k":"a","time":"9999-12-31T23:30:00Z"}' \
		> "$T/in"
	run -2 --separate-stderr evfold --db "$T/y.db" -k .k --count --window tumbling:1h "$T/in"
	[[ "$stderr" == *"in:2: event time .time: its windows would reach past the years 0000 to 9999"* ]]
	[[ "$stderr" == *"in:3: event time .time: its windows would reach past"* ]]
	run -0 evfold --db "$T/y.db" --dump
	[ "$output" = '{"key":"a","start":"2026-01-01T00:00:00.000Z","end":"2026-01-01T01:00:00.000Z","closed":false,"state":{"count":1}}' ]
}

@test "session windows: events less than the gap apart, merged when one bridges two" {
	{ wev 0 a; wev 1000 b; wev 10000 a; wev 50000 a; wev 30000 a; wev 200000 a; } > "$T/in"
	run -0 evfold --db "$T/s.db" -k .k --count --window session:25s --lateness 30s \
		-o "$T/closed.ndjson" "$T/in"
	run -0 evfold --db "$T/s.db" --dump
	[ "$output" = "$(printf '%s\n' \
		'{"key":"a","start":"2026-01-01T00:00:00.000Z","end":"2026-01-01T00:01:15.000Z","closed":true,"state":{"count":4}}' \
		'{"key":"a","start":"2026-01-01T00:03:20.000Z","end":"2026-01-01T00:03:45.000Z","closed":false,"state":{"count":1}}' \
		'{"key":"b","start":"2026-01-01T00:00:01.000Z","end":"2026-01-01T00:00:26.000Z","closed":true,"state":{"count":1}}')" ]
	[ "$(jq -r .type "$T/closed.ndjson" | sort -u)" = fold.window ]
}

@test "session windows with a jq reducer: a merged session is folded again, in input order" {
	# e4 then e5 bridge a's first two sessions; e6 starts another
	{ wev 0 a; wev 1000 b; wev 10000 a; wev 50000 a; wev 30000 a; wev 200000 a; } |
		jq -c '.id = "e\(input_line_number)"' > "$T/in"
	R='. + [$e.id]'
	want='{"key":"a","start":"2026-01-01T00:00:00.000Z","end":"2026-01-01T00:01:15.000Z","closed":true,"state":["e1","e3","e4","e5"]}
{"key":"a","start":"2026-01-01T00:03:20.000Z","end":"2026-01-01T00:03:45.000Z","closed":false,"state":["e6"]}
{"key":"b","start":"2026-01-01T00:00:01.000Z","end":"2026-01-01T00:00:26.000Z","closed":true,"state":["e2"]}'
	run -0 evfold --db "$T/one.db" -k .k --window session:25s --lateness 30s -o "$T/closed.ndjson" "$R" "$T/in"
	[ "$(evfold --db "$T/one.db" --dump)" = "$want" ]
	[ "$(jq -c '[.subject, .data.state]' "$T/closed.ndjson")" = '["b",["e2"]]
["a",["e1","e3","e4","e5"]]' ]
	# the same in two runs: the open sessions' events are kept in the view
	head -n 4 "$T/in" > "$T/a"
	tail -n +5 "$T/in" > "$T/b"
	evfold --db "$T/two.db" -k .k --window session:25s --lateness 30s "$R" "$T/a"
	[ "$(sqlite3 "$T/two.db" "SELECT count(*) FROM fold WHERE aux IS NOT NULL")" = 3 ]
	evfold --db "$T/two.db" -k .k --window session:25s --lateness 30s "$R" "$T/b"
	[ "$(evfold --db "$T/two.db" --dump)" = "$want" ]
	# closed sessions keep no events
	[ "$(sqlite3 "$T/two.db" "SELECT count(*) FROM fold WHERE aux IS NOT NULL")" = 1 ]
	# a reducer that fails on the merge leaves both sessions as they were
	{ wev 0 a; wev 50000 a; } > "$T/c"
	wev 30000 a | jq -c '.bad = true' > "$T/d"
	B='if $e.bad and length > 0 then error("no merge") else . + 1 end'
	evfold --db "$T/three.db" -k .k --window session:25s --lateness 1h "$B" "$T/c"
	run -2 evfold --db "$T/three.db" -k .k --window session:25s --lateness 1h "$B" "$T/d"
	[[ "$output" == *"no merge"* ]]
	[ "$(evfold --db "$T/three.db" --dump | jq -c .state)" = '1
1' ]
}

@test "--since: a new view folds from a time" {
	evspool init "$T/orders"
	{ wev 0 a; wev 60000 a; wev 120000 a; } | evemit -f -o "$T/orders"
	run -0 evfold --no-follow -i "$T/orders" --db "$T/v.db" --count --since 2026-01-01T00:01:00Z
	[ "$(evfold --db "$T/v.db" --get '')" = '{"count":2}' ]
	run -2 evfold --no-follow -i "$T/orders" --db "$T/v.db" --count --since 2026-01-01T00:01:00Z
}

@test "SIGKILL at random moments: the view equals jq's reduce of the whole spool, exactly" {
	run -0 bash "$BATS_TEST_DIRNAME/../evfold-crash.sh" 8000 10 "$T/crash"
	[[ "$output" == *"view = jq's reduce, exactly"* ]]
}

@test "usage: --help, --version, a missing --db, bad options" {
	run -0 evfold --help
	[[ "$output" == "usage: evfold "* ]]
	run -0 evfold --version
	run -2 evfold --count
	[[ "$output" == *"--db"* ]]
	run -2 evfold --db "$T/x.db" --window weekly --count
	run -2 evfold --db "$T/x.db"
}
