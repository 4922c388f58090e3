#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# HTTP(S) locations as outputs, against a real endpoint on loopback:
# tests/hookserver.py records each request and answers chosen statuses.
load helpers

HOOK="$BATS_TEST_DIRNAME/../hookserver.py"
# Debian's python3 starts faster than a pyenv shim on a loaded machine
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3

# hook [ARGS...]: start an endpoint in $T/hook; its base URL in $URL.
hook() {
	mkdir -p "$T/hook"
	bg "$PY" "$HOOK" "$T/hook" "$@"
	wait_for 60 test -s "$T/hook/port"
	URL="http://127.0.0.1:$(cat "$T/hook/port")"
}

# req JQ: jq over the recorded requests, as one array
req() {
	jq -rs "$1" "$T/hook/requests.ndjson"
}

events() {
	seq "$1" "$2" | awk '{ printf "{\"specversion\":\"1.0\",\"id\":\"e%d\",\"source\":\"/t\",\"type\":\"order.%s\",\"data\":{\"n\":%d}}\n", $1, ($1 % 2 ? "placed" : "paid"), $1 }'
}

@test "each event is POSTed in structured mode, in order, over one kept-alive connection" {
	hook
	events 1 20 > "$T/in"
	run evfilter true "$T/in" -o "$URL/hook?key=1"
	[ "$status" -eq 0 ]
	[ "$(req 'length')" -eq 20 ]
	[ "$(req '[.[].method] | unique | join(" ")')" = "POST" ]
	[ "$(req '[.[].path] | unique | join(" ")')" = "/hook?key=1" ]
	[ "$(req '[.[].headers["content-type"]] | unique | join(" ")')" = "application/cloudevents+json; charset=utf-8" ]
	req '.[].body' | cmp - "$T/in"
	[ "$(req '[.[].peer] | unique | length')" -eq 1 ]
	[ "$(req '[.[].headers["webhook-signature"]] | map(select(.)) | length')" -eq 0 ]
}

@test "binary mode: attributes in ce-* headers, the data as the body" {
	hook
	printf '%s\n' '{"specversion":"1.0","id":"b1","source":"/a b","type":"t","time":"2026-12-01T10:00:00Z","evattempt":2,"data":{"x":1}}' \
		'{"specversion":"1.0","id":"b2","source":"/s","type":"t","datacontenttype":"text/plain","data":"héllo"}' \
		'{"specversion":"1.0","id":"b3","source":"/s","type":"t","data_base64":"AAEC"}' \
		'{"specversion":"1.0","id":"b4","source":"/s","type":"t","nested":{"no":1}}' > "$T/in"
	run evfilter --rejects "$T/rej.ndjson" true "$T/in" -o "$URL/#mode=binary"
	[ "$status" -eq 2 ]
	[ "$(req '.[0].headers | [.["ce-id"], .["ce-source"], .["ce-time"], .["ce-evattempt"], .["content-type"]] | join(" ")')" = "b1 /a%20b 2026-12-01T10:00:00Z 2 application/json" ]
	[ "$(req '.[0].body')" = '{"x":1}' ]
	[ "$(req '.[1].headers["content-type"] + " " + .[1].body')" = "text/plain héllo" ]
	[ "$(req '.[2].headers["content-type"] + " " + (.[2].body | explode | map(tostring) | join(","))')" = "application/octet-stream 0,1,2" ]
	[ "$(req 'length')" -eq 3 ]
	grep -q '"id":"b4"' "$T/rej.ndjson"
	[[ "$output" == *"attribute 'nested' is not a string, number or boolean"* ]]
}

@test "batched mode: one JSON array per batch_size events" {
	hook
	events 1 25 > "$T/in"
	run evfilter true "$T/in" -o "$URL/#mode=batch&batch_size=10"
	[ "$status" -eq 0 ]
	[ "$(req '[.[] | .body | fromjson | length] | join(",")')" = "10,10,5" ]
	[ "$(req '.[0].headers["content-type"]')" = "application/cloudevents-batch+json; charset=utf-8" ]
	req '.[].body | fromjson | .[] | tojson' | cmp - "$T/in"
}

@test "408, 429 and 5xx are retried (429 after its Retry-After), then delivered once" {
	hook --status 503,429,408,500 --retry-after 1
	events 1 3 > "$T/in"
	run evfilter true "$T/in" -o "$URL/"
	[ "$status" -eq 0 ]
	[ "$(req '[.[].status] | join(",")')" = "503,429,408,500,200,200,200" ]
	[ "$(req '[.[].body | fromjson | .id] | join(",")')" = "e1,e1,e1,e1,e1,e2,e3" ]
	# the answer after the 429 came no sooner than it asked
	req '(.[2].t - .[1].t) >= 1' | grep -qx true
	[[ "$output" == *"HTTP 503"*"retrying for up to 60 s"* ]]
	[[ "$output" == *"delivering again"* ]]
}

@test "an endpoint that keeps failing: 111 after retry=, and a spool cursor stays" {
	hook --default 503
	evspool init "$T/s"
	events 1 5 | evfilter true -o "$T/s"
	run evtail --no-follow --cursor web "$T/s" -o "$URL/#retry=1s"
	[ "$status" -eq 111 ]
	[[ "$output" == *"gave up after retrying for 1 s"* ]]
	[ "$(evspool cursor "$T/s" web | awk '{ print $2 }')" -eq 0 ]
}

@test "nothing listening: 111 with retry=0, and the connection failure named" {
	run evfilter true -o "http://127.0.0.1:9/#retry=0" <<< '{"id":"x"}'
	[ "$status" -eq 111 ]
	[[ "$output" == *"http://127.0.0.1:9/#retry=0: "*"onnect"* ]]
}

@test "other 4xx are refusals: kept in --rejects, the rest delivered, status 2" {
	hook --refuse poison
	{ events 1 2; echo '{"id":"p","type":"poison"}'; events 3 4; } > "$T/in"
	run evfilter --rejects "$T/rej.ndjson" true "$T/in" -o "$URL/"
	[ "$status" -eq 2 ]
	[ "$(cat "$T/rej.ndjson")" = '{"id":"p","type":"poison"}' ]
	[ "$(req '[.[] | select(.status == 200) | .body | fromjson | .id] | join(",")')" = "e1,e2,e3,e4" ]
	[[ "$output" == *'refused by the endpoint: HTTP 422: {"error":"not today"}: kept in'* ]]
}

@test "a refusal without --rejects: the cursor stays, and the run after the fix delivers all" {
	hook --status 200,400
	evspool init "$T/s"
	events 1 3 | evfilter true -o "$T/s"
	run evtail --no-follow --cursor web "$T/s" -o "$URL/"
	[ "$status" -eq 2 ]
	[[ "$output" == *"not delivered and no --rejects"* ]]
	[ "$(evspool cursor "$T/s" web | awk '{ print $2 }')" -eq 0 ]
	run evtail --no-follow --cursor web "$T/s" -o "$URL/"
	[ "$status" -eq 0 ]
	[ "$(req '[.[] | select(.status == 200) | .body | fromjson | .id] | join(",")')" = "e1,e3,e1,e2,e3" ]
}

@test "a following spool reader delivers new events as they come, and commits after 2xx" {
	hook
	evspool init "$T/s"
	bg evtail --cursor web "$T/s" -o "$URL/"
	events 1 3 | evfilter true -o "$T/s"
	wait_for 60 test -s "$T/hook/requests.ndjson"
	wait_for 60 sh -c "[ \$(wc -l < '$T/hook/requests.ndjson') -ge 3 ]"
	size=$(cat "$T"/s/segments/* | wc -c)
	wait_for 60 sh -c "evspool cursor '$T/s' web | awk '{ exit !(\$2 == $size) }'"
}

@test "evroute: an HTTP destination per rule" {
	hook
	events 1 6 > "$T/in"
	run evroute -i "$T/in" "order.paid > $URL/paid" "order.placed > $T/placed.ndjson"
	[ "$status" -eq 0 ]
	[ "$(req '[.[].body | fromjson | .id] | join(",")')" = "e2,e4,e6" ]
	[ "$(lines "$T/placed.ndjson")" -eq 3 ]
}

@test "with a secret, each request carries Standard Webhooks headers that verify" {
	secret="whsec_$(printf 'sixteen byte key' | base64)"
	hook --verify "$secret"
	events 1 3 > "$T/in"
	EVKIT_TEST_SECRET="$secret" run evfilter true "$T/in" -o "$URL/#secret=env:EVKIT_TEST_SECRET"
	[ "$status" -eq 0 ]
	[ "$(req '[.[].verified] | unique | join(",")')" = "true" ]
	[ "$(req '[.[].headers["webhook-id"]] | join(",")')" = "e1,e2,e3" ]
	printf '%s\n' "$secret" > "$T/secret"
	run evfilter true "$T/in" -o "$URL/#mode=batch&secret=file:$T/secret"
	[ "$status" -eq 0 ]
	[ "$(req '[.[].verified] | unique | join(",")')" = "true" ]
	# a wrong secret is refused (401) and kept
	printf 'whsec_%s\n' "$(printf 'another key' | base64)" > "$T/wrong"
	run evfilter --rejects "$T/rej.ndjson" true "$T/in" -o "$URL/#secret=$T/wrong"
	[ "$status" -eq 2 ]
	[ "$(lines "$T/rej.ndjson")" -eq 3 ]
}

@test "a bearer token from the environment" {
	hook
	TOK=sesame run evfilter true -o "$URL/#token=env:TOK" <<< '{"id":"x"}'
	[ "$status" -eq 0 ]
	[ "$(req '.[0].headers.authorization')" = "Bearer sesame" ]
}

@test "bad locations and parameters are named, exit 2, nothing sent" {
	run evfilter true -o "http://127.0.0.1:9/#mode=fancy" <<< '{}'
	[ "$status" -eq 2 ]
	[[ "$output" == *"mode 'fancy' is not structured, binary or batch"* ]]
	run evfilter true -o "http://127.0.0.1:9/#colour=blue" <<< '{}'
	[ "$status" -eq 2 ]
	[[ "$output" == *"unknown parameter 'colour' (see ev-http(7))"* ]]
	run evfilter true -o "http://u:pw@127.0.0.1:9/" <<< '{}'
	[ "$status" -eq 2 ]
	[[ "$output" == *"a password in the location"* ]]
	run evfilter true -o "http://127.0.0.1:9/#cacertfile=/x" <<< '{}'
	[ "$status" -eq 2 ]
	[[ "$output" == *"'cacertfile' needs an https:// location"* ]]
	run evfilter true -o "http://127.0.0.1:9/#secret=env:EVKIT_NOT_SET_ANYWHERE" <<< '{}'
	[ "$status" -eq 2 ]
	run evtail --no-follow "http://127.0.0.1:9/"
	[ "$status" -eq 2 ]
	[[ "$output" == *"an HTTP location is an output only"* ]]
}

@test "parallel=4: four requests at a time on four connections, every event once" {
	hook
	events 1 200 > "$T/in"
	run evfilter true "$T/in" -o "$URL/#parallel=4"
	[ "$status" -eq 0 ]
	req '.[].body' | sort | cmp - <(sort "$T/in")
	[ "$(req '[.[].peer] | unique | length')" -gt 1 ]
	[ "$(req '[.[].peer] | unique | length')" -le 4 ]
}
