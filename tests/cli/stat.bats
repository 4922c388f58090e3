#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# evspool stat keeps each sealed segment's count of events beside it, so
# that it reads a line per segment instead of the data, and stays exact.
load helpers

@test "evspool stat keeps the counts of sealed segments and gives the same answers" {
	evspool init --segment-bytes 1000 "$T/s"
	for k in $(seq 0 9); do
		awk -v f=$((k * 50)) 'BEGIN { for (i = f; i < f + 50; i++) printf "{\"n\":%d}\n", i }' |
			evfilter true -o "$T/s"
	done
	evtail --no-follow --cursor a --count 123 "$T/s" > /dev/null
	evtail --no-follow --cursor b --count 300 "$T/s" > /dev/null
	run evspool stat --json "$T/s"
	first=$output
	[[ "$first" == *'"events":500,'* ]]
	[[ "$first" == *'"name":"a","position":'*',"lag_events":377,'* ]]
	[[ "$first" == *'"name":"b","position":'*',"lag_events":200,'* ]]
	ls -a "$T/s/segments" | grep -q '^\.[0-9a-f]\{16\}\.count$'
	run evspool stat --json "$T/s"
	[ "$output" = "$first" ]
	# a count that does not match its segment's size is not believed
	for f in "$T"/s/segments/.*.count; do echo "1 999" > "$f"; done
	run evspool stat --json "$T/s"
	[ "$output" = "$first" ]
	# nor is anything but a regular file
	for f in "$T"/s/segments/.*.count; do rm "$f"; mkfifo "$f"; done
	run timeout 10 evspool stat --json "$T/s"
	[ "$output" = "$first" ]
}

@test "writers keep each segment's count as they append; a stale count is read as the prefix it counts" {
	evspool init --segment-bytes 1000 "$T/s"
	for k in $(seq 0 9); do
		awk -v f=$((k * 50)) 'BEGIN { for (i = f; i < f + 50; i++) printf "{\"n\":%d}\n", i }' |
			evfilter true -o "$T/s"
	done
	# every segment, the active one too, has its count before any stat
	n=0
	for seg in "$T"/s/segments/*.ndjson; do
		b=$(basename "$seg" .ndjson)
		read -r size events < "$T/s/segments/.$b.count"
		[ "$((10#$size))" -eq "$(wc -c < "$seg")" ]
		[ "$((10#$events))" -eq "$(wc -l < "$seg")" ]
		n=$((n + 1))
	done
	[ "$n" -gt 3 ]
	run evspool stat --json "$T/s"
	[[ "$output" == *'"events":500,'* ]]
	# a count of the first line only (a writer died before counting the
	# rest): stat reads what follows it and gives the same answer
	last=$(ls "$T"/s/segments/*.ndjson | tail -n 1)
	b=$(basename "$last" .ndjson)
	echo "$(($(head -n 1 "$last" | wc -c))) 1" > "$T/s/segments/.$b.count"
	run evspool stat --json "$T/s"
	[[ "$output" == *'"events":500,'* ]]
	# and the next writer carries on from it
	echo '{"n":500}' | evfilter true -o "$T/s"
	last=$(ls "$T"/s/segments/*.ndjson | tail -n 1)
	read -r size events < "$T/s/segments/.$(basename "$last" .ndjson).count"
	[ "$((10#$events))" -eq "$(wc -l < "$last")" ]
	run evspool check "$T/s"
	[ "$status" -eq 0 ]
}
