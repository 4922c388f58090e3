#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# The torture test, scaled for make check (make torture runs 1000 kills):
# a four-stage spool pipeline under random SIGKILLs loses nothing, and a
# full disk is a clean exit 111 and a resume.
load helpers

TORTURE="$BATS_TEST_DIRNAME/../torture.sh"

@test "30 random SIGKILLs across a four-stage spool pipeline: no event lost, every spool checks clean" {
	run sh "$TORTURE" -k 30 -n 10000 "$EVKIT_BIN"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"lost 0, duplicates "* ]]
}

@test "a full disk (a 4 MiB tmpfs): exit 111, whole lines, a resume that loses nothing" {
	run sh "$TORTURE" -d -n 20000 "$EVKIT_BIN"
	echo "$output"
	[ "$status" -ne 77 ] || skip "${output#torture: }"
	[ "$status" -eq 0 ]
	[[ "$output" == *"exit 111"*"lost 0"* ]]
}
