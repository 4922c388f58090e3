#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# Consumer groups (--group): each event to one live member, redelivery of a
# dead member's claims, a delivery limit into dead letters, the low-water
# mark and retention, evspool stat.
load helpers

# fill S N [FIRST]: append N events {"n":I} to spool S (made if absent).
fill() {
	[ -d "$1" ] || evspool init "$1"
	awk -v n="$2" -v f="${3:-0}" 'BEGIN { for (i = f; i < f + n; i++) printf "{\"n\":%d}\n", i }' |
		evfilter true -o "$1"
}

# low S G: group G's committed position; end S: the spool's end.
low() { sed -n 's/^low //p' "$1/groups/$2/state"; }
end() { cat "$1"/segments/*.ndjson | wc -c; }
drained() { [ "$(low "$1" "$2")" = "$(end "$1")" ]; }

@test "members of a group share the events: each to one of them, none twice" {
	fill "$T/s" 3000
	for i in 1 2 3; do
		evfilter --no-follow --group g -o "$T/o$i.ndjson" true "$T/s" &
	done
	wait
	[ "$(cat "$T"/o?.ndjson | wc -l)" -eq 3000 ]
	[ "$(cat "$T"/o?.ndjson | sort -u | wc -l)" -eq 3000 ]
	drained "$T/s" g
	# a later member finds nothing left; a new event goes to one member
	run evtail --no-follow --group g "$T/s"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	fill "$T/s" 1 3000
	run evtail --no-follow --group g "$T/s"
	[ "$output" = '{"n":3000}' ]
}

@test "members that join at the same moment never take each other for dead" {
	fill "$T/s" 4000
	for round in 1 2 3; do
		rm -rf "$T/s/groups" "$T"/o.*
		for i in 1 2 3 4 5 6; do
			evretry -q -p --group g -i "$T/s" --no-follow -o "$T/o.$i" -- \
				sh -c 'while read -r l; do echo ok; done' &
		done
		wait
		[ "$(cat "$T"/o.* | wc -l)" -eq 4000 ]
		[ "$(cat "$T"/o.* | sort -u | wc -l)" -eq 4000 ]
	done
}

@test "followers of a group split a stream as it comes, and a late member joins" {
	evspool init "$T/s"
	bg evtail -q --group g -o "$T/a.ndjson" "$T/s"
	bg evtail -q --group g -o "$T/b.ndjson" "$T/s"
	for k in 0 1 2 3 4; do fill "$T/s" 200 $((k * 200)); done
	bg evtail -q --group g -o "$T/c.ndjson" "$T/s"
	fill "$T/s" 1000 1000
	wait_for 20 drained "$T/s" g
	wait_for 10 eval '[ "$(cat "$T"/a.ndjson "$T"/b.ndjson "$T"/c.ndjson 2>/dev/null | wc -l)" -eq 2000 ]'
	[ "$(cat "$T"/[abc].ndjson | sort -u | wc -l)" -eq 2000 ]
}

@test "a killed member's claims go at once to a live member, counted in evdeliveries" {
	fill "$T/s" 5
	export T
	# The first member takes events and hangs in its handler on the first one.
	bg evretry --group g -i "$T/s" -o "$T/first.ndjson" -- sh -c 'echo $$ > "$T/hang"; exec sleep 60'
	first=$BGPID
	wait_for 10 test -s "$T/hang"
	bg evretry --group g -i "$T/s" -o "$T/second.ndjson" -- true
	sleep 0.3 # (nothing must arrive: the first member still holds its claim)
	kill -9 "$first" "$(cat "$T/hang")"
	wait_for 10 has_lines "$T/second.ndjson" 5
	[ "$(grep -c '"evdeliveries":2' "$T/second.ndjson")" -ge 1 ]
	grep -q '^{"n":0,"evdeliveries":2}$' "$T/second.ndjson"
	[ "$(sort -u "$T/second.ndjson" | sed 's/,"evdeliveries":2//' | sort -u | wc -l)" -eq 5 ]
	run evspool stat --json "$T/s"
	[[ "$output" == *'"redelivered":'[1-9]* ]]
}

@test "a poison event is dead-lettered after --max-deliveries while the rest flows" {
	fill "$T/s" 100
	echo '{"n":"poison"}' | evfilter true -o "$T/s"
	fill "$T/s" 100 100
	export T
	# The handler kills its member when it meets the poison; members restart.
	worker() {
		evretry -q --group g --max-deliveries 3 --no-follow -d "$T/dead.ndjson" -i "$T/s" \
			-o "$T/out.$1" -- sh -c 'if grep -q poison; then kill -9 $PPID; fi'
	}
	for round in $(seq 1 12); do
		worker a & a=$!
		worker b & b=$!
		wait $a $b || true
		drained "$T/s" g && break
	done
	drained "$T/s" g
	[ "$(lines "$T/dead.ndjson")" -eq 1 ]
	grep -q '"n":"poison"' "$T/dead.ndjson"
	grep -q '"evdeadreason":"deliveries"' "$T/dead.ndjson"
	grep -q '"evdeliveries":3' "$T/dead.ndjson"
	cat "$T"/out.* | sed 's/,"evdeliveries":[0-9]*//' | sort -u > "$T/done"
	[ "$(lines "$T/done")" -eq 200 ]
	! grep -q poison "$T/done"
	run evspool stat "$T/s"
	[[ "$output" == *"group     g at "*"dead 1"* ]]
}

@test "four members under random SIGKILLs: none lost, every repeat counted" {
	run "$BATS_TEST_DIRNAME/../group-kill.sh" "$T/k" 20000 12
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"lost 0,"*"unmarked duplicates 0"* ]]
}

@test "retention keeps what a group has not finished; evspool stat shows the group" {
	evspool init --segment-bytes 100 --retain-bytes 1 "$T/s"
	fill "$T/s" 20
	export T
	# A member that hangs on its first event holds the group at 0.
	bg evretry --group slow -i "$T/s" -o /dev/null -- sh -c 'echo $$ > "$T/hang"; exec sleep 60'
	wait_for 10 test -s "$T/hang"
	fill "$T/s" 20 20 # writers roll over and apply retention
	evspool gc "$T/s"
	[ "$(low "$T/s" slow)" -eq 0 ]
	[ -e "$T/s/segments/0000000000000000.ndjson" ]
	run evspool stat "$T/s"
	[ "$status" -eq 0 ]
	[[ "$output" == *"group     slow at 0: lag 40 events, "*"1 member, claimed 1, pending 0"* ]]
	[[ "$output" == *"member    slow: pid $BGPID since "* ]]
	run evspool stat --json "$T/s"
	[[ "$output" == *'"groups":[{"name":"slow","position":0,"lag_events":40,'*'"members":[{"pid":'$BGPID* ]]
	run evspool stat --prometheus "$T/s"
	[[ "$output" == *'evkit_spool_group_lag_events{spool="'$T/s'",group="slow"} 40'* ]]
	[[ "$output" == *'evkit_spool_group_members{spool="'$T/s'",group="slow"} 1'* ]]
	# killed, its claim is pending and still kept
	kill -9 "$BGPID" "$(cat "$T/hang")"
	evspool gc "$T/s"
	[ -e "$T/s/segments/0000000000000000.ndjson" ]
	run evspool stat "$T/s"
	[[ "$output" == *"0 members, claimed 0, pending 1"* ]]
	# finished, the group lets retention go on
	evtail --no-follow --group slow "$T/s" > "$T/rest"
	[ "$(lines "$T/rest")" -eq 40 ]
	evspool gc "$T/s"
	[ ! -e "$T/s/segments/0000000000000000.ndjson" ]
}

@test "--group: usage errors" {
	fill "$T/s" 1
	run evtail --no-follow --group g --cursor c "$T/s"
	[ "$status" -eq 2 ] && [[ "$output" == *"exclude each other"* ]]
	run evtail --no-follow --max-deliveries 2 "$T/s"
	[ "$status" -eq 2 ] && [[ "$output" == *"needs --group"* ]]
	run evtail --no-follow --group g --max-deliveries 0 "$T/s"
	[ "$status" -eq 2 ]
	run evtail --no-follow --group g --from-start "$T/s"
	[ "$status" -eq 2 ] && [[ "$output" == *"own position"* ]]
	run evtail --no-follow --group ../x "$T/s"
	[ "$status" -eq 2 ] && [[ "$output" == *"not a valid group name"* ]]
	echo '{}' > "$T/f"
	run evfilter --group g true "$T/f"
	[ "$status" -eq 2 ] && [[ "$output" == *"--group needs a spool"* ]]
}

@test "evfold members of a group fold into one view: every event counted once" {
	evspool init "$T/s"
	awk 'BEGIN { for (i = 0; i < 3000; i++) printf "{\"k\":\"k%d\"}\n", i % 7 }' |
		evfilter true -o "$T/s"
	for i in 1 2 3; do
		evfold --no-follow --group g --db "$T/v.db" -k .k --count "$T/s" &
	done
	wait
	drained "$T/s" g
	run evfold --db "$T/v.db" --view g --dump
	[ "$status" -eq 0 ]
	total=$(printf '%s\n' "$output" | grep -o '"count":[0-9]*' | cut -d: -f2 | paste -sd+ | bc)
	[ "$total" -eq 3000 ]
	# a group keeps its own position: with --window the members could not share one
	run evfold --no-follow --group g --db "$T/v.db" --count --window tumbling:1m "$T/s"
	[ "$status" -eq 2 ]
}

# keyed S N KEYS: append N events {"k":"kI%KEYS","n":I} to spool S.
keyed() {
	[ -d "$1" ] || evspool init "$1"
	awk -v n="$2" -v m="$3" 'BEGIN { for (i = 0; i < n; i++) printf "{\"k\":\"k%d\",\"n\":%d}\n", i % m, i }' |
		evfilter true -o "$1"
}

# checklog LOG: per key, starts and ends alternate (one member at a time)
# and the events are in spool order; prints the members that worked.
checklog() {
	awk '{ match($3, /"k":"[^"]*"/); k = substr($3, RSTART + 5, RLENGTH - 6)
	       match($3, /"n":[0-9]+/); n = substr($3, RSTART + 4, RLENGTH - 4) + 0
	       if ($1 == "S") { if (open[k] != "") { print "overlap on " k > "/dev/stderr"; bad = 1 }
	                        if (k in last && n <= last[k]) { print "order on " k > "/dev/stderr"; bad = 1 }
	                        open[k] = n; last[k] = n; who[$2] = 1 }
	       else { if (open[k] != n "") { print "end without start on " k > "/dev/stderr"; bad = 1 }
	              open[k] = "" } }
	     END { for (w in who) print w; exit bad }' "$1"
}

@test "--key: four members, one member at a time per key, each key in spool order" {
	evspool init "$T/s"
	export T
	for i in 1 2 3 4; do
		bg evretry -j 2 --group g --key .k -i "$T/s" -o "$T/done.$i.ndjson" -- \
			sh -c 'l=$(cat); echo "S $PPID $l" >> "$T/log"; sleep 0.005; echo "E $PPID $l" >> "$T/log"'
	done
	# the members have shared the partitions out (each lock names its holder)
	wait_for 30 eval '[ "$(cat "$T"/s/cursors/.g@*.lock 2>/dev/null | sort -u | wc -l)" -ge 4 ]'
	keyed "$T/s" 120 12
	wait_for 90 eval '[ "$(grep -c ^E "$T/log")" -ge 120 ]'
	run checklog "$T/log"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -ge 2 ] # the keys were shared out
	[ "$(grep ^E "$T/log" | grep -o '"n":[0-9]*' | sort -u | wc -l)" -eq 120 ]
	# the partitions are cursors: evspool stat sees them
	evspool stat "$T/s" | grep -q 'g@0'
}

@test "--key with --max-deliveries: a key's poison event is dead-lettered, its later events follow in order" {
	keyed "$T/s" 60 6
	echo '{"k":"k2","n":"poison"}' | evfilter true -o "$T/s"
	awk 'BEGIN { for (i = 60; i < 120; i++) printf "{\"k\":\"k%d\",\"n\":%d}\n", i % 6, i }' |
		evfilter true -o "$T/s"
	export T
	# The handler kills its member when it meets the poison; members restart.
	worker() {
		evretry -q --group g --key .k --max-deliveries 3 --no-follow -d "$T/dead.ndjson" \
			-i "$T/s" -o "$T/out.$1" -- sh -c 'l=$(cat)
				case $l in *poison*) kill -9 $PPID; exit 0 ;; esac
				echo "$l" >> "$T/log"'
	}
	finished() { [ "$(grep -o '"n":[0-9]*' "$T/log" | sort -u | wc -l)" -eq 120 ]; }
	for round in $(seq 1 15); do
		worker a & a=$!
		worker b & b=$!
		wait $a $b || true
		[ -s "$T/dead.ndjson" ] && finished && break
	done
	[ "$(lines "$T/dead.ndjson")" -eq 1 ]
	grep -q '"n":"poison"' "$T/dead.ndjson"
	grep -q '"evdeadreason":"deliveries"' "$T/dead.ndjson"
	grep -q '"evdeliveries":3' "$T/dead.ndjson"
	finished
	# each key's events were finished in spool order (the last time each
	# was finished: a redelivery repeats one), k2's after its poison too
	awk '{ match($0, /"k":"[^"]*"/); k = substr($0, RSTART, RLENGTH)
	       match($0, /"n":[0-9]+/); n = substr($0, RSTART + 4, RLENGTH - 4) + 0
	       last[n] = NR; key[n] = k }
	     END { for (n in last) print key[n], last[n], n }' "$T/log" | sort -k1,1 -k2,2n |
		awk '$1 == k && $3 < n { print "order: " $0 > "/dev/stderr"; bad = 1 } { k = $1; n = $3 }
		     END { exit bad }'
}

@test "--key: a killed member's keys move to the others at once" {
	evspool init "$T/s"
	export T
	bg evretry --group g --key .k -i "$T/s" -- sh -c 'cat > /dev/null; exec sleep 60'
	first=$BGPID
	keyed "$T/s" 50 5
	wait_for 10 eval 'pgrep -P "$first" sleep > /dev/null'
	bg evretry --group g --key .k -i "$T/s" -o "$T/out.ndjson" -- true
	sleep 0.5 # (the first member holds every key: nothing may arrive)
	[ "$(lines "$T/out.ndjson")" -eq 0 ]
	kill -9 "$first"
	wait_for 10 has_lines "$T/out.ndjson" 50
	[ "$(jq -c .n "$T/out.ndjson" | sort -un | wc -l)" -eq 50 ]
}

@test "evemit -f joins a group like every reader of a spool" {
	fill "$T/s" 300
	for i in 1 2; do
		evemit -f --no-follow --group g -i "$T/s" -o "$T/e$i.ndjson" t &
	done
	wait
	[ "$(cat "$T"/e?.ndjson | jq -c .n | sort -u | wc -l)" -eq 300 ]
	[ "$(cat "$T"/e?.ndjson | wc -l)" -eq 300 ]
	drained "$T/s" g
}
