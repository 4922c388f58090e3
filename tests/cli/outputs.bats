#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# evkit(7), "A new output": an output that does not exist is made as a file
# only when its name has an extension, so a mistyped spool is an error.
load helpers
bats_require_minimum_version 1.5.0

setup() {
	T="$BATS_TEST_TMPDIR"
	cd "$T"
	evspool init orders
	printf '%s\n' '{"id":"1","type":"order.placed"}' '{"id":"2","type":"order.paid"}' > in.ndjson
	evfilter -o orders true in.ndjson
}

@test "a mistyped spool (-o ordres) is refused, names the two ways, and nothing is read" {
	run --separate-stderr evfilter --cursor c -i orders --no-follow -o ordres true
	[ "$status" -eq 2 ]
	[ "$stderr" = "evfilter: ordres: no such spool (evspool init ordres makes one); a new file needs a name with an extension, such as ordres.ndjson" ]
	[ ! -e ordres ]
	# the input's cursor did not move: a later run with the right spool gets everything
	run evtail --cursor c --no-follow -o orders.ndjson orders
	[ "$status" -eq 0 ]
	cmp in.ndjson orders.ndjson
}

@test "the rule holds for paths, every tool and every kind of output" {
	mkdir sp
	run -2 evfilter -o "$T/sp/ordres" true in.ndjson
	[[ "$output" == *"$T/sp/ordres: no such spool"* ]]
	run -2 evfilter -o ordres/ true in.ndjson
	run -2 evfilter -o .hidden true in.ndjson
	run -2 evfilter -o 'ordres.' true in.ndjson
	run -2 evfilter --rejects rejected true in.ndjson
	run -2 evtail --no-follow -o ordres orders
	run -2 evemit -o ordres t
	run -2 evdedupe --dups dupes in.ndjson
	run -2 evretry -i in.ndjson -d dead -o /dev/null -- true
	run -2 evroute -i in.ndjson 'order.* > warehous'
	[[ "$output" == *"warehous: no such spool"* ]]
	[ -z "$(ls -A sp)" ]
	[ "$(ls)" = "$(printf '%s\n' in.ndjson orders sp)" ]
}

@test "a name with an extension is made as a file; what exists is used as it is" {
	evfilter -o out.ndjson true in.ndjson
	cmp in.ndjson out.ndjson
	evroute -i in.ndjson 'order.placed > placed.jsonl' '# > ./all.log'
	[ "$(jq -r .id placed.jsonl)" = 1 ]
	cmp in.ndjson all.log
	# a file without an extension, once it exists, is appended to
	: > out
	evfilter -o out true in.ndjson
	evfilter -o out true in.ndjson
	[ "$(lines out)" -eq 4 ]
	# stdout, a command, a device, a spool
	evfilter -o - true in.ndjson | cmp in.ndjson -
	evfilter -o '|wc -l' true in.ndjson | grep -qx 2
	evfilter -o /dev/null true in.ndjson
	evspool init ordres
	evfilter -o ordres true in.ndjson
	evtail --no-follow --from-start ordres | cmp in.ndjson -
}
