#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# Webhooks from one evkit tool into another: an HTTP output (ev-http(7))
# POSTing into evhttp(1), with Standard Webhooks signatures checked on
# arrival.
load helpers

setup() {
	T="$BATS_TEST_TMPDIR"
	command -v evhttp > /dev/null || skip "evhttp is not built"
}

@test "evfilter -o http:// delivers into evhttp, signed, and evhttp verifies it end to end" {
	secret="whsec_$(printf 'sixteen byte key' | base64)"
	evspool init "$T/in"
	S="$secret" bg evhttp -o "$T/in" -l 127.0.0.1:0 --webhook-secret env:S 2> "$T/evhttp.log"
	wait_for 60 grep -q 'listening on' "$T/evhttp.log"
	U="http://127.0.0.1:$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$T/evhttp.log")/events"
	seq 1 50 | awk '{ printf "{\"specversion\":\"1.0\",\"id\":\"e%d\",\"source\":\"/t\",\"type\":\"order.placed\",\"data\":{\"n\":%d}}\n", $1, $1 }' > "$T/ev"
	S="$secret" run evfilter true "$T/ev" -o "$U#secret=env:S"
	[ "$status" -eq 0 ]
	S="$secret" run evfilter true "$T/ev" -o "$U#secret=env:S&mode=batch&batch_size=7"
	[ "$status" -eq 0 ]
	S="$secret" run evfilter true "$T/ev" -o "$U#secret=env:S&mode=binary&parallel=4"
	[ "$status" -eq 0 ]
	[ "$(evtail --no-follow --from-start "$T/in" | jq -r .id | sort | uniq -c | awk '{ print $1 }' | sort -u)" = 3 ]
	[ "$(evtail --no-follow --from-start "$T/in" | wc -l)" -eq 150 ]
	# a wrong secret: refused (401), kept in --rejects, nothing written
	W="whsec_$(printf 'another key' | base64)" run evfilter --rejects "$T/rej.ndjson" true "$T/ev" -o "$U#secret=env:W"
	[ "$status" -eq 2 ]
	[ "$(lines "$T/rej.ndjson")" -eq 50 ]
	[[ "$output" == *"refused by the endpoint: HTTP 401"* ]]
	[ "$(evtail --no-follow --from-start "$T/in" | wc -l)" -eq 150 ]
}
