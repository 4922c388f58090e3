#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# evfilter's options, diagnostics and exit statuses.
load helpers
bats_require_minimum_version 1.5.0

events() {
	printf '%s\n' '{"type":"order.placed","data":{"amount":120,"items":[{"sku":"a"},{"sku":"b"}]}}' \
		'{"type":"order.paid", "data":{"amount":5}}' \
		'{"type":"order.placed","data":{"amount":30,"items":[]}}'
}

@test "evfilter -v keeps the events the expression rejects" {
	events > "$T/in"
	run evfilter -v '.type == "order.placed"' "$T/in"
	[ "$status" -eq 0 ]
	[ "$output" = '{"type":"order.paid", "data":{"amount":5}}' ]
}

@test "evfilter -c prints the count only; with -v the count of the others" {
	events > "$T/in"
	run evfilter -c '.data.amount > 10' "$T/in"
	[ "$output" = 2 ]
	run evfilter -cv '.data.amount > 10' "$T/in"
	[ "$output" = 1 ]
	run evfilter -c '.nothing' "$T/in"
	[ "$status" -eq 1 ]
	[ "$output" = 0 ]
}

@test "evfilter --map writes each output of the expression compactly" {
	events > "$T/in"
	run evfilter --map '.data.items[]? | .sku' "$T/in"
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '"a"\n"b"')" ]
	run evfilter -m '{t: .type, big: (.data.amount > 100)}' "$T/in"
	[ "${lines[0]}" = '{"t":"order.placed","big":true}' ]
	[ "${#lines[@]}" -eq 3 ]
	run evfilter -m -v . "$T/in"
	[ "$status" -eq 2 ]
}

@test "evfilter --arg and --argjson bind variables as in jq" {
	events > "$T/in"
	run evfilter --arg t order.paid '.type == $t' "$T/in"
	[ "$output" = '{"type":"order.paid", "data":{"amount":5}}' ]
	run evfilter --argjson min 100 --arg t order.placed '.type == $t and .data.amount >= $min' "$T/in"
	[ "${#lines[@]}" -eq 1 ]
	run evfilter --argjson min '{bad' '.a' "$T/in"
	[ "$status" -eq 2 ]
	[[ "$output" == "evfilter: --argjson min: "* ]]
	run evfilter --arg onlyname
	[ "$status" -eq 2 ]
}

@test "exit status: 0 when something is kept, 1 when nothing is, 2 on bad input" {
	events > "$T/in"
	run evfilter '.type == "order.paid"' "$T/in"
	[ "$status" -eq 0 ]
	run evfilter '.type == "nope"' "$T/in"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	printf '{"a":1}\nnot json\n' > "$T/bad"
	run --separate-stderr evfilter '.a' "$T/bad"
	[ "$status" -eq 2 ]
	[ "$output" = '{"a":1}' ]
	[[ "$stderr" == "evfilter: $T/bad:2: "* ]]
}

@test "bad lines go verbatim to --rejects and are counted by --stats" {
	printf '{"a":1}\n{oops\n\n{"a":2}\n' > "$T/in"
	run --separate-stderr evfilter --stats=json --rejects "$T/rej.ndjson" '.a' "$T/in"
	[ "$status" -eq 2 ]
	[ "$output" = "$(printf '%s\n' '{"a":1}' '{"a":2}')" ]
	[ "${stderr##*$'\n'}" = '{"in":4,"kept":2,"bad":2}' ]
	[ "$(cat "$T/rej.ndjson")" = "$(printf '{oops\n')" ]
	[ "$(wc -l < "$T/rej.ndjson")" -eq 2 ]
}

@test "a runtime error is that event's error: reported with its line, the rest goes on" {
	printf '%s\n' '{"a":{"b":1}}' '{"a":"text"}' '{"a":{"b":2}}' > "$T/in"
	run --separate-stderr evfilter '.a.b' "$T/in"
	[ "$status" -eq 2 ]
	[ "$output" = "$(printf '%s\n' '{"a":{"b":1}}' '{"a":{"b":2}}')" ]
	[ "$stderr" = "evfilter: $T/in:2: Cannot index string with string \"b\"" ]
}

@test "a compile error is reported on one line before any input is read" {
	mkfifo "$T/fifo" # nobody writes it: opening it would block
	run timeout 20 evfilter '.a >' "$T/fifo"
	[ "$status" -eq 2 ]
	[ "$output" = 'evfilter: .a >: syntax error, unexpected $end at line 1' ]
	run evfilter '.a | nosuch(1)' /dev/null
	[ "$status" -eq 2 ]
	[ "$output" = 'evfilter: .a | nosuch(1): nosuch/1 is not defined at line 1' ]
}

@test "files are read in order; one that cannot be opened is reported and skipped" {
	echo '{"n":1}' > "$T/a"
	echo '{"n":2}' > "$T/b"
	run --separate-stderr evfilter . "$T/a" "$T/missing" "$T/b"
	[ "$status" -eq 2 ]
	[ "$output" = "$(printf '{"n":1}\n{"n":2}')" ]
	[[ "$stderr" == "evfilter: $T/missing: cannot open for reading: "* ]]
	run sh -c "echo '{\"n\":3}' | evfilter . '$T/a' -"
	[ "$output" = "$(printf '{"n":1}\n{"n":3}')" ]
}

@test "-o appends to a file; -i reads one" {
	events > "$T/in"
	evfilter -o "$T/out.ndjson" -i "$T/in" '.type == "order.paid"'
	evfilter -o "$T/out.ndjson" '.type == "order.paid"' "$T/in"
	[ "$(wc -l < "$T/out.ndjson")" -eq 2 ]
}

@test "writing to a full disk fails loudly with status 111" {
	events > "$T/in"
	run sh -c "evfilter . '$T/in' > /dev/full"
	[ "$status" -eq 111 ]
	[[ "$output" == *"No space left on device"* ]]
}

@test "a reader that goes away ends evfilter quietly (EPIPE)" {
	awk 'BEGIN { for (i = 0; i < 200000; i++) printf "{\"i\":%d}\n", i }' > "$T/big"
	run bash -c "evfilter . '$T/big' 2> '$T/err' | head -1"
	[ "$output" = '{"i":0}' ]
	[ ! -s "$T/err" ]
}

@test "--help, --version and a bad option" {
	run evfilter --help
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "usage: evfilter "* ]]
	run evfilter --version
	[ "$status" -eq 0 ]
	[[ "$output" == "evfilter (evkit) "* ]]
	run evfilter --no-such-option .
	[ "$status" -eq 2 ]
	run evfilter
	[ "$status" -eq 2 ]
	[[ "$output" == *"usage: evfilter "* ]]
}
