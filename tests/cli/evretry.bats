#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
load helpers
bats_require_minimum_version 1.5.0

H="$BATS_TEST_DIRNAME/handlers"

# events N [KEYS]: N small events {"id":"eI","type":"t","k":"kK","seq":I}
events() {
	awk -v n="$1" -v keys="${2:-1}" 'BEGIN { srand(5); for (i = 1; i <= n; i++)
		printf "{\"id\":\"e%d\",\"type\":\"t\",\"k\":\"k%d\",\"seq\":%d}\n", i, int(rand() * keys), i }'
}

# ids FILE: the ids in FILE, one a line
ids() {
	jq -r .id "$1"
}

@test "evretry passes a handled event on, byte for byte" {
	printf '{"id":"a", "type":"t","x":[1, 2]}\n' > "$T/in"
	run evretry -i "$T/in" -- true
	[ "$status" -eq 0 ]
	[ "$output" = '{"id":"a", "type":"t","x":[1, 2]}' ]
}

@test "evretry gives the handler the event on stdin and its id, type, attempt and deadline" {
	printf '{"id":"a1","type":"order.placed"}\n' > "$T/in"
	evretry --stdout output -i "$T/in" -- "$H/env.sh" > "$T/out.ndjson"
	[ "$(cat "$T/out.ndjson")" = 'a1|order.placed|1|unset|{"id":"a1","type":"order.placed"}' ]
	evretry -t 1h --stdout output -i "$T/in" -- "$H/env.sh" > "$T/out.ndjson"
	deadline=$(cut -d'|' -f4 "$T/out.ndjson")
	[[ "$deadline" =~ ^20[0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9:.]+Z$ ]]
}

@test "evretry retries a handler that fails twice: exactly 3 attempts, backoff respected" {
	events 1 > "$T/in"
	LOG="$T/log" evretry --jitter none -b 200ms,10s -i "$T/in" -o "$T/out.ndjson" -q -- "$H/flaky.sh"
	[ "$(ids "$T/out.ndjson")" = e1 ]
	[ "$(lines "$T/log")" -eq 3 ]
	# attempt 2 at least 200 ms after 1, attempt 3 at least 400 ms after 2
	# (tight lower bounds; the upper bounds are loose for a loaded machine).
	awk 'NR > 1 { d = $2 - t; want = 200 * 2 ^ (NR - 2)
		if (d < want || d > want + 3000) { print "gap", NR, d; exit 1 } } { t = $2 }' "$T/log"
}

@test "evretry with full jitter keeps each pause within its bound" {
	events 1 > "$T/in"
	LOG="$T/log" evretry -b 300ms,300ms -i "$T/in" -o "$T/out.ndjson" -q -- "$H/flaky.sh"
	[ "$(lines "$T/log")" -eq 3 ]
	awk 'NR > 1 { d = $2 - t; if (d < 0 || d > 300 + 3000) exit 1 } { t = $2 }' "$T/log"
}

@test "evretry dead-letters an event that always exits 75 after --attempts, with reason and count" {
	events 2 > "$T/in"
	run evretry -a 3 -b 1ms -i "$T/in" -d "$T/dead.ndjson" -q -- sh -c 'exit 75'
	[ "$status" -eq 0 ]
	[ "$(lines "$T/dead.ndjson")" -eq 2 ]
	run jq -c '[.id, .evdeadreason, .evattempts, .evexitstatus, .evdeaddetail, (.evdeadtime | test("Z$"))]' "$T/dead.ndjson"
	[ "${lines[0]}" = '["e1","exhausted",3,75,"exit status 75",true]' ]
	[ "${lines[1]}" = '["e2","exhausted",3,75,"exit status 75",true]' ]
}

@test "evretry dead-letters at once on exit 1, and keeps the original bytes" {
	printf '{"id":"x",  "type" : "t"}\n' > "$T/in"
	evretry -a 5 -i "$T/in" -d "$T/dead.ndjson" -q -- sh -c 'exit 1'
	[ "$(cat "$T/dead.ndjson")" = '{"id":"x",  "type" : "t","evdeadreason":"failed","evdeaddetail":"exit status 1","evattempts":1,"evexitstatus":1,"evdeadtime":'"$(jq .evdeadtime "$T/dead.ndjson")"'}' ]
}

@test "evretry --retry-on makes other exit statuses retryable" {
	events 1 > "$T/in"
	evretry -a 2 -b 1ms --retry-on 1,75 -i "$T/in" -d "$T/dead.ndjson" -q -- sh -c 'exit 1'
	[ "$(jq -c '[.evdeadreason, .evattempts]' "$T/dead.ndjson")" = '["exhausted",2]' ]
}

@test "evretry kills a handler that hangs at the timeout (SIGTERM, then SIGKILL after the grace)" {
	events 1 > "$T/in"
	start=$(date +%s%3N)
	evretry -a 1 -t 300ms --grace 200ms -i "$T/in" -d "$T/dead.ndjson" -q -- \
		sh -c 'trap "" TERM; while :; do sleep 1; done'
	took=$(( $(date +%s%3N) - start ))
	[ "$took" -ge 500 ]
	[ "$took" -lt 5000 ]
	[ "$(jq -c '[.evdeadreason, .evdeaddetail, .evsignal]' "$T/dead.ndjson")" = '["exhausted","timed out after 300 ms",9]' ]
	evretry -a 1 -t 200ms -i "$T/in" -d "$T/dead2.ndjson" -q -- sleep 30
	[ "$(jq -c .evsignal "$T/dead2.ndjson")" = 15 ]
}

@test "evretry retries a handler killed by a signal" {
	events 1 > "$T/in"
	evretry -a 2 -b 1ms -i "$T/in" -d "$T/dead.ndjson" -q -- sh -c 'kill -KILL $$'
	[ "$(jq -c '[.evdeadreason, .evattempts, .evsignal, .evdeaddetail]' "$T/dead.ndjson")" = '["exhausted",2,9,"killed by signal 9"]' ]
	[ "$(jq 'has("evexitstatus")' "$T/dead.ndjson")" = false ]
}

@test "evretry passes the handler's stderr on, prefixed with the event id, and keeps its tail" {
	events 1 > "$T/in"
	run evretry -i "$T/in" -d "$T/dead.ndjson" -- "$H/noisy.sh" 3
	[ "${lines[0]}" = "evretry: e1: line 1 of the handler's complaint" ]
	[ "${lines[2]}" = "evretry: e1: line 3 of the handler's complaint" ]
	[ "$(jq -c .evstderr "$T/dead.ndjson")" = "\"line 1 of the handler's complaint\\nline 2 of the handler's complaint\\nline 3 of the handler's complaint\\n\"" ]
	# A long complaint: only the last 1000 bytes or so are kept.
	evretry -i "$T/in" -d "$T/dead2.ndjson" -q -- "$H/noisy.sh" 500 2>/dev/null
	n=$(jq -r .evstderr "$T/dead2.ndjson" | wc -c)
	[ "$n" -le 1001 ]
	[ "$n" -gt 900 ]
	jq -r .evstderr "$T/dead2.ndjson" | grep -v "^$" | tail -n 1 | grep -qx "line 500 of the handler's complaint"
}

@test "evretry without --dead writes dead events to stderr as JSON and exits 1" {
	events 1 > "$T/in"
	run evretry -q -i "$T/in" -- false
	[ "$status" -eq 1 ]
	[[ "${lines[0]}" == 'evretry: dead: {"id":"e1",'*'"evdeadreason":"failed"'* ]]
}

@test "evretry dead-letters an expired event without running it" {
	printf '{"id":"old","expirytime":"2001-01-01T00:00:00Z"}\n{"id":"new","expirytime":"2999-01-01T00:00:00Z"}\n' > "$T/in"
	evretry -i "$T/in" -o "$T/out.ndjson" -d "$T/dead.ndjson" -q -- sh -c 'cat >> "$0"' "$T/ran"
	[ "$(jq -c '[.id, .evdeadreason, .evattempts]' "$T/dead.ndjson")" = '["old","expired",0]' ]
	[ "$(ids "$T/out.ndjson")" = new ]
	[ "$(jq -r .id "$T/ran")" = new ]
}

@test "evretry stops a handler at the event's expirytime" {
	exp=$(date -u -d '+1 sec' +%Y-%m-%dT%H:%M:%S.%3NZ)
	printf '{"id":"soon","expirytime":"%s"}\n' "$exp" > "$T/in"
	evretry -i "$T/in" -d "$T/dead.ndjson" -q -- sleep 30
	[ "$(jq -c '[.evdeadreason, .evattempts]' "$T/dead.ndjson")" = '["expired",1]' ]
}

@test "evretry reports bad lines, keeps them in --rejects, handles the rest, exits 2" {
	printf '{"id":"a"}\nnot json\n[1]\n{"id":"b","expirytime":"soon"}\n{"id":"c"}\n' > "$T/in"
	run evretry -i "$T/in" -o "$T/out.ndjson" --rejects "$T/rej.ndjson" -- true
	[ "$status" -eq 2 ]
	[[ "$output" == *"$T/in:2: "* ]]
	[[ "$output" == *"$T/in:3: not a JSON object"* ]]
	[[ "$output" == *"$T/in:4: expirytime is not an RFC 3339 time"* ]]
	[ "$(ids "$T/out.ndjson" | tr '\n' ' ')" = "a c " ]
	[ "$(sed -n 1p "$T/rej.ndjson")" = "not json" ]
	[ "$(lines "$T/rej.ndjson")" -eq 3 ]
}

@test "evretry --stdout output writes the handler's output instead of the event" {
	events 2 > "$T/in"
	evretry --stdout output -i "$T/in" -- jq -c '{seen: .id}' > "$T/out.ndjson"
	[ "$(cat "$T/out.ndjson" | tr '\n' ' ')" = '{"seen":"e1"} {"seen":"e2"} ' ]
	run evretry --stdout drop -i "$T/in" -- echo chatter
	[ "$(echo "$output" | jq -r .id | tr '\n' ' ')" = "e1 e2 " ]
	run evretry -i "$T/in" -o /dev/null -- echo chatter
	[ "$output" = "$(printf 'evretry: e1: chatter\nevretry: e2: chatter')" ]
}

# inorder LOG N: per key, every start in input order and after the previous
# event of its key ended; and N handlers were busy at once at some point.
inorder() {
	awk -v want="$2" '$1 == "S" { if (($2 in last) && ($3 <= last[$2] || !ended[$2])) { print "order", $0; exit 1 }
		last[$2] = $3; ended[$2] = 0; n++; if (n > max) max = n }
	     $1 == "E" { ended[$2] = 1; n-- }
	     END { if (max != want) { print "parallelism", max; exit 1 } }' "$1"
}

@test "evretry -j 8 --key: events over 100 keys keep their order per key, 8 at once" {
	events 1000 100 > "$T/in"
	LOG="$T/log" evretry -j 8 -k .k -i "$T/in" -o "$T/out.ndjson" -- "$H/keyed.sh"
	[ "$(lines "$T/out.ndjson")" -eq 1000 ]
	[ "$(lines "$T/log")" -eq 2000 ]
	inorder "$T/log" 8
}

@test "evretry -p -j 8 --key: 10000 events over 100 keys keep their order per key, 8 at once" {
	events 10000 100 > "$T/in"
	ANSWER=1 FIRST=1 LOG="$T/log" evretry -p -j 8 -k .k -i "$T/in" -o "$T/out.ndjson" -- "$H/keyed.sh"
	[ "$(lines "$T/out.ndjson")" -eq 10000 ]
	[ "$(lines "$T/log")" -eq 20000 ]
	inorder "$T/log" 8
	# The output too is in input order per key.
	jq -r '[.k, .seq] | @tsv' "$T/out.ndjson" | sort -s -k1,1 |
		awk '$1 == k && $2 <= s { bad = 1 } { k = $1; s = $2 } END { exit bad }'
}

@test "evretry -p: co-processes answering retry at random and crashing every 1000 events; every event ends once" {
	events 10000 > "$T/in"
	CRASH=1000 evretry -p -j 2 -a 4 -b 1ms,4ms -i "$T/in" -o "$T/out.ndjson" -d "$T/dead.ndjson" -q -- "$H/answer.sh" 2> "$T/err"
	[ "$(lines "$T/out.ndjson")" -gt 9000 ]
	cat "$T/out.ndjson" "$T/dead.ndjson" | jq -r .id | sort > "$T/ended.ndjson"
	[ "$(uniq -d "$T/ended.ndjson" | wc -l)" -eq 0 ]
	[ "$(lines "$T/ended.ndjson")" -eq 10000 ]
	grep -q 'handler [0-9]*: handler killed by signal 9 with [0-9]* events\? in flight' "$T/err"
}

@test "evretry -p: a handler that answers fail dead-letters with its reason" {
	printf '{"id":"a"}\n{"id":"b"}\n' > "$T/in"
	evretry -p -i "$T/in" -o "$T/out.ndjson" -d "$T/dead.ndjson" -q -- \
		sh -c 'while read -r l; do case $l in *'"'"'"a"'"'"'*) echo "fail no such customer";; *) echo ok;; esac; done'
	[ "$(ids "$T/out.ndjson")" = b ]
	[ "$(jq -c '[.id, .evdeadreason, .evdeaddetail, .evattempts]' "$T/dead.ndjson")" = '["a","failed","no such customer",1]' ]
}

@test "evretry -p restarts a handler that says nonsense" {
	events 3 > "$T/in"
	run evretry -p -a 2 -b 1ms -i "$T/in" -o "$T/out.ndjson" -d "$T/dead.ndjson" -- sh -c 'read -r l; echo hello'
	[[ "$output" == *"protocol error: hello"* ]]
	[ "$(( $(lines "$T/out.ndjson") + $(lines "$T/dead.ndjson") ))" -eq 3 ]
}

@test "evretry --rate spaces the starts" {
	events 11 > "$T/in"
	start=$(date +%s%3N)
	evretry -j 4 --rate 20/s -i "$T/in" -o "$T/out.ndjson" -- true
	took=$(( $(date +%s%3N) - start ))
	[ "$(lines "$T/out.ndjson")" -eq 11 ]
	[ "$took" -ge 500 ]
	[ "$took" -lt 8000 ]
}

@test "evretry on SIGTERM lets running handlers finish within the grace, dead-letters the rest, exits 0" {
	events 20 > "$T/in"
	evretry -j 2 --grace 5s -i "$T/in" -o "$T/out.ndjson" -d "$T/dead.ndjson" -q -- sh -c 'touch "$0/$EVKIT_EVENT_ID"; sleep 1' "$T" &
	pid=$!
	wait_for 10 test -e "$T/e2"
	kill -TERM "$pid"
	status=0
	wait "$pid" || status=$?
	[ "$status" -eq 0 ]
	[ "$(lines "$T/out.ndjson")" -eq 2 ]
	[ "$(lines "$T/dead.ndjson")" -eq 18 ]
	[ "$(jq -r .evdeadreason "$T/dead.ndjson" | sort -u)" = shutdown ]
}

@test "evretry on SIGTERM stops handlers that outlast the grace, within a bounded time" {
	events 5 > "$T/in"
	evretry -j 2 --grace 200ms -i "$T/in" -o "$T/out.ndjson" -d "$T/dead.ndjson" -q -- sh -c 'touch "$0/$EVKIT_EVENT_ID"; exec sleep 60' "$T" &
	pid=$!
	wait_for 10 test -e "$T/e2"
	start=$(date +%s%3N)
	kill -TERM "$pid"
	status=0
	wait "$pid" || status=$?
	took=$(( $(date +%s%3N) - start ))
	[ "$status" -eq 0 ]
	[ "$took" -lt 3000 ]
	[ "$(lines "$T/dead.ndjson")" -eq 5 ]
}

@test "evretry -p on SIGTERM stops co-processes that ignore it, within twice the grace" {
	evspool init "$T/in"
	events 4 | evfilter -o "$T/in" true
	evretry -p -j 2 --grace 300ms -i "$T/in" --cursor c -o "$T/out.ndjson" -- \
		sh -c 'trap "" TERM; read -r l; touch "$0/got"; while :; do sleep 1; done' "$T" 2> "$T/err" &
	pid=$!
	wait_for 20 test -e "$T/got"
	start=$(date +%s%3N)
	kill -TERM "$pid"
	status=0
	wait "$pid" || status=$?
	took=$(( $(date +%s%3N) - start ))
	[ "$status" -eq 0 ]
	[ "$took" -lt 3000 ]
	grep -q 'handler killed by signal 9' "$T/err"
	[ "$(evspool cursor "$T/in" c)" = "c 0" ]
}

@test "evretry: a command that cannot be found exits 127, usage errors exit 2" {
	run -127 evretry -i /dev/null -- no-such-handler-anywhere
	[ "$status" -eq 127 ]
	run evretry -i /dev/null
	[ "$status" -eq 2 ]
	run evretry --bogus -- true
	[ "$status" -eq 2 ]
	run evretry -j 0 -- true
	[ "$status" -eq 2 ]
	run evretry --backoff 5m,1s -- true
	[ "$status" -eq 2 ]
	run evretry --help
	[ "$status" -eq 0 ]
	[[ "$output" == "usage: evretry "* ]]
}

@test "evretry does not eat the handler's options" {
	events 1 > "$T/in"
	run evretry -i "$T/in" --stdout output -- sh -c 'echo "{\"args\":\"$*\"}"' sh -j 4 -q
	[ "$output" = '{"args":"-j 4 -q"}' ]
}

# finished: how many events are finished (done or dead, repeats included):
# the lines in the output and dead-letter spools
finished() {
	cat "$T"/out/segments/* "$T"/dead/segments/* 2>/dev/null | wc -l
}

@test "evretry on a spool cursor with a dead-letter spool, SIGKILLed at random points and restarted until drained, loses nothing" {
	for s in in out dead; do evspool init "$T/$s"; done
	events 400 | evfilter -o "$T/in" true
	kills=0
	for run in $(seq 100); do
		evretry -i "$T/in" --cursor c --no-follow -j 4 -o "$T/out" -d "$T/dead" -q -- \
			sh -c 'case $EVKIT_EVENT_ID in *7) exit 1;; esac' &
		pid=$!
		# Kill it once it has made a random amount of progress, unless it ends first.
		target=$(( $(finished) + RANDOM % 60 + 5 ))
		wait_for 60 sh -c '[ "$(cat "$1"/out/segments/* "$1"/dead/segments/* 2>/dev/null | wc -l)" -ge "$2" ] ||
			! kill -0 "$3" 2>/dev/null' sh "$T" "$target" "$pid"
		if kill -9 "$pid" 2>/dev/null; then
			wait "$pid" || true
			kills=$((kills + 1))
		else
			wait "$pid"
			break
		fi
	done
	[ "$kills" -ge 3 ]
	# The spools are sound, and the cursor is at the end of the input.
	evspool check "$T/in" "$T/out" "$T/dead"
	run evretry -i "$T/in" --cursor c --no-follow --stats -o "$T/again.ndjson" -- true
	[ "$status" -eq 0 ]
	[ "$(lines "$T/again.ndjson")" -eq 0 ]
	# Every event ended done or dead at least once; none is missing.
	evtail --no-follow --from-start "$T/out" | jq -r .id > "$T/done"
	evtail --no-follow --from-start "$T/dead" | jq -r .id > "$T/died"
	sort -u "$T/done" "$T/died" > "$T/ended.ndjson"
	events 400 | jq -r .id | sort > "$T/all"
	diff "$T/all" "$T/ended.ndjson"
	# The dead ones are exactly the ones the handler refuses, with the reason.
	[ "$(grep -c '7$' "$T/done" || true)" -eq 0 ]
	[ "$(grep -cv '7$' "$T/died" || true)" -eq 0 ]
	[ "$(evtail --no-follow --from-start "$T/dead" | jq -r .evdeadreason | sort -u)" = failed ]
}

@test "evretry on a spool cursor: SIGTERM commits what finished, leaves the rest to the next run" {
	for s in in out dead; do evspool init "$T/$s"; done
	events 20 | evfilter -o "$T/in" true
	evretry -i "$T/in" --cursor c -j 2 --grace 300ms -o "$T/out" -d "$T/dead" -- \
		sh -c 'touch "$0/$EVKIT_EVENT_ID"; case $EVKIT_EVENT_ID in e[12]) ;; *) exec sleep 60;; esac' "$T" 2> "$T/err" &
	pid=$!
	wait_for 20 test -e "$T/e4"
	start=$(date +%s%3N)
	kill -TERM "$pid"
	status=0
	wait "$pid" || status=$?
	took=$(( $(date +%s%3N) - start ))
	[ "$status" -eq 0 ]
	[ "$took" -lt 3000 ]
	grep -q 'unfinished events left for the next run' "$T/err"
	# e1 and e2 are done (in the order they finished) and committed; nothing
	# is dead-lettered for the stop.
	[ "$(evtail --no-follow --from-start "$T/out" | jq -r .id | sort | tr '\n' ' ')" = "e1 e2 " ]
	[ "$(evtail --no-follow --from-start "$T/dead" | wc -l)" -eq 0 ]
	evretry -i "$T/in" --cursor c --no-follow -o "$T/rest.ndjson" -- true
	[ "$(jq -r .id "$T/rest.ndjson" | tr '\n' ' ')" = "$(seq -f 'e%g' 3 20 | tr '\n' ' ')" ]
}

# example NAME: the literal display in evretry(1) that follows the line
# naming NAME, as a reader of the page sees it
example() {
	awk -v name="$1" '!on && index($0, name) { want = 1; next }
		want && /^\.Bd -literal/ { on = 1; next }
		on && /^\.Ed/ { exit }
		on { gsub(/\\e/, "\\"); print }' "$BATS_TEST_DIRNAME/../../man/evretry.1"
}

@test "the co-process handlers of evretry(1), in sh and Python, run as written" {
	man=$BATS_TEST_DIRNAME/../../man/evretry.1
	contrib=$BATS_TEST_DIRNAME/../../contrib
	cd "$T"
	example evretry-totals.sh > evretry-totals.sh
	example evretry-totals.py > evretry-totals.py
	example "Either runs as" > run.sh
	cmp evretry-totals.sh "$contrib/evretry-totals.sh"
	cmp evretry-totals.py "$contrib/evretry-totals.py"
	chmod +x evretry-totals.sh evretry-totals.py
	for h in sh py; do
		rm -f totals.txt orders.ndjson done.ndjson dead.ndjson
		sed "s/evretry-totals.py/evretry-totals.$h/" run.sh > "run-$h.sh"
		run --separate-stderr sh "run-$h.sh"
		[ "$status" -eq 0 ]
		[ "${lines[0]}" = "o1 7.5" ]
		[[ "${lines[1]}" == '["o2","failed","no priced items'* ]]
		[ "$stderr" = "evretry: o2: dead (failed: $(jq -r .evdeaddetail dead.ndjson))" ]
		[ "$(jq -r .id done.ndjson)" = o1 ]
		# A file it cannot write: retried, then dead when the attempts are spent.
		rm -f dead.ndjson totals.txt && mkdir totals.txt
		evretry -p -a 2 -b 1ms -i orders.ndjson -d dead.ndjson -o /dev/null -q -- "./evretry-totals.$h" 2> /dev/null
		[ "$(jq -c '[.id, .evdeadreason, .evattempts]' dead.ndjson | sort | tr '\n' ' ')" = '["o1","exhausted",2] ["o2","failed",1] ' ]
		rmdir totals.txt
	done
	grep -q "which prints" "$man"
}

@test "the systemd unit of evretry(1) is contrib/evretry-webhook.service and systemd-analyze accepts it" {
	contrib=$BATS_TEST_DIRNAME/../../contrib
	example evretry-webhook.service > "$T/page.service"
	grep -v '^# ' "$contrib/evretry-webhook.service" | diff - <(grep -v '^# ' "$T/page.service")
	sed "s|/usr/local/bin/evretry|$EVKIT_BIN/evretry|" "$contrib/evretry-webhook.service" > "$T/evretry-webhook.service"
	run systemd-analyze verify "$T/evretry-webhook.service"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "request/reply over spools: evemit --request --reply-to, evretry --stdout reply" {
	evspool init "$T/requests"
	evspool init "$T/replies"
	bg evretry --stdout reply -i "$T/requests" --cursor quoter -o /dev/null -- \
		sh -c 'jq -c "{total: (.data.n * 2)}"'
	run timeout 30 evemit --request -o "$T/requests" --reply-to "$T/replies" --timeout 20s order.quote n:=21
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -c '[.type, .data.total, .correlationid == .id]')" = '["order.quote.reply",42,false]' ]
	req=$(evtail --no-follow --from-start "$T/requests" | jq -c '[.correlationid == .id, .replyto]')
	[ "$req" = "[true,\"$T/replies\"]" ]
	# a reply that is an event keeps its own type; it gets the correlation id
	kill "$BGPID"
	wait "$BGPID" 2> /dev/null || true
	bg evretry --stdout reply -i "$T/requests" --cursor quoter -o /dev/null -- \
		echo '{"type":"order.quoted","data":1}'
	run timeout 30 evemit --request -o "$T/requests" --reply-to "$T/replies" --id r2 order.quote
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -c '[.type, .correlationid, .data]')" = '["order.quoted","r2",1]' ]
	# nobody answers in time: 75
	kill "$BGPID"
	wait "$BGPID" 2> /dev/null || true
	run timeout 30 evemit --request -o "$T/requests" --reply-to "$T/replies" --timeout 300ms order.quote
	[ "$status" -eq 75 ]
}

@test "evretry --stdout reply sends replies only to a spool, never to a command or a file" {
	evspool init "$T/replies"
	printf '{"id":"a","type":"t","replyto":"|touch %s/pwned"}\n{"id":"b","type":"t","replyto":"%s/file.ndjson"}\n{"id":"c","type":"t","replyto":"%s/replies"}\n{"id":"d","type":"t"}\n' "$T" "$T" "$T" > "$T/in"
	run evretry --stdout reply -i "$T/in" -o "$T/done.ndjson" -- echo ok
	[ "$status" -eq 2 ]
	[[ "$output" == *"replyto '|touch $T/pwned' (request a): not a spool; no reply"* ]]
	[ ! -e "$T/pwned" ]
	[ ! -e "$T/file.ndjson" ]
	[ "$(ids "$T/done.ndjson" | tr '\n' ' ')" = "a b c d " ]
	[ "$(evtail --no-follow --from-start "$T/replies" | jq -c '[.correlationid, .data]')" = '["c","ok"]' ]
	run evemit --request -o "$T/replies" type
	[ "$status" -eq 2 ]
	[[ "$output" == *"--reply-to names the spool the reply comes to"* ]]
	run evemit --timeout 1s type
	[ "$status" -eq 2 ]
}
