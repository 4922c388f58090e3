#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
load helpers

@test "evfilter keeps matching events byte for byte" {
	printf '{"a": 1}\n{"a":2,  "b":[ 1 ]}\n' > "$T/in"
	run evfilter '.a > 1' "$T/in"
	[ "$status" -eq 0 ]
	[ "$output" = '{"a":2,  "b":[ 1 ]}' ]
}
