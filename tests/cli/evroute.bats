#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
load helpers
load evroute

teardown() {
	[ -z "${bg:-}" ] || kill "$bg" 2>/dev/null || true
	[ -z "${unpriv:-}" ] || rm -rf "$unpriv"
}

# expected DEST AWKCOND INPUT: the input lines whose .type satisfies AWKCOND (on t).
expected() {
	awk -v dest="$1" '{ match($0, /"type":"[^"]*"/); t = substr($0, RSTART + 8, RLENGTH - 9) }
		'"$2"' { print }' "$3"
}

ROUTES=(
	'order.* > A.ndjson' 'payment.failed > A.ndjson'
	'payment.# > B.ndjson' 'order.paid > ./B.ndjson'
	'#.delivered > C.ndjson' 'shipment.* > C.ndjson'
	'user.# > D.ndjson' 'cart.abandoned > D.ndjson' '#.low_stock > D.ndjson'
	'# > E.ndjson'
)

check_fanout() { # DIR INPUT: each destination holds exactly what its rules match, in order
	expected A 't ~ /^order\.[^.]*$/ || t == "payment.failed"' "$2" > "$T/want.A"
	expected B 't ~ /^payment(\..*)?$/ || t == "order.paid"' "$2" > "$T/want.B"
	expected C 't ~ /(^|\.)delivered$/ || t ~ /^shipment\.[^.]*$/' "$2" > "$T/want.C"
	expected D 't ~ /^user(\..*)?$/ || t == "cart.abandoned" || t ~ /(^|\.)low_stock$/' "$2" > "$T/want.D"
	cp "$2" "$T/want.E"
	for d in A B C D E; do
		[ -s "$T/want.$d" ]
		cmp "$1/$d" "$T/want.$d"
	done
}

@test "evroute fans 100,000 events of 20 types out to 5 files by overlapping rules" {
	bash "$GEN" 100000 > "$T/in"
	cd "$T"
	run evroute --stats=json "${ROUTES[@]}" -i in
	[ "$status" -eq 0 ]
	mkdir out
	for d in A B C D E; do mv "$d.ndjson" "out/$d"; done
	check_fanout out "$T/in"
	# order.paid matched two rules of B: it is there once
	[ "$(grep -c '"type":"order.paid"' out/B)" -eq "$(grep -c '"type":"order.paid"' in)" ]
	echo "$output" | jq -e '.in == 100000 and .unmatched == 0 and (.rules | length) == 10 and
		.destinations[4].events == 100000'
}

@test "evroute --first and --otherwise: every event is counted once" {
	bash "$GEN" 20000 > "$T/in"
	printf 'not json\n' >> "$T/in"
	cd "$T"
	run evroute -q --first --otherwise rest.ndjson --stats=json \
		'order.* > a.ndjson' 'order.# > b.ndjson' '#.delivered > c.ndjson' -i in
	[ "$status" -eq 2 ]
	stats=$(echo "$output" | tail -n 1)
	echo "$stats" | jq -e '.in == 20001 and .bad == 1 and
		([.rules[].matched] | add) + .unmatched + .bad == .in and .matched + .unmatched + .bad == .in'
	# order.* took every order event first: order.# got none
	echo "$stats" | jq -e '.rules[1].matched == 0'
	[ $(( $(lines a.ndjson) + $(lines c.ndjson) + $(lines rest.ndjson) )) -eq 20000 ]
	[ "$(lines rest.ndjson)" -eq "$(echo "$stats" | jq .unmatched)" ]
}

@test "evroute reports events that matched no rule when there is no --otherwise" {
	printf '%s\n' '{"type":"a"}' '{"type":"b"}' '{"type":"c"}' > "$T/in"
	run evroute -q 'a > /dev/null' -i "$T/in"
	[ "$status" -eq 0 ]
	[ "$output" = "evroute: 2 events matched no rule and were dropped (--otherwise DEST keeps them)" ]
}

@test "evroute sends a rule without a destination to -o, stdout by default" {
	printf '%s\n' '{"type":"order.placed","n":1}' '{"type":"user.login"}' '{"type":"order.paid"}' > "$T/in"
	run evroute --otherwise /dev/null 'order.*' -i "$T/in"
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '%s\n' '{"type":"order.placed","n":1}' '{"type":"order.paid"}')" ]
	# a file is appended to
	echo '{"type":"earlier"}' > "$T/out"
	evroute -o "$T/out" 'user.#' '(.n == 1)' < "$T/in"
	[ "$(cat "$T/out")" = "$(printf '%s\n' '{"type":"earlier"}' '{"type":"order.placed","n":1}' '{"type":"user.login"}')" ]
}

@test "evroute matches source and subject globs, and jq expressions" {
	cat > "$T/in" <<-'EOF'
	{"type":"a","source":"https:\/\/shop.example.com\/orders","subject":"orders/1","data":{"amount":900}}
	{"type":"a","source":"https://pay.example.com/psp","subject":"payments/2","data":{"amount":5}}
	{"type":"a","source":"/shop","subject":"orders/3","data":{"amount":501}}
	EOF
	cd "$T"
	evroute 'source:https://shop.example.com/* > shop' 'subject:orders/* > orders' \
		'select(.data.amount > 500) > big' '.data.amount > 800 > huge' -i in
	[ "$(cut -c1-60 shop)" = "$(head -n 1 in | cut -c1-60)" ]
	[ "$(lines orders)" -eq 2 ]
	[ "$(sed -n 's/.*"subject":"\([^"]*\)".*/\1/p' big | paste -sd ' ')" = "orders/1 orders/3" ]
	[ "$(lines huge)" -eq 1 ]
}

@test "evroute reports bad lines with their number, keeps them in --rejects and goes on" {
	printf '%s\n' '{"type":"a"}' '{"type":' '{"type":"a"}' '["a"]' > "$T/in"
	run evroute --rejects "$T/rej" 'a > '"$T/a" -i "$T/in"
	[ "$status" -eq 2 ]
	[[ "$output" == *"evroute: $T/in:2: "* ]]
	[[ "$output" == *"evroute: $T/in:4: not a JSON object"* ]]
	[[ "$output" == *"evroute: $T/in:4: "* ]]
	[ "$(lines "$T/a")" -eq 2 ]
	[ "$(cat "$T/rej")" = "$(printf '%s\n' '{"type":' '["a"]')" ]
}

@test "evroute: a jq error is reported and counts as no match for that rule" {
	printf '%s\n' '{"type":"a","data":{"n":1}}' '{"type":"a","data":3}' '{"type":"a","data":{"n":7}}' > "$T/in"
	cd "$T"
	run evroute --otherwise rest '(.data.n > 5) > big' 'a > all' -i in
	[ "$status" -eq 2 ]
	[[ "$output" == *"in:2: rule 1 ((.data.n > 5) > big): Cannot index number with "*"; not matched"* ]]
	[ "$(lines big)" -eq 1 ]
	[ "$(lines all)" -eq 3 ]
	[ ! -s rest ]
}

@test "evroute opens a destination named by several rules once" {
	printf '%s\n' '{"type":"order.placed"}' '{"type":"order.paid"}' > "$T/in"
	cd "$T"
	evroute "order.* > |sh -c 'echo started >> starts; cat >> cmd.out'" \
		"order.placed >   |sh -c 'echo started >> starts; cat >> cmd.out'  " -i in
	[ "$(lines starts)" -eq 1 ]
	[ "$(lines cmd.out)" -eq 2 ]
}

@test "evroute writes to a FIFO destination" {
	cd "$T"
	mkfifo fifo
	cat fifo > got &
	bg=$!
	printf '%s\n' '{"type":"a.b"}' '{"type":"c"}' '{"type":"a.d"}' | evroute --otherwise /dev/null 'a.* > fifo'
	wait "$bg"
	bg=
	[ "$(cat got)" = "$(printf '%s\n' '{"type":"a.b"}' '{"type":"a.d"}')" ]
}

@test "evroute: a rules file with a syntax error stops before anything is read or opened" {
	cd "$T"
	printf '# rules\norder.* > w.ndjson\n\npayment.*x > p.ndjson\n' > rules
	printf '%s\n' '{"type":"order.placed"}' > in
	run evroute -f rules -i in
	[ "$status" -eq 2 ]
	[ "$output" = "evroute: rules:4: 'payment.*x > p.ndjson': column 9: '*' must be a whole word (between dots) of the pattern" ]
	[ ! -e w.ndjson ]
	run evroute '.a > 5' -i in
	[ "$status" -eq 2 ]
	[[ "$output" == "evroute: rule 1: '.a > 5': column 4: '>' is ambiguous"* ]]
}

@test "evroute: a rules file takes comments, blank lines, and '# > DEST' as a rule" {
	cd "$T"
	cat > rules <<-'EOF'
	# everything is archived
	# > archive.ndjson

	   # orders to the warehouse
	order.* > warehouse.ndjson
	EOF
	printf '%s\n' '{"type":"order.placed"}' '{"type":"user.login"}' > in
	evroute -f rules -i in
	[ "$(lines archive.ndjson)" -eq 2 ]
	[ "$(lines warehouse.ndjson)" -eq 1 ]
}

@test "evroute: a destination command that exits early stops it with a clear error" {
	bash "$GEN" 20000 > "$T/in"
	cd "$T"
	run evroute 'order.* > |sh -c "exit 3"' '# > all.ndjson' -i in
	[ "$status" -eq 111 ]
	[[ "$output" == *'evroute: |sh -c "exit 3": the command stopped reading'* ]]
	[[ "$output" == *"evroute: stopped at in:"*": a destination failed"* ]]
	[[ "$output" == *"the command exited with status 3"* ]]
	# what the archive got is a prefix of the input, in order: a rerun delivers the rest
	[ "$(lines all.ndjson)" -gt 0 ]
	cmp all.ndjson <(head -n "$(lines all.ndjson)" in)
}

@test "evroute: a destination directory that is not writable is an error before any input is read" {
	unpriv=$(mktemp -d)
	chmod 755 "$unpriv"
	mkdir "$unpriv/ro" "$unpriv/rw"
	chmod 555 "$unpriv/ro"
	chmod 777 "$unpriv/rw"
	printf '%s\n' '{"type":"order.placed"}' > "$unpriv/in"
	chmod 644 "$unpriv/in"
	as=()
	[ "$(id -u)" -ne 0 ] || as=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
	run "${as[@]}" "$(command -v evroute)" "# > $unpriv/rw/ok.ndjson" "order.* > $unpriv/ro/w.ndjson" -i "$unpriv/in"
	[ "$status" -eq 2 ]
	[ "$output" = "evroute: $unpriv/ro/w.ndjson: cannot open for appending: Permission denied" ]
	[ ! -s "$unpriv/rw/ok.ndjson" ]
}

@test "evroute reloads its rules file on SIGHUP and prints counts on SIGUSR1" {
	cd "$T"
	mkfifo in
	echo 'order.* > one.ndjson' > rules
	evroute -f rules -i in 2> err &
	bg=$!
	exec 7> in
	echo '{"type":"order.placed"}' >&7
	wait_for 10 test -s one.ndjson
	printf 'order.* > two.ndjson\n# > all.ndjson\n' > rules
	kill -HUP "$bg"
	wait_for 10 grep -q 'reloading' err
	echo '{"type":"order.paid"}' >&7
	wait_for 10 test -s two.ndjson
	kill -USR1 "$bg"
	wait_for 10 grep -q 'rule' err
	# a broken rules file leaves the rules as they were
	echo 'order.*x > three.ndjson' > rules
	kill -HUP "$bg"
	wait_for 10 grep -q 'the rules were not changed' err
	echo '{"type":"order.shipped"}' >&7
	exec 7>&-
	wait "$bg"
	bg=
	[ "$(lines one.ndjson)" -eq 1 ]
	[ "$(lines two.ndjson)" -eq 2 ]
	[ "$(lines all.ndjson)" -eq 2 ]
	[ ! -e three.ndjson ]
	grep -q "evroute: rules:1: matched 1: order.\* > two.ndjson" err
}

@test "evroute --prometheus writes counts for node_exporter's textfile collector" {
	printf '%s\n' '{"type":"order.placed"}' '{"type":"user.login"}' 'x' > "$T/in"
	run evroute -q --prometheus "$T/evroute-shop.prom" 'order.* > /dev/null' -i "$T/in"
	[ "$status" -eq 2 ]
	p="$T/evroute-shop.prom"
	grep -qx 'evroute_lines_total{router="evroute-shop"} 3' "$p"
	grep -qx 'evroute_unmatched_total{router="evroute-shop"} 1' "$p"
	grep -qx 'evroute_bad_lines_total{router="evroute-shop"} 1' "$p"
	grep -qx 'evroute_rule_matches_total{router="evroute-shop",rule="order.* > /dev/null"} 1' "$p"
	grep -qx '# TYPE evroute_rule_matches_total counter' "$p"
	[ -z "$(ls "$T" | grep tmp)" ]
}

@test "evroute --prometheus keeps the file current while it waits for input" {
	cd "$T"
	mkfifo in
	evroute -q --prometheus shop.prom 'order.* > /dev/null' -i in &
	bg=$!
	exec 7> in
	printf '%s\n' '{"type":"order.placed"}' '{"type":"user.login"}' >&7
	wait_for 10 grep -qx 'evroute_lines_total{router="shop"} 2' shop.prom
	grep -qx 'evroute_rule_matches_total{router="shop",rule="order.\* > /dev/null"} 1' shop.prom
	echo '{"type":"order.paid"}' >&7
	wait_for 10 grep -qx 'evroute_rule_matches_total{router="shop",rule="order.\* > /dev/null"} 2' shop.prom
	exec 7>&-
	wait "$bg"
	bg=
	grep -qx 'evroute_unmatched_total{router="shop"} 1' shop.prom
}

@test "evroute --help, --version, and a bad option" {
	run evroute --help
	[ "$status" -eq 0 ]
	[[ "$output" == "usage: evroute [-q] [--first] [-f rulesfile]"* ]]
	run evroute --version
	[ "$status" -eq 0 ]
	run evroute --bogus
	[ "$status" -eq 2 ]
	run evroute
	[ "$status" -eq 2 ]
	[ "$output" = "evroute: no rules: give RULE operands or -f RULESFILE" ]
}

# --- spools ---------------------------------------------------------------

need_spools() {
	command -v evspool > /dev/null || skip "evspool is not built: spool tests not run"
}

# mkspools DIR...: a new spool in each DIR.
mkspools() {
	local d
	for d in "$@"; do evspool init "$d"; done
}

# spool_cat DIR: every line in the spool, oldest first.
spool_cat() {
	cat "$1"/segments/*.ndjson
}

@test "evroute fans 100,000 events out of a spool to 5 spools, each in input order" {
	need_spools
	cd "$T"
	bash "$GEN" 100000 > events
	mkspools in A.ndjson B.ndjson C.ndjson D.ndjson E.ndjson
	evroute -o in '#' < events
	run evroute -i in --cursor fan --no-follow --stats=json "${ROUTES[@]}"
	[ "$status" -eq 0 ]
	mkdir out
	for d in A B C D E; do spool_cat "$d.ndjson" > "out/$d"; done
	check_fanout out "$T/events"
	# drained: a second run has nothing to do
	run evroute -i in --cursor fan --no-follow --stats=json "${ROUTES[@]}"
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.in == 0'
}

@test "evroute --first --otherwise out of a spool: the counts add up to the input" {
	need_spools
	cd "$T"
	bash "$GEN" 20000 > events
	mkspools in a b rest
	evroute -o in '#' < events
	run evroute -i in --cursor first --no-follow --first --otherwise rest --stats=json \
		'order.* > a' 'order.# > b' '#.delivered > b' '#.failed > a'
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.in == 20000 and ([.rules[].matched] | add) + .unmatched == .in'
	[ $(( $(spool_cat a | wc -l) + $(spool_cat b | wc -l) + $(spool_cat rest | wc -l) )) -eq 20000 ]
	[ "$(spool_cat rest | wc -l)" -eq "$(echo "$output" | jq .unmatched)" ]
	# order.# saw no order event: order.* took them first
	[ "$(spool_cat b | grep -c '"type":"order\.')" -eq "$(spool_cat b | grep -c '"type":"order.delivered"')" ]
}

# A router killed with SIGKILL at random points while events keep coming,
# restarted each time, then left to drain: every output has every event it
# should, in order; repeats (at least once) are allowed.
@test "evroute killed with SIGKILL at random points loses nothing between spools" {
	need_spools
	cd "$T"
	bash "$GEN" 30000 > events
	mkspools in o1 o2 o3
	head -n 10000 events | evroute -o in '#'
	tail -n +10001 events | split -l 4000 - chunk.
	( for c in chunk.*; do evroute -o in '#' < "$c"; done; touch written ) &
	writer=$!
	rules=('order.# > o1' 'payment.* > o1' '*.delivered > o2' 'user.# > o2' '# > o3')
	kills=0
	while [ ! -e written ] || [ "$kills" -lt 10 ]; do
		evroute -q -i in --cursor crash "${rules[@]}" &
		bg=$!
		sleep "0.$(printf %03d $((RANDOM % 400)))"
		kill -9 "$bg"
		kills=$((kills + 1))
		st=0; wait "$bg" || st=$?
		bg=
		[ "$st" -eq 137 ]
		[ "$kills" -lt 200 ]
	done
	wait "$writer"
	evroute -q -i in --cursor crash --no-follow "${rules[@]}"
	echo "killed $kills times"
	expected o1 't ~ /^order(\..*)?$/ || t ~ /^payment\.[^.]*$/' events > want1
	expected o2 't ~ /^[^.]*\.delivered$/ || t ~ /^user(\..*)?$/' events > want2
	for o in 1 2 3; do
		want=want$o
		[ "$o" -ne 3 ] || want=events
		spool_cat o$o > got$o
		# nothing but what the rules send, every event at least once, in order
		[ "$(sort -u got$o | comm -23 - <(sort -u "$want") | wc -l)" -eq 0 ]
		awk '!seen[$0]++' got$o | cmp - "$want"
	done
}

@test "evroute: a destination command that exits early leaves the spool cursor where it was" {
	need_spools
	cd "$T"
	bash "$GEN" 20000 > events
	mkspools in archive
	evroute -o in '#' < events
	run evroute -i in --cursor r --no-follow 'order.* > |sh -c "exit 3"' '# > archive'
	[ "$status" -eq 111 ]
	[[ "$output" == *"the command stopped reading"* ]]
	[[ "$output" == *"a destination failed; the input position was not advanced"* ]]
	# a restart with a working command delivers everything
	run evroute -i in --cursor r --no-follow --stats=json 'order.* > |sh -c "cat > orders"' '# > archive'
	[ "$status" -eq 0 ]
	grep '"type":"order\.' events | cmp - orders
	spool_cat archive | awk '!seen[$0]++' | cmp - events
}

@test "evroute: a spool destination that is not writable is an error before any input is read" {
	need_spools
	unpriv=$(mktemp -d)
	chmod 755 "$unpriv"
	mkspools "$unpriv/in" "$unpriv/ro"
	evroute -o "$unpriv/in" '#' <<< '{"type":"order.placed"}'
	chmod -R a+rX "$unpriv/in"
	chmod -R a+rwX "$unpriv/in/cursors"
	chmod -R a-w "$unpriv/ro"
	as=()
	[ "$(id -u)" -ne 0 ] || as=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
	run "${as[@]}" "$(command -v evroute)" -i "$unpriv/in" --cursor r --no-follow "# > $unpriv/ro"
	[ "$status" -eq 2 ]
	[[ "$output" == "evroute: $unpriv/ro"*"Permission denied"* ]]
	[ ! -e "$unpriv/in/cursors/r" ]
}

# Every commit of the cursor, as strace(1) sees it: each destination must
# already have (written, and for files and spools fdatasync'ed) every event
# of the input before the committed position that its rules match.
@test "evroute commits a spool cursor only after every destination made its events durable" {
	need_spools
	command -v strace > /dev/null || skip "strace is not installed"
	strace -o /dev/null true 2> /dev/null || skip "strace cannot trace here"
	cd "$T"
	bash "$GEN" 40000 > events
	mkspools in s1 s2
	evroute -o in '#' < events
	ASAN_OPTIONS=detect_leaks=0 strace -y -s 24 -o trace \
		-e trace=write,fdatasync,fsync,rename,renameat,renameat2 \
		evroute -i in --cursor dur --no-follow 'order.* > s1' '# > s2' \
		'payment.# > pay.ndjson' "#.delivered > |sh -c 'cat > delivered'"
	awk -v commits="$T/commits" '
	FNR == NR {
		match($0, /"type":"[^"]*"/); t = substr($0, RSTART + 8, RLENGTH - 9)
		off += length($0) + 1; n++
		c["s1"] += (t ~ /^order\.[^.]*$/) * (length($0) + 1)
		c["s2"] += length($0) + 1
		c["pay"] += (t ~ /^payment(\..*)?$/) * (length($0) + 1)
		c["pipe"] += (t ~ /(^|\.)delivered$/) * (length($0) + 1)
		for (d in c) want[d, off] = c[d]
		ends[off] = 1
		next
	}
	{
		d = ""
		if ($0 ~ /\/s1\/segments\//) d = "s1"
		else if ($0 ~ /\/s2\/segments\//) d = "s2"
		else if ($0 ~ /\/pay\.ndjson>/) d = "pay"
		else if ($0 ~ /^write\([0-9]+<pipe:/ && $0 !~ /^write\(2</) d = "pipe"
	}
	d != "" && /^write\(/ { sub(/.*\) = /, ""); written[d] += $0; if (d == "pipe") synced[d] = written[d]; next }
	d != "" && /^f(data)?sync\(/ { synced[d] = written[d]; next }
	/^write\([0-9]+<[^>]*\/in\/cursors\/\.dur\./ { match($0, /"[0-9]+\\n"/); pos = substr($0, RSTART + 1, RLENGTH - 4) + 0; next }
	/^rename.*"dur"\) = 0/ {
		if (pos > 0 && !(pos in ends)) { print "cursor " pos " is not at the end of a line"; bad = 1 }
		for (x in c)
			if (pos > 0 && synced[x] + 0 < want[x, pos]) {
				printf "cursor %d committed with %s holding %d durable bytes of %d\n", pos, x, synced[x], want[x, pos]
				bad = 1
			}
		if (pos > 0) { ncommits++; last = pos }
	}
	END { print ncommits, last > commits; exit bad }' events trace
	# several batches, the last at the end of the input
	read -r ncommits last < commits
	[ "$ncommits" -ge 2 ]
	[ "$last" -eq "$(wc -c < events)" ]
	[ "$(spool_cat s2 | wc -l)" -eq 40000 ]
}

@test "evroute: a full disk stops it with the spool cursor where the last run left it" {
	need_spools
	cd "$T"
	bash "$GEN" 2000 > events
	mkspools in archive
	head -n 1000 events | evroute -o in '#'
	evroute -i in --cursor r --no-follow '# > archive'
	before=$(cat in/cursors/r)
	[ "$before" -eq "$(head -n 1000 events | wc -c)" ]
	tail -n +1001 events | evroute -o in '#'
	run evroute -i in --cursor r --no-follow '# > archive' 'order.* > /dev/full'
	[ "$status" -eq 111 ]
	[[ "$output" == *"evroute: /dev/full: write: No space left on device"* ]]
	[[ "$output" == *"the input position was not advanced"* ]]
	[ "$(cat in/cursors/r)" = "$before" ]
	# once there is room again, the rest arrives
	run evroute -i in --cursor r --no-follow '# > archive' 'order.* > orders'
	[ "$status" -eq 0 ]
	tail -n +1001 events | grep '"type":"order\.[^".]*"' | cmp - orders
	spool_cat archive | awk '!seen[$0]++' | cmp - events
}

@test "evroute(1): the examples run as written" {
	need_spools
	command -v evemit > /dev/null || skip "evemit is not built"
	command -v evtail > /dev/null || skip "evtail is not built"
	mkdir "$T/run"
	cd "$T/run"
	brokers=0
	for n in 1 2 3 4 5; do
		man_example "$n"
		[ -s "$T/script" ]
		# the broker's example runs in amqp.bats, which has a broker
		if grep -q 'amqp://' "$T/script"; then
			brokers=$((brokers + 1))
			continue
		fi
		[ "$n" -ne 2 ] || echo 'kill $!; wait $! || true' >> "$T/script"
		bash -e "$T/script" > "$T/got" 2>&1 || { cat "$T/script" "$T/got"; false; }
		diff -u "$T/expected" "$T/got"
	done
	man_example 6
	[ ! -s "$T/script" ]
	[ "$brokers" -eq 1 ]
	[ "$(wc -l < pages.log)" -eq 1 ]
	[ "$(jq -r .type big-orders.ndjson)" = order.placed ]
	[ "$(jq -r .type users.ndjson)" = user.login ]
	[ "$(jq -r .type misc.ndjson)" = cart.abandoned ]
}
