#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# The fast path: common predicates run on the scanner, with jq's answers.
load helpers

@test "evfilter --explain names the fields a fast-path predicate reads" {
	run evfilter --explain '.type == "order.placed" and .data.amount > 100'
	[ "$status" -eq 0 ]
	[ "$output" = "fast path: one scan per event reads .type, .data.amount" ]
}

@test "evfilter --explain says why an expression goes to libjq" {
	run evfilter --explain '.data.amount % 2 == 0'
	[ "$status" -eq 0 ]
	[[ "$output" == "libjq: "*"column 14" ]]
	run evfilter --explain -m '.type'
	[ "$output" = "libjq: --map prints jq's outputs" ]
}

@test "evfilter --explain still rejects an expression jq cannot compile" {
	run evfilter --explain '.a =='
	[ "$status" -eq 2 ]
}

@test "evfilter on the fast path orders types as jq does" {
	printf '%s\n' '{"a":null}' '{"a":false}' '{"a":true}' '{"a":-1e400}' '{"a":0}' \
		'{"a":1e400}' '{"a":""}' '{"a":"é"}' '{"a":[]}' '{"a":{}}' '{}' > "$T/in"
	for e in '.a < 0' '.a >= "a"' '.a == null' '.a != -0' '(.a // 7) > 5' '.a | not'; do
		got=$(evfilter "$e" "$T/in" | jq -c .)
		want=$(jq -c "select($e)" "$T/in")
		[ "$got" = "$want" ] || { echo "$e: got [$got] want [$want]"; return 1; }
	done
}

@test "evfilter hands an event a fast predicate cannot answer to jq" {
	printf '%s\n' '{"data":{"amount":600}}' '{"data":5}' '{"data":{"amount":[1]}}' > "$T/in"
	run evfilter '.data.amount > 500' "$T/in" -o "$T/out.ndjson"
	[ "$status" -eq 2 ] # .data is a number on line 2: jq's error, reported
	[[ "$output" == *":2: Cannot index number with string \"amount\"" ]]
	[ "$(cat "$T/out.ndjson")" = "$(printf '%s\n' '{"data":{"amount":600}}' '{"data":{"amount":[1]}}')" ]
}

@test "evfilter fast path: bad lines are rejected by the same single scan" {
	printf '%s\n' '{"type":"x"}' '{"type":"x",}' '[1]' > "$T/in"
	run evfilter -c '.type == "x"' "$T/in"
	[ "$status" -eq 2 ]
	[[ "$output" == *":2: column 13: "* ]]
	[[ "$output" == *":3: not a JSON object"* ]]
}

@test "evfilter fast path takes --arg and --argjson scalars" {
	printf '%s\n' '{"type":"a","n":3}' '{"type":"b","n":9}' > "$T/in"
	run evfilter --explain --arg t b --argjson min 5 '.type == $t and .n > $min'
	[[ "$output" == "fast path:"* ]]
	run evfilter --arg t b --argjson min 5 '.type == $t and .n > $min' "$T/in"
	[ "$output" = '{"type":"b","n":9}' ]
}

@test "evfilter fast path agrees with jq on the GitHub events" {
	for e in '.type == "PushEvent"' '.payload.size > 1 or .public == false' \
		'.actor.login | startswith("d")' '.payload | has("action")' \
		'select(.repo.name | test("bot")) | not'; do
		run evfilter --explain "$e"
		[[ "$output" == "fast path:"* ]]
		got=$(evfilter -c "$e" "$CORPUS/github-events.ndjson" || true)
		want=$(jq -c "select($e)" "$CORPUS/github-events.ndjson" | wc -l)
		[ "$got" = "$want" ] || { echo "$e: $got vs $want"; return 1; }
	done
}

@test "evfilter fast path: regexes with flags, any/all, iteration, length, arithmetic" {
	for e in '(.type | test("^push|^watch"; "i")) and any(.payload.commits[]; .distinct)' \
		'.actor.login | test("^[a-z]+\\d*$")' '(.payload.commits | length) > 1' \
		'all(.payload.commits[]; .message | ascii_downcase | test("fix") | not)' \
		'(.payload.size // 0) * 2 - 1 > 3' 'select(.payload.pages[] != null)'; do
		run evfilter --explain "$e"
		[[ "$output" == "fast path:"* ]] || { echo "$e: $output"; return 1; }
		got=$(evfilter -c "$e" "$CORPUS/github-events.ndjson" 2>/dev/null || true)
		want=$(jq -c "select($e)" "$CORPUS/github-events.ndjson" 2>/dev/null | wc -l)
		[ "$got" = "$want" ] || { echo "$e: $got vs $want"; return 1; }
	done
}

@test "evfilter fast path: an iteration over null is jq's error, reported" {
	printf '%s\n' '{"items":[1,5]}' '{"items":null}' '{"items":[0]}' > "$T/in"
	run evfilter 'any(.items[]; . > 2)' "$T/in" -o "$T/out.ndjson"
	[ "$status" -eq 2 ]
	[[ "$output" == *":2: Cannot iterate over null"* ]]
	[ "$(cat "$T/out.ndjson")" = '{"items":[1,5]}' ]
}
