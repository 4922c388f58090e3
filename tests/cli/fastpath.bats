#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# evroute's jq rules and evdedupe's path keys use the evfilter fast path:
# each must act exactly as its libjq form does.
load helpers

@test "an evroute jq rule of a fast shape routes what jq selects" {
	bash "$GEN" 3000 0 5 > "$T/in"
	evroute -i "$T/in" --otherwise /dev/null \
		"(.data.amount > 500 and .type != \"x\") > $T/fast.ndjson" \
		"(.data.amount + 0 > 500 and .type != \"x\") > $T/jq.ndjson"
	[ "$(lines "$T/fast.ndjson")" -gt 100 ]
	cmp "$T/fast.ndjson" "$T/jq.ndjson"
	[ "$(lines "$T/fast.ndjson")" = "$(jq -c 'select(.data.amount > 500 and .type != "x")' "$T/in" | wc -l | tr -d ' ')" ]
}

@test "evdedupe -k PATH keeps what the same key through jq keeps" {
	printf '%s\n' '{"k":"a"}' '{"k":"a"}' '{"k":1}' '{"k":1.0}' '{"k":"\u0061"}' '{"k":"é"}' \
		'{"k":"\u00e9"}' '{"k":null}' '{}' '{"k":[1]}' '{"k":[1]}' '{"k":true}' '{"k":true}' \
		'{"k":100}' '{"k":1e2}' '{"k":"\u007f"}' '{"k":""}' '{"k":""}' > "$T/in"
	bash "$GEN" 2000 20 3 >> "$T/in"
	evdedupe -k .k "$T/in" > "$T/fast" || true
	evdedupe -k '.k | .' "$T/in" > "$T/jq" || true
	[ "$(lines "$T/fast")" -gt 10 ]
	cmp "$T/fast" "$T/jq"
	evdedupe -k .data.customer.id "$T/in" > "$T/fast" || true
	evdedupe -k '.data | .customer.id' "$T/in" > "$T/jq" || true
	cmp "$T/fast" "$T/jq"
}
