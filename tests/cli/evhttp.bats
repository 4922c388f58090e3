#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# evhttp: events in over HTTP (acknowledged once durable), a spool out over
# SSE, WebSocket and NDJSON; real clients (curl, python3) on loopback.
load helpers

PY=/usr/bin/python3
CLIENT="$BATS_TEST_DIRNAME/httpclient.py"

# start ARGS...: evhttp on a free loopback port; sets URL, HPID; stderr in $T/log.
start() {
	bg evhttp -l 127.0.0.1:0 "$@" 2>"$T/log"
	HPID=$BGPID
	wait_for 20 grep -q "(port [0-9]*)" "$T/log"
	URL="http://127.0.0.1:$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$T/log" | head -1)"
}

# post CTYPE BODY [CURL-ARGS...]: POST to /events; prints the body, then the status.
post() {
	local ct="$1" body="$2"; shift 2
	curl -s -w '\n%{http_code}' -H "Content-Type: $ct" --data-binary "$body" "$@" "$URL/events"
}

# stop evhttp as a supervisor would: it must exit 0 and clean
stop() {
	kill "$HPID"
	wait "$HPID"
}

mkspool() {
	evspool init "$T/s"
}

events() {
	evtail --no-follow -n 1000000 "$T/s"
}

@test "evhttp --help, a bad option, secrets never on the command line" {
	run evhttp --help
	[ "$status" -eq 0 ]
	[[ "$output" == "usage: evhttp "* ]]
	run evhttp --bogus
	[ "$status" -eq 2 ]
	run evhttp -o "$T/x"  --webhook-secret 'whsec_c2VjcmV0'
	[ "$status" -eq 2 ]
	[[ "$output" == *"whsec_c2VjcmV0: open: No such file"* ]]
	run evhttp
	[ "$status" -eq 2 ]
	[[ "$output" == *"nothing to do"* ]]
}

@test "every ingest mode: structured, binary, batched, NDJSON, plain JSON wrapped" {
	mkspool
	start -o "$T/s" -t web.hook --path '/gh:com.github.event=/dev/null'
	run post application/cloudevents+json '{"specversion":"1.0","type":"a.one","source":"/x","id":"1","data":{"n":1}}'
	[ "${lines[1]}" = 200 ]
	[ "${lines[0]}" = '{"accepted":1}' ]
	run curl -s -w '\n%{http_code}' -H 'ce-specversion: 1.0' -H 'ce-type: a.two' -H 'ce-id: 2' \
		-H 'ce-source: /bin' -H 'ce-region: eu%2Dwest' -H 'Content-Type: application/json' \
		--data-binary $'{\n "n": 2\n}' "$URL/events"
	[ "${lines[1]}" = 200 ]
	run post application/cloudevents-batch+json '[{"type":"a.three"},{"type":"a.four","data":4}]'
	[ "${lines[0]}" = '{"accepted":2}' ]
	run post application/x-ndjson $'{"type":"a.five"}\n\n{"type":"a.six"}\n'
	[ "${lines[0]}" = '{"accepted":2}' ]
	run post application/json '{"plain":7}' -H 'webhook-id: msg_7'
	[ "${lines[0]}" = '{"accepted":1}' ]
	run curl -s -H 'ce-specversion: 1.0' -H 'ce-type: a.eight' -H 'Content-Type: application/octet-stream' \
		--data-binary $'\x01\x02' "$URL/events"
	[ "$output" = '{"accepted":1}' ]
	run events
	[ "${#lines[@]}" -eq 8 ]
	run jq -c '[.type, .id, .data, .region, .datacontenttype, .data_base64, .specversion, (.source|type), (.time|type)]' <(events)
	[ "${lines[0]}" = '["a.one","1",{"n":1},null,null,null,"1.0","string","string"]' ]
	[ "${lines[1]}" = '["a.two","2",{"n":2},"eu-west","application/json",null,"1.0","string","string"]' ]
	[[ "${lines[3]}" == '["a.four",'*',4,null,null,null,"1.0","string","string"]' ]]
	[[ "${lines[5]}" == '["a.six",'* ]]
	[ "${lines[6]}" = '["web.hook","msg_7",{"plain":7},null,"application/json",null,"1.0","string","string"]' ]
	[ "${lines[7]}" = '["a.eight",'"$(jq -c .id <(events | tail -1))"',null,null,"application/octet-stream","AQI=","1.0","string","string"]' ]
	stop
}

@test "the type of a plain JSON body: the route's, else a header's with --type-header" {
	mkspool
	start --path "/gh:com.github.event=$T/s" --type-header X-GitHub-Event
	curl -sf -H 'Content-Type: application/json' -d '{"a":1}' "$URL/gh"
	curl -sf -H 'Content-Type: application/json' -H 'X-GitHub-Event: push' -d '{"a":2}' "$URL/gh"
	run jq -r .type <(events)
	[ "$output" = $'com.github.event\npush' ]
	run curl -s -w '\n%{http_code}' -H 'Content-Type: application/json' -d '{}' "$URL/events"
	[ "${lines[0]}" = '{"error":"no such path"}' ]
	[ "${lines[1]}" = 404 ]
}

@test "bad input is a 400 naming the problem, kept in --rejects, nothing of it written" {
	mkspool
	start -o "$T/s" --rejects "$T/rej.ndjson"
	run post application/x-ndjson $'{"type":"ok.1"}\n{"type":"ok.2",}\n'
	[ "${lines[0]}" = '{"error":"line 2: column 16: unexpected '"'}'"'"}' ]
	[ "${lines[1]}" = 400 ]
	run post application/cloudevents+json '{"specversion":"1.0","id":"x"}'
	[ "${lines[0]}" = '{"error":"no \"type\" attribute"}' ]
	[ "${lines[1]}" = 400 ]
	run post application/cloudevents-batch+json '[{"type":"a"},3]'
	[ "${lines[0]}" = '{"error":"element 2: not a JSON object"}' ]
	run curl -s -w '\n%{http_code}' -H 'ce-specversion: 0.3' -H 'ce-type: t' -d x "$URL/events"
	[ "${lines[1]}" = 400 ]
	# a header named "ce-" and nothing more (a crash once; tests/fuzz/httpreq found it)
	run curl -s -w '\n%{http_code}' -H 'ce-specversion: 1.0' -H 'ce-type: t' -H 'ce-: x' -d x \
	    "$URL/events"
	[ "${lines[0]}" = '{"error":"ce-: a ce- header names no attribute"}' ]
	[ "${lines[1]}" = 400 ]
	run post application/json '{"no type": true}'
	[ "${lines[1]}" = 400 ]
	[ "$(events)" = "" ]
	[ "$(head -2 "$T/rej.ndjson")" = $'{"type":"ok.1"}\n{"type":"ok.2",}' ]
	[ "$(lines "$T/rej.ndjson")" -eq 7 ]
}

@test "413 over --max-body, 415, 405, 404, 431 for huge headers" {
	mkspool
	start -o "$T/s" --max-body 1K --max-header 2K
	run post application/x-ndjson "$(printf '{"type":"big","pad":"%02000d"}' 0)"
	[ "${lines[1]}" = 413 ]
	run post text/csv 'a,b'
	[ "${lines[1]}" = 415 ]
	run curl -s -o /dev/null -w '%{http_code}' -X PUT "$URL/events"
	[ "$output" = 405 ]
	run curl -s -o /dev/null -w '%{http_code}' "$URL/nowhere"
	[ "$output" = 404 ]
	run curl -s -o /dev/null -w '%{http_code}' -H "X-Big: $(printf '%010000d' 0)" "$URL/stat"
	[ "$output" = 431 ]
	[ "$(events)" = "" ]
}

@test "a failing output answers 503 with Retry-After, an output behind 429; nothing acknowledged is lost" {
	start -o /dev/full
	run curl -s -D "$T/h" -w '\n%{http_code}' -H 'Content-Type: application/x-ndjson' -d '{"type":"t"}' "$URL/events"
	[ "${lines[1]}" = 503 ]
	grep -qi '^Retry-After: [0-9]' "$T/h"
	kill "$HPID"
	# a command output that reads nothing for a while keeps a big request waiting
	start -o "|sh -c 'sleep 15; cat > $T/out'" --max-queue 4K
	awk 'BEGIN { for (i = 0; i < 4000; i++) printf "{\"type\":\"t\",\"i\":%d,\"pad\":\"%040d\"}\n", i, 0 }' > "$T/big"
	curl -s -o "$T/first" -w '%{http_code}' -H 'Content-Type: application/x-ndjson' --data-binary @"$T/big" "$URL/events" > "$T/firstcode" &
	got429() {
		curl -s -D "$T/h2" -o /dev/null -w '%{http_code}' -H 'Content-Type: application/x-ndjson' \
			-d '{"type":"t2"}' "$URL/events" | grep -q 429
	}
	wait_for 30 got429
	grep -qi '^Retry-After: 1' "$T/h2"
	wait_for 40 grep -q 200 "$T/firstcode"
}

@test "bearer tokens from a file or the environment" {
	mkspool
	printf 'tok123\n' > "$T/token"
	start -o "$T/s" --bearer "$T/token"
	run curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -d '{}' "$URL/events"
	[ "$output" = 401 ]
	run curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer tok12' "$URL/stat"
	[ "$output" = 401 ]
	run curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer tok123' "$URL/stat"
	[ "$output" = 200 ]
	kill "$HPID"
	EVHTTP_TOKEN=envtok start -i "$T/s" --bearer env:EVHTTP_TOKEN
	run curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer envtok' "$URL/stat"
	[ "$output" = 200 ]
}

@test "Standard Webhooks signatures: good ones pass; bad, stale and missing ones are 401" {
	mkspool
	secret='whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
	printf '%s\n' "$secret" > "$T/secret"
	start -o "$T/s" -t hook.test --webhook-secret "$T/secret" --tolerance 1m
	printf '{"n":1}' > "$T/body"
	now=$(date +%s)
	sig=$($PY "$CLIENT" whsig "$secret" msg_1 "$now" "$T/body")
	hook() { curl -s -w '\n%{http_code}' -H 'Content-Type: application/json' -H "webhook-id: $1" \
		-H "webhook-timestamp: $2" -H "webhook-signature: $3" --data-binary @"$T/body" "$URL/events"; }
	run hook msg_1 "$now" "v1,bm90IGl0 $sig"
	[ "${lines[1]}" = 200 ]
	run hook msg_2 "$now" "$sig"
	[ "${lines[0]}" = '{"error":"no signature matches"}' ]
	[ "${lines[1]}" = 401 ]
	old=$((now - 120))
	run hook msg_1 "$old" "$($PY "$CLIENT" whsig "$secret" msg_1 "$old" "$T/body")"
	[ "${lines[0]}" = '{"error":"webhook-timestamp outside the tolerance"}' ]
	run curl -s -w '\n%{http_code}' -H 'Content-Type: application/json' -d '{"n":1}' "$URL/events"
	[ "${lines[1]}" = 401 ]
	run jq -c '[.id, .data]' <(events)
	[ "$output" = '["msg_1",{"n":1}]' ]
	grep -q 'refused: no signature matches' "$T/log"
}

@test "GitHub's X-Hub-Signature-256 is verified" {
	mkspool
	printf "It's a Secret to Everybody" > "$T/gh"
	start --path "/github:com.github.push=$T/s" --github-secret "$T/gh"
	printf 'Hello, World!' > "$T/body"
	run curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
		-H "X-Hub-Signature-256: sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17" \
		--data-binary @"$T/body" "$URL/github"
	[ "$output" = 400 ] # signature good; "Hello, World!" is not JSON
	printf '{"ref":"main"}' > "$T/body"
	run curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
		-H "X-Hub-Signature-256: $($PY "$CLIENT" ghsig "It's a Secret to Everybody" "$T/body")" \
		--data-binary @"$T/body" "$URL/github"
	[ "$output" = 200 ]
	run curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
		-H "X-Hub-Signature-256: sha256=$(printf '%064d' 0)" --data-binary @"$T/body" "$URL/github"
	[ "$output" = 401 ]
	[ "$(jq -c .data <(events))" = '{"ref":"main"}' ]
}

@test "the CloudEvents webhook handshake: OPTIONS with WebHook-Request-Origin" {
	start -o /dev/null
	run curl -s -D - -o /dev/null -X OPTIONS -H 'WebHook-Request-Origin: eventemitter.example.com' \
		-H 'WebHook-Request-Rate: 120' "$URL/events"
	[[ "$output" == "HTTP/1.1 200"* ]]
	[[ "$output" == *$'WebHook-Allowed-Origin: eventemitter.example.com\r'* ]]
	[[ "$output" == *$'WebHook-Allowed-Rate: *\r'* ]]
}

@test "TLS from certificate and key files" {
	mkspool
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" -out "$T/cert.pem" \
		-days 1 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 2>/dev/null
	start -o "$T/s" -t tls.hook --tls-cert "$T/cert.pem" --tls-key "$T/key.pem"
	run curl -s --cacert "$T/cert.pem" -H 'Content-Type: application/json' -d '{"s":1}' "${URL/http:/https:}/events"
	[ "$output" = '{"accepted":1}' ]
	run curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -d '{}' "$URL/events"
	[ "$output" != 200 ]
	[ "$(jq -c .data <(events))" = '{"s":1}' ]
}

@test "SSE: a client that disconnects and resumes with Last-Event-ID misses and repeats nothing" {
	mkspool
	seq 1 30 | sed 's/.*/{"type":"n","n":&}/' | evemit -f -o "$T/s"
	start -i "$T/s"
	run $PY "$CLIENT" sse "$URL/events?from=start" 20
	[ "${#lines[@]}" -eq 20 ]
	last=$(echo "${lines[19]}" | cut -d' ' -f1)
	printf '%s\n' "${lines[@]}" > "$T/got"
	seq 31 40 | sed 's/.*/{"type":"n","n":&}/' | evemit -f -o "$T/s"
	$PY "$CLIENT" sse "$URL/events" 20 "$last" >> "$T/got"
	run jq -s -c 'map(.n)' <(cut -d' ' -f2- "$T/got")
	[ "$output" = "$(seq 1 40 | jq -s -c .)" ]
	# each id is the spool position after its event
	[ "$(tail -1 "$T/got" | cut -d' ' -f1)" = "$(evspool stat --json "$T/s" | jq .end)" ]
	stop
}

@test "SSE and NDJSON subscribers see live events, filtered by type pattern and attribute glob" {
	mkspool
	start -o "$T/s"
	$PY "$CLIENT" sse "$URL/events?type=order.%23&match=subject:eu-*" 2 > "$T/sse" &
	curl -sN "$URL/events?type=*.paid" > "$T/nd" &
	subscribed() { kill -USR1 "$HPID"; grep -q 'subscribers 2,' "$T/log"; }
	wait_for 10 subscribed
	post application/x-ndjson $'{"type":"order.placed","subject":"eu-1"}\n{"type":"order.paid","subject":"us-1"}\n{"type":"user.paid","subject":"eu-2"}\n{"type":"order.paid","subject":"eu-3"}\n' >/dev/null
	wait_for 10 has_lines "$T/sse" 2
	run jq -r .subject <(cut -d' ' -f2- "$T/sse")
	[ "$output" = $'eu-1\neu-3' ]
	wait_for 10 has_lines "$T/nd" 3
	run jq -c '[.subject, (.evposition|type)]' "$T/nd"
	[ "$output" = $'["us-1","number"]\n["eu-2","number"]\n["eu-3","number"]' ]
	run curl -s -w '\n%{http_code}' "$URL/events?jq=.data"
	[ "${lines[1]}" = 400 ]
	[[ "${lines[0]}" == *"--allow-jq"* ]]
}

@test "WebSocket: one event per message, resume with position=, nothing missing or repeated" {
	mkspool
	seq 1 25 | sed 's/.*/{"type":"n","n":&}/' | evemit -f -o "$T/s"
	start -i "$T/s" --allow-jq
	$PY "$CLIENT" ws "ws://${URL#http://}/events?from=start" 10 > "$T/got"
	pos=$(tail -1 "$T/got" | jq .evposition)
	$PY "$CLIENT" ws "ws://${URL#http://}/events?position=$pos" 15 >> "$T/got"
	[ "$(jq -s -c 'map(.n)' "$T/got")" = "$(seq 1 25 | jq -s -c .)" ]
	run $PY "$CLIENT" ws "ws://${URL#http://}/events?from=start&jq=.n%20%3E%2023" 2
	[ "$(jq -s -c 'map(.n)' <<<"$output")" = '[24,25]' ]
	stop
}

@test "many subscribers share one read of new events; one passed by them reads its own, nothing missing or repeated" {
	mkspool
	seq 1 5 | sed 's/.*/{"type":"n","n":&}/' | evemit -f -o "$T/s"
	start -i "$T/s" --sub-buffer 16K
	# from the start: the older events from its own reader, then the shared ones
	$PY "$CLIENT" sse "$URL/events?from=start" 3006 > "$T/a" &
	a=$!
	# from the end, then stalled while more than the shared window (1 MiB) passes
	$PY "$CLIENT" sse "$URL/events" 3001 "" 4 > "$T/b" &
	b=$!
	subscribed() { kill -USR1 "$HPID"; grep -q 'subscribers 2,' "$T/log"; }
	wait_for 10 subscribed
	echo '{"type":"n","n":6}' | evemit -f -o "$T/s"
	wait_for 10 has_lines "$T/b" 1
	awk 'BEGIN { for (i = 7; i <= 3006; i++) printf "{\"type\":\"n\",\"n\":%d,\"pad\":\"%0500d\"}\n", i, 0 }' | evfilter true -o "$T/s"
	wait "$a" "$b"
	[ "$(cut -d' ' -f2- "$T/a" | jq -s -c 'map(.n)')" = "$(seq 1 3006 | jq -s -c .)" ]
	[ "$(cut -d' ' -f2- "$T/b" | jq -s -c 'map(.n)')" = "$(seq 6 3006 | jq -s -c .)" ]
	[ "$(tail -1 "$T/b" | cut -d' ' -f1)" = "$(evspool stat --json "$T/s" | jq .end)" ]
	# resuming inside the window: at an event's end, not inside one
	id=$(sed -n 3000p "$T/a" | cut -d' ' -f1)
	run $PY "$CLIENT" sse "$URL/events" 3 "$id"
	[ "$(cut -d' ' -f2- <<<"$output" | jq -s -c 'map(.n)')" = '[3001,3002,3003]' ]
	run curl -s -w '\n%{http_code}' "$URL/events?position=$((id - 1))"
	[ "${lines[1]}" = 400 ]
	[[ "${lines[0]}" == *"not the start of an event"* ]]
	stop
}

@test "a followed file: SSE resumes by byte offset, WebSocket by position=, nothing missing or repeated" {
	seq 1 30 | sed 's/.*/{"type":"n","n":&}/' > "$T/f.ndjson"
	start -i "$T/f.ndjson"
	run $PY "$CLIENT" sse "$URL/events?from=start" 20
	[ "${#lines[@]}" -eq 20 ]
	printf '%s\n' "${lines[@]}" > "$T/got"
	last=$(echo "${lines[19]}" | cut -d' ' -f1)
	# an id is the byte offset just after its line: where the next one starts
	[ "$last" -eq "$(head -n 20 "$T/f.ndjson" | wc -c)" ]
	seq 31 40 | sed 's/.*/{"type":"n","n":&}/' >> "$T/f.ndjson"
	$PY "$CLIENT" sse "$URL/events" 20 "$last" >> "$T/got"
	run jq -s -c 'map(.n)' <(cut -d' ' -f2- "$T/got")
	[ "$output" = "$(seq 1 40 | jq -s -c .)" ]
	[ "$(tail -1 "$T/got" | cut -d' ' -f1)" -eq "$(wc -c < "$T/f.ndjson")" ]
	# WebSocket: live, then resumed with position= after a disconnect
	$PY "$CLIENT" ws "ws://${URL#http://}/events?from=start" 25 > "$T/ws"
	pos=$(tail -1 "$T/ws" | jq .evposition)
	$PY "$CLIENT" ws "ws://${URL#http://}/events?position=$pos" 20 >> "$T/ws" &
	ws=$!
	subscribed() { kill -USR1 "$HPID"; grep -q 'subscribers 4,' "$T/log"; }
	wait_for 10 subscribed
	seq 41 45 | sed 's/.*/{"type":"n","n":&}/' >> "$T/f.ndjson"
	wait "$ws"
	[ "$(jq -s -c 'map(.n)' "$T/ws")" = "$(seq 1 45 | jq -s -c .)" ]
	# a position inside a line, or past the end, is refused
	run curl -s -w '\n%{http_code}' "$URL/events?position=5"
	[ "${lines[1]}" = 400 ]
	[[ "${lines[0]}" == *"not the start of a line"* ]]
	run curl -s -w '\n%{http_code}' "$URL/events?position=999999"
	[ "${lines[1]}" = 400 ]
	run curl -s -w '\n%{http_code}' "$URL/stat"
	[ "${lines[1]}" = 404 ]
	stop
}

@test "a followed file with curl -N: live lines, a half-written line held back, rotation followed like tail -F" {
	: > "$T/f.ndjson"
	start -i "$T/f.ndjson"
	curl -sN "$URL/events?type=n" > "$T/nd" &
	subscribed() { kill -USR1 "$HPID"; grep -q 'subscribers 1,' "$T/log"; }
	wait_for 10 subscribed
	printf '{"type":"n","n":1}\n{"type":"x","n":2}\n{"type":"n",' >> "$T/f.ndjson"
	wait_for 10 has_lines "$T/nd" 1
	printf '"n":3}\n' >> "$T/f.ndjson"
	wait_for 10 has_lines "$T/nd" 2
	mv "$T/f.ndjson" "$T/f.ndjson.1"
	printf '{"type":"n","n":4}\n' > "$T/f.ndjson"
	wait_for 10 has_lines "$T/nd" 3
	run jq -c '[.n, .evposition]' "$T/nd"
	[ "$output" = $'[1,19]\n[3,57]\n[4,19]' ]
	stop
}

@test "what cannot be followed from a position of its own is refused at start" {
	mkfifo "$T/fifo"
	run evhttp -l 127.0.0.1:0 -i "$T/fifo"
	[ "$status" -eq 2 ]
	[[ "$output" == *"not a spool directory or a regular file"* ]]
	run evhttp -l 127.0.0.1:0 -i "$T/absent"
	[ "$status" -eq 2 ]
	[[ "$output" == *"$T/absent"* ]]
}

@test "a subscriber that stops reading is dropped with a reason; the others go on" {
	mkspool
	awk 'BEGIN { for (i = 0; i < 20000; i++) printf "{\"type\":\"bulk\",\"i\":%d,\"pad\":\"%0300d\"}\n", i, 0 }' | evfilter true -o "$T/s"
	start -i "$T/s" --idle-timeout 2s --sub-buffer 16K
	$PY "$CLIENT" ws-stall "ws://${URL#http://}/events?from=start" 6 > "$T/stall" &
	stall=$!
	$PY "$CLIENT" sse-stall "$URL/events?from=start" 6 > "$T/ssestall" &
	ssestall=$!
	wait_for 20 grep -q 'WebSocket subscriber dropped: too slow' "$T/log"
	run $PY "$CLIENT" sse "$URL/events?from=start" 3
	[ "${#lines[@]}" -eq 3 ]
	wait "$stall" "$ssestall" || true
	grep -q 'closed\|close 1008' "$T/stall"
	[ "$(cat "$T/ssestall")" = closed ]
	grep -q 'subscriber dropped: nothing read for 2 s' "$T/log"
}

@test "a request body that trickles in is cut off after --request-timeout" {
	start -o /dev/null --request-timeout 2s
	run $PY "$CLIENT" slowbody "$URL/events" 8
	[ "$output" = closed ]
	grep -q 'too slow to arrive' "$T/log"
}

@test "kill -9 under load: every event acknowledged with 2xx is in the spool" {
	mkspool
	start -o "$T/s" -t load.test
	$PY "$CLIENT" load "$URL/events" 8 100000 > "$T/acked" &
	wait_for 60 has_lines "$T/acked" 300
	kill -9 "$HPID"
	wait
	sort -o "$T/acked" "$T/acked"
	[ "$(lines "$T/acked")" -ge 300 ]
	evspool check --repair "$T/s" >/dev/null 2>&1 || true
	jq -r .id <(events) | sort > "$T/stored"
	[ "$(comm -23 "$T/acked" "$T/stored" | wc -l)" -eq 0 ]
}

@test "systemd socket activation (LISTEN_FDS) and GET / serves the page" {
	command -v systemd-socket-activate >/dev/null || skip "no systemd-socket-activate"
	mkspool
	port=$(( 20000 + RANDOM % 20000 ))
	bg systemd-socket-activate -l "127.0.0.1:$port" evhttp -o "$T/s" -t sd.test 2>"$T/log"
	URL="http://127.0.0.1:$port"
	wait_for 10 bash -c "echo > /dev/tcp/127.0.0.1/$port" 2>/dev/null
	run curl -s -H 'Content-Type: application/json' -d '{"sd":1}' "$URL/events"
	[ "$output" = '{"accepted":1}' ]
	run curl -s "$URL/"
	[[ "$output" == "<!doctype html>"* ]]
	run curl -s "$URL/stat"
	[ "$(jq .events <<<"$output")" = 1 ]
}
