#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# evemit: events from arguments, input lines, events to fill, CSV rows.
load helpers
bats_require_minimum_version 1.5.0

UUID7='^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'
TIME='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$'

@test "evemit TYPE FIELD... makes one CloudEvent with nested, typed data" {
	run evemit order.placed customer.name=ada customer.id:=42 items:='[{"sku":"a"}]' note='say "hi"'
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[ "$(jq -c '{specversion, type, data}' <<< "$output")" = \
	  '{"specversion":"1.0","type":"order.placed","data":{"customer":{"name":"ada","id":42},"items":[{"sku":"a"}],"note":"say \"hi\""}}' ]
	[[ "$(jq -r .id <<< "$output")" =~ $UUID7 ]]
	[[ "$(jq -r .time <<< "$output")" =~ $TIME ]]
}

@test "the output is compact JSON that jq reads back unchanged" {
	run evemit t 'a\.b=1' 'multi:={
	  "k" : [ 1, "x y" ] }' n:=12345 s=$'tab\there' u=é
	[ "$status" -eq 0 ]
	[ "$(jq -c . <<< "$output")" = "$output" ]
	[ "$(jq -c .data <<< "$output")" = '{"a.b":"1","multi":{"k":[1,"x y"]},"n":12345,"s":"tab\there","u":"é"}' ]
}

@test "an event without fields has no data member" {
	run evemit ping
	[ "$(jq -c 'has("data")' <<< "$output")" = false ]
}

@test "the envelope options set their attributes" {
	run evemit -s /shop --subject order-42 --id abc -t 2024-01-01T01:00:00.5+01:00 \
		--datacontenttype application/json --dataschema https://example.com/s.json \
		-x partitionkey=eu -x sequence:=7 -x evtest:=true order.placed
	[ "$status" -eq 0 ]
	[ "$output" = '{"specversion":"1.0","id":"abc","source":"/shop","type":"order.placed","subject":"order-42","time":"2024-01-01T00:00:00.500Z","datacontenttype":"application/json","dataschema":"https://example.com/s.json","partitionkey":"eu","sequence":7,"evtest":true}' ]
}

@test "-t takes a duration ago as well as a time" {
	run evemit -t 1h t
	local t=$(jq -r '.time | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601' <<< "$output")
	local now=$(date +%s)
	[ $((now - t)) -ge 3590 ]
	[ $((now - t)) -le 3610 ]
}

@test "the source comes from -s, else EVKIT_SOURCE, else //HOSTNAME/evemit" {
	run evemit t
	[ "$(jq -r .source <<< "$output")" = "//$(hostname)/evemit" ]
	EVKIT_SOURCE=/billing run evemit t
	[ "$(jq -r .source <<< "$output")" = /billing ]
	EVKIT_SOURCE=/billing run evemit -s /override t
	[ "$(jq -r .source <<< "$output")" = /override ]
}

@test "extension attribute names are checked against the CloudEvents rules" {
	for bad in Upper under_score dash-ed abcdefghijklmnopqrstu '' id type source data time; do
		run evemit -x "$bad=1" t
		[ "$status" -eq 2 ] || { echo "accepted -x $bad: $status $output"; false; }
		[[ "$output" == "evemit: -x '$bad': "* ]]
	done
	run evemit -x abcdefghijklmnopqrst=1 -x ev2=2 t
	[ "$status" -eq 0 ]
	run evemit -x a=1 -x a=2 t
	[ "$status" -eq 2 ]
	run evemit -x a:=null t
	[ "$output" = "evemit: -x a:=null: an attribute is a string, a number or a boolean" ]
	run evemit -x 'a:=[1' t
	[ "$status" -eq 2 ]
	run evemit -x noequals t
	[ "$status" -eq 2 ]
}

@test "bad fields are usage errors that say what is wrong" {
	run evemit t 'n:={"a":'
	[ "$status" -eq 2 ]
	[[ "$output" == "evemit: 'n': not a JSON value: "* ]]
	run evemit t n:=nope
	[ "$status" -eq 2 ]
	run evemit t novalue
	[ "$output" = "evemit: 'novalue': not key=value or key:=json" ]
	run evemit t a=1 a.b=2
	[ "$output" = "evemit: 'a.b': 'a' is already a value, not an object" ]
	run evemit t a=1 a=2
	[ "$output" = "evemit: 'a': given twice" ]
	run evemit t a..b=1
	[ "$status" -eq 2 ]
	run evemit -t yesterday t
	[ "$status" -eq 2 ]
	run evemit --id '' t
	[ "$status" -eq 2 ]
	run evemit ''
	[ "$status" -eq 2 ]
}

@test "usage: no type, clashing modes, fields or --id with input" {
	run evemit
	[ "$status" -eq 2 ]
	[[ "${lines[0]}" == "usage: evemit "* ]]
	run evemit -l --csv t
	[ "$status" -eq 2 ]
	run evemit -l t a=1
	[ "$status" -eq 2 ]
	run evemit -l --id x t
	[ "$status" -eq 2 ]
	run evemit --help
	[ "$status" -eq 0 ]
	run evemit -V
	[[ "$output" == "evemit (evkit) "* ]]
}

@test "evemit -l: each input line is the data of one event" {
	printf '%s\n' '{"n":1}' '[2, 3]' '"text"' '  {"spaced": true}  ' > "$T/in"
	run evemit -l t < "$T/in"
	[ "$status" -eq 0 ]
	[ "$(jq -c .data <<< "$output")" = "$(printf '%s\n' '{"n":1}' '[2,3]' '"text"' '{"spaced":true}')" ]
	[ "$(jq -r .type <<< "$output" | sort -u)" = t ]
	# -i alone reads lines too
	run evemit -i "$T/in" t
	[ "${#lines[@]}" -eq 4 ]
}

@test "evemit -l: bad lines are reported, kept in --rejects, and the rest goes on" {
	printf '%s\n' '{"n":1}' 'not json' '' '{"n":2}' > "$T/in"
	run --separate-stderr evemit -l --rejects "$T/rej.ndjson" t < "$T/in"
	[ "$status" -eq 2 ]
	[ "$(jq -c .data <<< "$output")" = "$(printf '{"n":1}\n{"n":2}')" ]
	[[ "${stderr_lines[0]}" == "evemit: <stdin>:2: "* ]]
	[[ "${stderr_lines[1]}" == "evemit: <stdin>:3: "* ]]
	[ "$(cat "$T/rej.ndjson")" = "$(printf 'not json\n')" ]
	[ "$(wc -l < "$T/rej.ndjson")" -eq 2 ]
}

@test "ids from one evemit are distinct and increase" {
	awk 'BEGIN { for (i = 0; i < 5000; i++) print i }' | evemit -l t | jq -r .id > "$T/ids"
	[ "$(wc -l < "$T/ids")" -eq 5000 ]
	LC_ALL=C sort -c -u "$T/ids"
	grep -Evq "$UUID7" "$T/ids" && false || true
}

@test "evemit -f fills in what an event lacks and keeps what it has" {
	printf '%s\n' '{"type":"a","id":"keep","data":{"x":1}}' '{"data":2}' > "$T/in"
	run --separate-stderr evemit -f -s /fill -x region=eu < "$T/in"
	[ "$status" -eq 2 ] # the second line has no type and none was given
	[ "$output" = '{"type":"a","id":"keep","data":{"x":1},"specversion":"1.0","source":"/fill","time":"'"$(jq -r .time <<< "$output")"'","region":"eu"}' ]
	[ "$stderr" = 'evemit: <stdin>:2: no "type" attribute' ]
	run evemit -f dflt < "$T/in"
	[ "$status" -eq 0 ]
	[ "$(jq -r .type <<< "$output")" = "$(printf 'a\ndflt')" ]
	[[ "$(jq -r .id <<< "${lines[1]}")" =~ $UUID7 ]]
}

@test "evemit -f rejects lines that are not objects" {
	printf '%s\n' '[1]' '"s"' 'nope' '{"type":"t"}' > "$T/in"
	run --separate-stderr evemit -f --rejects "$T/rej.ndjson" < "$T/in"
	[ "$status" -eq 2 ]
	[ "${#lines[@]}" -eq 1 ]
	[ "${stderr_lines[0]}" = 'evemit: <stdin>:1: not a JSON object' ]
	[ "$(wc -l < "$T/rej.ndjson")" -eq 3 ]
}

@test "evemit --csv: a row per event, keyed by the header, numeric columns as numbers" {
	printf '%s\r\n' 'name,qty,price,zip,addr.city' 'ada,1,2.5,02134,"Boston, MA"' \
		'bob,,3e2,10001,"New' 'York"' 'carl,7,-0.5,99999,Paris' > "$T/in.csv"
	run evemit --csv -s /import row -i "$T/in.csv"
	[ "$status" -eq 0 ]
	[ "$(jq -c .data <<< "$output")" = "$(printf '%s\n' \
		'{"name":"ada","qty":1,"price":2.5,"zip":"02134","addr":{"city":"Boston, MA"}}' \
		'{"name":"bob","qty":null,"price":300,"zip":"10001","addr":{"city":"New\nYork"}}' \
		'{"name":"carl","qty":7,"price":-0.5,"zip":"99999","addr":{"city":"Paris"}}')" ]
}

@test "evemit --csv: a short row is bad input; a bad header stops at once" {
	printf '%s\n' 'a,b' '1,2' '3' '4,5' > "$T/in.csv"
	run --separate-stderr evemit --csv --rejects "$T/rej.ndjson" t < "$T/in.csv"
	[ "$status" -eq 2 ]
	[ "${#lines[@]}" -eq 2 ]
	[ "$stderr" = 'evemit: <stdin>:3: 1 cells where the header has 2' ]
	[ "$(cat "$T/rej.ndjson")" = 3 ]
	run sh -c "printf 'a,a\n1,2\n' | evemit --csv t"
	[ "$status" -eq 2 ]
	[ "$output" = "evemit: <stdin>:1: the header: 'a': given twice" ]
}

@test "-o appends to a file; --stats counts" {
	evemit -o "$T/out.ndjson" a
	printf '1\n2\n' | evemit -l -o "$T/out.ndjson" --stats=json b 2> "$T/stats"
	[ "$(jq -r .type "$T/out.ndjson")" = "$(printf 'a\nb\nb')" ]
	[ "$(cat "$T/stats")" = '{"in":2,"made":2,"bad":0}' ]
}

@test "writing to a full disk fails with status 111" {
	run sh -c 'evemit t > /dev/full'
	[ "$status" -eq 111 ]
	run sh -c 'echo 1 | evemit -l t > /dev/full'
	[ "$status" -eq 111 ]
	[[ "$output" == *"No space left on device"* ]]
}
