#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# Delay and expiry: evemit --delay/--at set evnotbefore; readers with --hold
# keep such events until due (durably, without stalling the due events
# behind them); --expired sets aside events past their expirytime.
load helpers
bats_require_minimum_version 1.5.0

# due LINE: the evnotbefore of an event line, in Unix ms.
due() { date -d "$(jq -r .evnotbefore <<< "$1")" +%s%3N; }
now() { date +%s%3N; }

# stamp DEST: a sink command that writes each line after the Unix ms at
# which it arrived (bash's clock: no process per line, whose start would
# count as lateness on a loaded machine).
stamp() {
	echo "|bash -c 'while IFS= read -r l; do t=\${EPOCHREALTIME/./}; echo \"\${t%???} \$l\"; done > $1'"
}

# emit DEST EVENT...: events of type t appended to DEST (- for stdout) by
# one evemit -f, an EVENT being N (data {"n":N}, due), N+MS (held MS from
# now) or N@TIME (held until the RFC 3339 TIME); the due time of the first
# N+MS, Unix ms, is left in $T/due. One process start between the clock read and
# the append, however loaded the machine: a held event cannot become due
# before its reader has seen the others, as it could behind several.
emit() {
	local dest=$1 t0 e nb
	shift
	t0=$(now)
	rm -f "$T/due"
	for e; do
		nb=
		case $e in
		*+*)
			nb=$((t0 + ${e#*+}))
			[ -s "$T/due" ] || echo "$nb" > "$T/due"
			nb=$(date -u -d "@$((nb / 1000)).$(printf %03d $((nb % 1000)))" +%Y-%m-%dT%H:%M:%S.%3NZ)
			;;
		*@*) nb=${e#*@} ;;
		esac
		if [ -n "$nb" ]; then
			printf '{"type":"t","data":{"n":%s},"evnotbefore":"%s"}\n' "${e%%[+@]*}" "$nb"
		else
			printf '{"type":"t","data":{"n":%s}}\n' "$e"
		fi
	done | evemit -f -o "$dest"
}

# released LINE D: check that a released event, stamped LINE, came at or
# after its due time D and not absurdly late (a loaded machine may be late:
# the bound is generous; the lateness is printed for the record).
released() {
	at=${1%% *}
	echo "released at $at, due $2: $((at - $2)) ms late"
	[ "$at" -ge "$2" ]
	[ "$at" -le $(($2 + 2000)) ]
}

@test "evemit --delay and --at set evnotbefore (RFC 3339)" {
	before=$(now)
	run evemit --delay 10m t n:=1
	[ "$status" -eq 0 ]
	d=$(due "$output")
	[ "$d" -ge $((before + 600000 - 1000)) ]
	[ "$d" -le $(($(now) + 600000)) ]
	run evemit --at 2030-01-02T03:04:05Z t
	[ "$(jq -r .evnotbefore <<< "$output")" = 2030-01-02T03:04:05.000Z ]
	run evemit --at yesterday t
	[ "$status" -eq 2 ]
	run evemit --at 2030-01-02T03:04:05Z --delay 1s t
	[ "$status" -eq 2 ]
}

@test "--hold: a delayed event is released on time, not early, and does not stall the due ones" {
	evspool init "$T/s"
	bg evtail -q --hold --cursor c -o "$(stamp "$T/out")" "$T/s"
	emit "$T/s" 0+3000 1 2 3
	d=$(cat "$T/due")
	[ "$(due "$(head -n 1 "$T"/s/segments/*.ndjson)")" -eq "$d" ]
	# the due events come at once, in order, without the delayed one
	wait_for 10 has_lines "$T/out" 3
	[ "$(cut -d' ' -f2- "$T/out" | jq -c .data | paste -sd' ')" = '{"n":1} {"n":2} {"n":3}' ]
	wait_for 15 has_lines "$T/out" 4
	line=$(sed -n 4p "$T/out")
	[ "$(cut -d' ' -f2- <<< "$line" | jq -c .data)" = '{"n":0}' ]
	released "$line" "$d"
}

@test "--hold: released on time while due events keep coming" {
	evspool init "$T/s"
	bg evtail -q --hold --cursor c -o "$(stamp "$T/out")" "$T/s"
	evemit --delay 1500ms t n:=0 -o "$T/s"
	d=$(due "$(head -n 1 "$T"/s/segments/*.ndjson)")
	# a steady stream of due events, from before the delayed one is due to after
	python3 -c 'import sys, time
for i in range(1, 1201):
    print("{\"n\":%d}" % i, flush=True)
    time.sleep(0.0025)' | evfilter true -o "$T/s"
	wait_for 20 has_lines "$T/out" 1201
	line=$(grep '"n":0' "$T/out")
	released "$line" "$d"
	# it came out among the due events, not after them
	[ "$(grep -n '"n":0' "$T/out" | cut -d: -f1)" -lt 1201 ]
}

@test "--hold: held events survive a restart, and the due ones are not repeated" {
	evspool init "$T/s"
	emit "$T/s" 0+6000 1 2@2100-01-01T00:00:00.000Z 3
	d=$(cat "$T/due")
	run evtail --hold --cursor c --no-follow "$T/s"
	[ "$status" -eq 0 ]
	[ "$(jq -c .data <<< "$output" | paste -sd' ')" = '{"n":1} {"n":3}' ]
	# the cursor stays before the held events; the side file lists them
	[ -f "$T/s/cursors/.c.held" ]
	[ "$(cat "$T/s/cursors/c")" -eq 0 ]
	run evtail --hold --cursor c --no-follow "$T/s"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	# killed while following: nothing lost, nothing repeated
	bg evtail --hold --cursor c -o "$T/out.ndjson" "$T/s"
	pid=$BGPID
	evemit t n:=4 -o "$T/s"
	wait_for 10 has_lines "$T/out.ndjson" 1
	# its commit: the side file says everything up to the end is seen
	wait_for 10 eval '[ "$(sed -n "s/^high //p" "$T/s/cursors/.c.held")" -eq \
	    "$(cat "$T"/s/segments/*.ndjson | wc -c)" ]'
	kill -9 "$pid"
	wait_for 20 eval '[ "$(now)" -ge "$d" ]'
	run evtail --hold --cursor c --no-follow "$T/s"
	[ "$(jq -c .data <<< "$output" | paste -sd' ')" = '{"n":0}' ]
	# the one due in 2100 is still held, and the cursor still before it
	grep -q '^held ' "$T/s/cursors/.c.held"
	[ "$(cat "$T/s/cursors/c")" -gt 0 ]
	[ "$(cat "$T/s/cursors/c")" -lt "$(cat "$T"/s/segments/*.ndjson | wc -c)" ]
}

@test "--hold on a pipe waits for the held events before it exits" {
	emit - 0+3000 1 | evfilter --hold true > "$T/out"
	[ "$(jq -c .data "$T/out" | paste -sd' ')" = '{"n":1} {"n":0}' ]
	[ "$(now)" -ge "$(cat "$T/due")" ]
}

@test "--hold in a group: a delayed event does not stall the members" {
	evspool init "$T/s"
	evemit --delay 2s t n:=0 -o "$T/s"
	for i in 1 2 3 4 5; do evemit t n:=$i -o "$T/s"; done
	bg evfilter --hold --group g -o "$T/a.ndjson" true "$T/s"
	bg evfilter --hold --group g -o "$T/b.ndjson" true "$T/s"
	wait_for 10 eval '[ "$(cat "$T"/a.ndjson "$T"/b.ndjson 2>/dev/null | wc -l)" -ge 5 ]'
	! grep -q '"n":0' "$T"/a.ndjson "$T"/b.ndjson
	wait_for 15 eval '[ "$(cat "$T"/a.ndjson "$T"/b.ndjson | wc -l)" -eq 6 ]'
	[ "$(cat "$T"/a.ndjson "$T"/b.ndjson | jq -c .data | sort -u | wc -l)" -eq 6 ]
}

@test "--expired: events past their expirytime go to dest, or are dropped and counted" {
	evspool init "$T/s"
	evemit -x expirytime=2020-01-01T00:00:00Z t n:=0 -o "$T/s"
	evemit -x expirytime=2100-01-01T00:00:00Z t n:=1 -o "$T/s"
	evemit t n:=2 -o "$T/s"
	evemit -x expirytime=soon t n:=3 -o "$T/s"
	run evfilter --no-follow --expired="$T/exp.ndjson" true "$T/s"
	[ "$status" -eq 0 ]
	[ "$(jq -c .data <<< "$output" | paste -sd' ')" = '{"n":1} {"n":2} {"n":3}' ]
	[ "$(jq -c .data "$T/exp.ndjson")" = '{"n":0}' ]
	run --separate-stderr evroute --no-follow --expired -i "$T/s" "* > $T/all.ndjson"
	[ "$status" -eq 0 ]
	[ "$(wc -l < "$T/all.ndjson")" -eq 3 ]
	run --separate-stderr evtail --no-follow --expired --stats=json "$T/s"
	[ "$(jq .expired <<< "$stderr")" -eq 1 ]
	run --separate-stderr evtail --no-follow --expired "$T/s"
	[[ "$stderr" == *"1 expired event dropped"* ]]
	# without --expired, every event is handed on
	run evtail --no-follow "$T/s"
	[ "$(wc -l <<< "$output")" -eq 4 ]
	# an expired event that was held is set aside when it is released
	evemit --delay 3s -x expirytime=2020-01-01T00:00:00Z t n:=4 > "$T/in.ndjson"
	run --separate-stderr evfilter --hold --expired --stats=json true "$T/in.ndjson"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[ "$(jq -c '[.held, .expired]' <<< "$stderr")" = '[1,1]' ]
}

@test "--hold with several inputs: each spool holds its own, released on time" {
	evspool init "$T/u"; evspool init "$T/n"
	bg evtail -q --hold --priority --cursor c -o "$(stamp "$T/out")" -i "$T/u" -i "$T/n"
	emit "$T/n" 0+6000 1 # long enough for two more processes on a loaded machine
	d=$(cat "$T/due")
	wait_for 10 has_lines "$T/out" 1
	evemit t n:=2 -o "$T/u"
	wait_for 10 has_lines "$T/out" 2
	[ "$(cut -d' ' -f2- "$T/out" | jq -c .data | paste -sd' ')" = '{"n":1} {"n":2}' ]
	wait_for 10 test -f "$T/n/cursors/.c.held"
	wait_for 15 has_lines "$T/out" 3
	line=$(sed -n 3p "$T/out")
	[ "$(cut -d' ' -f2- <<< "$line" | jq -c .data)" = '{"n":0}' ]
	released "$line" "$d"
}
