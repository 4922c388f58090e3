#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# RabbitMQ locations against a real broker: tests/broker.sh starts a private
# rabbitmq-server on 127.0.0.1 for this file and stops it at the end. One
# test crashes and restarts it, so this file's tests run one after another.
load helpers

setup_file() {
	BATS_NO_PARALLELIZE_WITHIN_FILE=true
	export BDIR="$BATS_FILE_TMPDIR/broker"
	# a loaded machine may take a minute or more to boot a broker
	if ! PORT=$(BROKER_TIMEOUT=${BROKER_TIMEOUT:-180} "$BATS_TEST_DIRNAME/../broker.sh" start "$BDIR"); then
		echo "amqp.bats: FAILED: a private rabbitmq-server could not start (output above);" \
			"these tests need one: install rabbitmq-server (sh tests/deps.sh)" >&2
		return 1
	fi
	export BROKER="amqp://127.0.0.1:$PORT"
}

teardown_file() {
	"$BATS_TEST_DIRNAME/../broker.sh" stop "$BDIR"
}

# atleast N FILE: FILE has N lines or more; unique N FILE: N distinct lines
atleast() { [ "$(lines "$2")" -ge "$1" ]; }
unique() { [ "$(sort -u "$2" | wc -l)" -eq "$1" ]; }
# the same for a spool's events
spool_atleast() { [ "$(cat "$2"/segments/* | wc -l)" -ge "$1" ]; }
spool_unique() { [ "$(cat "$2"/segments/* | sort -u | wc -l)" -eq "$1" ]; }
# cursor_past SPOOL NAME BYTES: the cursor NAME is at BYTES or beyond
cursor_past() { [ "$(evspool cursor "$1" "$2" 2> /dev/null | awk '{ print $2 }')" -ge "$3" ] 2> /dev/null; }

# events FIRST LAST: small CloudEvents with ids FIRST..LAST and three types
events() {
	seq "$1" "$2" | awk '{ printf "{\"specversion\":\"1.0\",\"id\":\"%d\",\"source\":\"/t\",\"type\":\"order.%s\",\"data\":{\"n\":%d}}\n", $1, ($1 % 3 == 0 ? "placed" : $1 % 3 == 1 ? "paid" : "shipped"), $1 }'
}

@test "100,000 events go spool -> quorum queue -> spool and come back the same, in order" {
	events 1 100000 > "$T/in"
	evspool init "$T/a"
	evspool init "$T/b"
	evfilter true "$T/in" -o "$T/a"
	run evtail --no-follow --cursor amqp --from-start "$T/a" \
		-o "$BROKER/?queue=roundtrip&declare=1&queue_type=quorum"
	[ "$status" -eq 0 ]
	evspool cursor "$T/a" amqp | grep -qx "amqp $(wc -c < "$T/in")"
	run evtail --no-follow "$BROKER/?queue=roundtrip" -o "$T/b"
	[ "$status" -eq 0 ]
	evtail --no-follow --from-start "$T/b" | cmp "$T/in" -
}

@test "the routing key is the event's type; a consumer declares and binds its queue" {
	run evfilter --no-follow true -i "$BROKER/?exchange=shop&queue=placed&declare=1&binding_key=order.placed&idle=200ms"
	[ "$status" -eq 1 ]
	events 1 9 > "$T/in"
	run evfilter --rejects "$T/rejects.ndjson" true "$T/in" -o "$BROKER/?exchange=shop"
	[ "$status" -eq 2 ]
	evfilter --no-follow true -i "$BROKER/?queue=placed" > "$T/out.ndjson"
	[ "$(cat "$T/out.ndjson")" = "$(grep order.placed "$T/in")" ]
	[ "$(cat "$T/rejects.ndjson")" = "$(grep -v order.placed "$T/in")" ]
}

@test "routing_key_jq chooses the routing key" {
	evfilter --no-follow true -i "$BROKER/?exchange=geo&queue=big&declare=1&binding_key=big&idle=200ms" || true
	events 1 10 > "$T/in"
	run evfilter --rejects /dev/null true "$T/in" \
		-o "$BROKER/?exchange=geo&routing_key_jq=if%20.data.n%20%3E%207%20then%20%22big%22%20else%20%22small%22%20end"
	[ "$status" -eq 2 ]
	run evfilter --no-follow -m .data.n -i "$BROKER/?queue=big"
	[ "$output" = "$(printf '8\n9\n10')" ]
}

@test "an unroutable event is reported and kept in --rejects, never silently lost" {
	events 1 3 > "$T/in"
	run evfilter --rejects "$T/rejects.ndjson" true "$T/in" -o "$BROKER/?exchange=amq.topic"
	[ "$status" -eq 2 ]
	[[ "$output" == *"312 NO_ROUTE (exchange 'amq.topic', routing key 'order.paid')"* ]]
	cmp "$T/in" "$T/rejects.ndjson"
	# without --rejects the tool stops and prints what it could not deliver
	run evfilter true "$T/in" -o "$BROKER/?exchange=amq.topic"
	[ "$status" -eq 2 ]
	[[ "$output" == *'NO_ROUTE'*'{"specversion":"1.0","id":"1"'* ]]
	[[ "$output" == *"not delivered and no --rejects"* ]]
	# from a spool, its cursor stays put: once a queue is bound, a rerun delivers
	evspool init "$T/s"
	evfilter true "$T/in" -o "$T/s"
	run evtail --no-follow --cursor pub --from-start "$T/s" -o "$BROKER/?exchange=late&declare=1"
	[ "$status" -eq 2 ]
	evspool cursor "$T/s" pub | grep -qx "pub 0"
	evtail --no-follow "$BROKER/?exchange=late&queue=late&declare=1&binding_key=order.%23&idle=200ms"
	evtail --no-follow --cursor pub "$T/s" -o "$BROKER/?exchange=late"
	evtail --no-follow "$BROKER/?queue=late" | cmp "$T/in" -
}

@test "acks wait for the output: events a failed run did not commit come again" {
	events 1 100 > "$T/in"
	evfilter true "$T/in" -o "$BROKER/?queue=again&declare=1"
	run evfilter --no-follow true -i "$BROKER/?queue=again" -o "|false"
	[ "$status" -ne 0 ]
	evfilter --no-follow true -i "$BROKER/?queue=again" > "$T/out.ndjson"
	cmp "$T/in" "$T/out.ndjson"
}

@test "a wrong password, an unknown vhost, a missing queue: exit 2, naming the location" {
	echo '{"type":"x"}' > "$T/in"
	EVKIT_AMQP_PASSWORD=wrong run evfilter true "$T/in" -o "$BROKER/?queue=q"
	[ "$status" -eq 2 ]
	[[ "$output" == *"$BROKER/?queue=q: login to vhost '/' as 'guest': ACCESS_REFUSED"* ]]
	EVKIT_AMQP_PASSWORD=wrong run evfilter --no-follow true -i "$BROKER/?queue=q"
	[ "$status" -eq 2 ]
	[[ "$output" == *"ACCESS_REFUSED"* ]]
	run evfilter true "$T/in" -o "$BROKER/nosuch?queue=q"
	[ "$status" -eq 2 ]
	[[ "$output" == *"$BROKER/nosuch?queue=q: login to vhost 'nosuch'"*"not found"* ]]
	run evfilter --no-follow true -i "$BROKER/?queue=nosuch"
	[ "$status" -eq 2 ]
	[[ "$output" == *"no queue 'nosuch'"* ]]
}

@test "an unreachable broker is retried, then exit 111: a supervisor may try again" {
	echo '{"type":"x"}' > "$T/in"
	run evfilter true "$T/in" -o "amqp://127.0.0.1:1/?queue=q&retry=1s"
	[ "$status" -eq 111 ]
	[[ "$output" == *"amqp://127.0.0.1:1/?queue=q&retry=1s: cannot connect to 127.0.0.1:1: Connection refused; retrying for up to 1 s"* ]]
	[[ "$output" == *"gave up after retrying for 1 s"* ]]
	run evfilter --no-follow true -i "amqp://127.0.0.1:1/?queue=q&retry=0"
	[ "$status" -eq 111 ]
}

@test "the password comes from the environment or a file, not the command line" {
	echo '{"type":"x"}' > "$T/in"
	run evfilter true "$T/in" -o "amqp://guest:guest@127.0.0.1:${BROKER##*:}/?queue=pw&declare=1"
	[ "$status" -eq 2 ]
	[[ "$output" == *"amqp://guest:****@"*"shows in ps(1)"* ]]
	[[ "$output" != *"guest:guest"* ]]
	EVKIT_AMQP_ALLOW_URL_PASSWORD=1 run evfilter true "$T/in" \
		-o "amqp://guest:guest@127.0.0.1:${BROKER##*:}/?queue=pw&declare=1"
	[ "$status" -eq 0 ]
	echo guest > "$T/pw"
	EVKIT_AMQP_PASSWORD_FILE="$T/pw" run evfilter true "$T/in" -o "$BROKER/?queue=pw"
	[ "$status" -eq 0 ]
	EVKIT_AMQP_PASSWORD_FILE="$T/pw" run evfilter --no-follow true -i "$BROKER/?queue=pw"
	[ "${#lines[@]}" -eq 2 ]
}

@test "--no-follow ends on an idle queue; without it a consumer waits for more" {
	run timeout 20 evfilter --no-follow true -i "$BROKER/?queue=idle&declare=1&idle=300ms"
	[ "$status" -eq 1 ]
	evfilter true -i "$BROKER/?queue=idle" -o "$T/out.ndjson" &
	pid=$!
	sleep 0.5
	events 1 5 | evfilter true -o "$BROKER/?queue=idle"
	wait_for 20 atleast 5 "$T/out.ndjson"
	kill "$pid"
	wait "$pid" || true
	events 1 5 | cmp - "$T/out.ndjson"
}

@test "a new consumer on a stream queue replays its history from first" {
	events 1 1000 > "$T/in"
	evfilter true "$T/in" -o "$BROKER/?queue=history&declare=1&queue_type=stream"
	evfilter --no-follow true -i "$BROKER/?queue=history&stream_offset=first" > "$T/one"
	cmp "$T/in" "$T/one"
	evfilter --no-follow true -i "$BROKER/?queue=history&stream_offset=first" > "$T/two"
	cmp "$T/in" "$T/two"
	evfilter --no-follow true -i "$BROKER/?queue=history&stream_offset=995" > "$T/tail"
	[ "$(lines "$T/tail")" -eq 5 ]
}

@test "evtail follows a stream from its start, from a time, or from the next event" {
	seq 1 100 | awk '{ printf "{\"id\":\"%d\",\"type\":\"t\",\"time\":\"2026-01-01T00:%02d:%02dZ\"}\n", $1, $1 / 60, $1 % 60 }' > "$T/in"
	evfilter true "$T/in" -o "$BROKER/?queue=tailed&declare=1&queue_type=stream"
	evtail --no-follow --from-start "$BROKER/?queue=tailed" > "$T/all"
	cmp "$T/in" "$T/all"
	evtail --no-follow --since 2026-01-01T00:01:30Z "$BROKER/?queue=tailed" > "$T/since"
	tail -n 11 "$T/in" | cmp - "$T/since"
	evtail -n 0 "$BROKER/?queue=tailed" -o "$T/new.ndjson" &
	pid=$!
	# publish a probe until the consumer shows one: it is on
	probe() { echo '{"id":"probe"}' | evfilter true -o "$BROKER/?queue=tailed" && wait_for 1 atleast 1 "$T/new.ndjson"; }
	wait_for 30 probe 2> /dev/null
	events 101 102 | evfilter true -o "$BROKER/?queue=tailed"
	wait_for 20 grep -q '"id":"102"' "$T/new.ndjson"
	kill "$pid"
	wait "$pid" || true
	grep -v probe "$T/new.ndjson" | cmp - <(events 101 102)
	# a queue that is not a stream has no history to start from
	evfilter true "$T/in" -o "$BROKER/?queue=plain&declare=1"
	run evtail --no-follow --from-start "$BROKER/?queue=plain"
	[ "$status" -eq 2 ]
	[[ "$output" == *"invalid arg 'x-stream-offset'"*"(a start position needs a stream queue)"* ]]
	run evtail -n 5 "$BROKER/?queue=tailed"
	[ "$status" -eq 2 ]
	[[ "$output" == *"a broker cannot hand out the last 5 events"* ]]
	run evtail --cursor c "$BROKER/?queue=plain"
	[ "$status" -eq 2 ]
	[[ "$output" == *"--cursor needs a spool directory"* ]]
}

@test "amqps checks the broker's certificate and host name" {
	[ -f "$BDIR/tlsport" ] # tests/broker.sh made a CA and a certificate for localhost
	S="amqps://localhost:$(cat "$BDIR/tlsport")"
	CA="cacertfile=$BDIR/tls/ca.pem"
	events 1 2 > "$T/in"
	run evfilter true "$T/in" -o "$S/?queue=tls&declare=1&$CA"
	[ "$status" -eq 0 ]
	run evfilter true "$T/in" -o "$S/?queue=tls"
	[ "$status" -eq 2 ]
	[[ "$output" == *"$S/?queue=tls: cannot connect to localhost:"*"SSL peer cert verification failed"* ]]
	run evfilter true "$T/in" -o "amqps://127.0.0.1:$(cat "$BDIR/tlsport")/?queue=tls&$CA"
	[ "$status" -eq 2 ]
	[[ "$output" == *"SSL hostname verification failed"* ]]
	run evfilter true "$T/in" -o "amqps://127.0.0.1:$(cat "$BDIR/tlsport")/?queue=tls&verify=none"
	[ "$status" -eq 0 ]
	evfilter --no-follow true -i "$S/?queue=tls&$CA" > "$T/out.ndjson"
	cat "$T/in" "$T/in" | cmp - "$T/out.ndjson"
}

@test "the two-machine recipe (README, ev-amqp(7)) on one machine" {
	evspool init "$T/orders"
	evemit -o "$T/orders" order.placed order_id=ord-1 amount:=120
	evemit -o "$T/orders" user.login user=ann
	# consumer: its queue and binding exist before anything is published
	evspool init "$T/inbox"
	evtail --no-follow -o "$T/inbox" \
		"$BROKER/?queue=orders&declare=1&exchange=recipe&binding_key=order.%23&idle=200ms"
	# producer: what no queue takes is kept; the cursor moves past it
	run evtail --no-follow --cursor to-broker "$T/orders" --rejects "$T/unrouted.ndjson" -o "$BROKER/?exchange=recipe"
	[ "$status" -eq 2 ]
	[ "$(jq -r .type "$T/unrouted.ndjson")" = user.login ]
	evtail --no-follow -o "$T/inbox" "$BROKER/?queue=orders"
	[ "$(evtail --no-follow --from-start "$T/inbox" | jq -r .data.order_id)" = ord-1 ]
}

@test "a broker crash (kill -9) mid-stream between two spools: nothing lost" {
	# producer -> spool a -> evtail (publish) -> broker -> evtail (consume) -> spool b
	evspool init "$T/a"
	evspool init "$T/b"
	Q="$BROKER/?queue=crash&declare=1&retry=5m"
	{ for i in $(seq 0 19); do events $((i * 1000 + 1)) $((i * 1000 + 1000)) | evfilter true -o "$T/a"; done; } &
	feeder=$!
	evtail --cursor pub --from-start "$T/a" -o "$Q" 2> "$T/puberr" &
	pub=$!
	evtail "$Q&prefetch=100" -o "$T/b" 2> "$T/conerr" &
	con=$!
	wait_for 60 spool_atleast 1000 "$T/b"
	"$BATS_TEST_DIRNAME/../broker.sh" kill "$BDIR"
	BROKER_TIMEOUT=240 "$BATS_TEST_DIRNAME/../broker.sh" start "$BDIR"
	wait "$feeder"
	# the cursor reaches the end of a only once the broker confirmed everything
	wait_for 120 cursor_past "$T/a" pub "$(cat "$T"/a/segments/* | wc -c)"
	wait_for 120 spool_unique 20000 "$T/b"
	kill "$pub" "$con"
	wait "$pub" || true
	wait "$con" || true
	grep -q "connection lost" "$T/puberr"
	grep -q "connected again" "$T/puberr"
	grep -q "connection lost" "$T/conerr"
	events 1 20000 | sort | cmp - <(cat "$T"/b/segments/* | sort -u)
}

@test "a consumer killed (kill -9) while writing a spool: the broker redelivers what it had not acked" {
	events 1 5000 > "$T/in"
	evfilter true "$T/in" -o "$BROKER/?queue=conkill&declare=1"
	evspool init "$T/s"
	evtail "$BROKER/?queue=conkill&prefetch=50" -o "$T/s" &
	pid=$!
	wait_for 60 spool_atleast 1000 "$T/s"
	kill -9 "$pid"
	wait "$pid" || true
	evtail --no-follow "$BROKER/?queue=conkill" -o "$T/s"
	sort "$T/in" | cmp - <(cat "$T"/s/segments/* | sort -u)
}

# --- evroute: a broker among its destinations, and as its input -----------

@test "evroute publishes to a broker beside a spool; a broker named by two rules is one destination" {
	command -v evspool > /dev/null || skip "evspool is not built"
	cd "$T"
	evspool init archive
	events 1 30 > in
	q="$BROKER/?queue=evroute-orders&declare=1"
	run evroute --stats=json -i in "order.placed > $q" "order.paid > $q" '# > archive'
	[ "$status" -eq 0 ]
	echo "$output" | jq -e --arg q "$q" '.destinations == [{"destination":$q,"events":20},
		{"destination":"archive","events":30}]'
	evfilter --no-follow true -i "$BROKER/?queue=evroute-orders" > out
	grep -E '"order\.(placed|paid)"' in | cmp - out
	cat archive/segments/*.ndjson | cmp - in
}

@test "evroute shows a password in a broker location as **** in its counts and messages" {
	cd "$T"
	events 1 3 > in
	q="amqp://guest:guest@127.0.0.1:${BROKER##*:}/?queue=evroute-pw&declare=1"
	EVKIT_AMQP_ALLOW_URL_PASSWORD=1 run evroute --stats=json --prometheus pw.prom -i in \
		"order.# > $q" '(.data | error) > /dev/null'
	[ "$status" -eq 2 ]
	[[ "$output" == *"rule 2 ((.data | error) > /dev/null): "*"; not matched"* ]]
	[[ "$output" == *'"destination":"amqp://guest:****@127.0.0.1:'* ]]
	[[ "$output" == *'"rule":"order.# > amqp://guest:****@127.0.0.1:'* ]]
	grep -q 'rule="order.# > amqp://guest:\*\*\*\*@127.0.0.1:' pw.prom
	[[ "$output$(cat pw.prom)" != *"guest:guest"* ]]
}

@test "evroute from a spool to a broker: refused events go to --rejects, or the cursor stays" {
	command -v evspool > /dev/null || skip "evspool is not built"
	cd "$T"
	evspool init in
	events 1 6 | evroute -o in '#'
	# amq.topic has no queue bound for order.shipped: the broker returns those
	run evroute -i in --cursor kept --no-follow --rejects rejects.ndjson \
		"order.shipped > $BROKER/?exchange=amq.topic" '# > all.ndjson'
	[ "$status" -eq 2 ]
	[[ "$output" == *"NO_ROUTE (exchange 'amq.topic', routing key 'order.shipped')"* ]]
	events 1 6 | grep order.shipped | cmp - rejects.ndjson
	events 1 6 | cmp - all.ndjson
	[ "$(cat in/cursors/kept)" -eq "$(wc -c < all.ndjson)" ]
	# without --rejects nothing is lost: evroute stops and the cursor stays put
	run evroute -i in --cursor lost --no-follow "order.shipped > $BROKER/?exchange=amq.topic"
	[ "$status" -eq 2 ]
	[[ "$output" == *"not delivered and no --rejects"* ]]
	[ "$(cat in/cursors/lost 2>/dev/null || echo 0)" -eq 0 ]
}

@test "evroute from a broker queue acks only what every destination has: a full disk loses nothing" {
	cd "$T"
	events 1 100 > in
	evfilter true in -o "$BROKER/?queue=evroute-in&declare=1"
	run evroute --no-follow -i "$BROKER/?queue=evroute-in&idle=300ms" \
		'order.paid > /dev/full' '# > all.ndjson'
	[ "$status" -eq 111 ]
	[[ "$output" == *"/dev/full: write: No space left on device"* ]]
	run evroute --no-follow -i "$BROKER/?queue=evroute-in&idle=300ms" \
		'order.paid > paid.ndjson' '# > all.ndjson'
	[ "$status" -eq 0 ]
	grep order.paid in | cmp - paid.ndjson
	awk '!seen[$0]++' all.ndjson | cmp - in
}

@test "evroute: a broker that cannot be reached stops it before any input is read" {
	command -v evspool > /dev/null || skip "evspool is not built"
	cd "$T"
	evspool init in
	events 1 3 | evroute -o in '#'
	run evroute -i in --cursor r --no-follow '# > all.ndjson' "order.# > amqp://127.0.0.1:1/?queue=q&retry=0"
	[ "$status" -eq 111 ]
	[[ "$output" == *"amqp://127.0.0.1:1/?queue=q&retry=0: cannot connect to 127.0.0.1:1"* ]]
	[ ! -s all.ndjson ]
	[ "$(cat in/cursors/r 2>/dev/null || echo 0)" -eq 0 ]
}

@test "evroute(1): the broker example runs as written (with this broker for localhost)" {
	command -v evspool > /dev/null || skip "evspool is not built"
	command -v evemit > /dev/null || skip "evemit is not built"
	command -v evtail > /dev/null || skip "evtail is not built"
	load evroute
	mkdir "$T/run"
	cd "$T/run"
	for n in 1 4; do
		man_example "$n"
		sed -i "s|amqp://localhost/|$BROKER/|g" "$T/script"
		bash -e "$T/script" > "$T/got" 2>&1 || { cat "$T/script" "$T/got"; false; }
		diff -u "$T/expected" "$T/got"
	done
	grep -q "$BROKER/?queue=warehouse" "$T/script"
}

@test "evretry dead-letters to a queue; dead letters the broker refuses are kept, or the cursor stays" {
	printf '{"id":"a","type":"t"}\n{"id":"b","type":"t"}\n' > "$T/in"
	evretry -i "$T/in" -o "$T/out.ndjson" -d "$BROKER/?queue=dead&declare=1" -q -- sh -c 'test "$EVKIT_EVENT_ID" = a'
	evfilter --no-follow true -i "$BROKER/?queue=dead" > "$T/dead"
	[ "$(jq -c '[.id, .evdeadreason, .evexitstatus]' "$T/dead")" = '["b","failed",1]' ]
	# Unroutable dead letters: reported, kept in --rejects, exit 2.
	run evretry -i "$T/in" -o /dev/null -d "$BROKER/?exchange=amq.topic" --rejects "$T/rej.ndjson" -q -- false
	[ "$status" -eq 2 ]
	[ "$(jq -c '[.id, .evdeadreason]' "$T/rej.ndjson" | tr '\n' ' ')" = '["a","failed"] ["b","failed"] ' ]
	# Without --rejects, from a spool: the cursor is not committed, so a
	# run with a working destination handles them again.
	evspool init "$T/sp"
	evfilter -o "$T/sp" true "$T/in"
	run evretry -i "$T/sp" --cursor c --no-follow -o /dev/null -d "$BROKER/?exchange=amq.topic" -q -- false
	[ "$status" -eq 2 ]
	# one batch ("2 events not delivered") or, on a loaded machine, two
	[[ "$output" == *" not delivered and no --rejects"* ]]
	[[ "$output" == *'NO_ROUTE'*'{"id":"a"'* && "$output" == *'NO_ROUTE'*'{"id":"b"'* ]]
	evretry -i "$T/sp" --cursor c --no-follow -o /dev/null -d "$BROKER/?queue=dead" -q -- false
	[ "$(evfilter --no-follow true -i "$BROKER/?queue=dead" | jq -r .id | tr '\n' ' ')" = "a b " ]
}

@test "README.md: the blocks that need a broker run as written, with BROKER set to this one" {
	load readme
	# the Python recipe's pika is Debian's (python3-pika): its python3 goes
	# before a pyenv or virtualenv one, after the tools under test
	PATH="$EVKIT_BIN:/usr/bin:$PATH"
	n=0
	for b in $(seq 1 "$(readme_blocks)"); do
		readme_block "$b"
		grep -q '\$BROKER' "$T/block.sh" || continue
		readme_run "$T/b$b" || { echo "(README block $b)"; false; }
		n=$((n + 1))
	done
	[ "$n" -ge 1 ]
}

# queued QUEUE: how many messages the broker holds ready in QUEUE (a passive
# declare, as a cron job's next run would see it; unacked ones come back
# when their consumer's connection closes, so they count too)
queued() {
	/usr/bin/python3 - "$BROKER" "$1" <<-'PY'
	import sys, pika
	u = sys.argv[1]
	c = pika.BlockingConnection(pika.URLParameters(u + "/%2F"))
	print(c.channel().queue_declare(sys.argv[2], passive=True).method.message_count)
	c.close()
	PY
}

@test "evretry --no-follow drains a queue and exits 0, every event acked (cron's view)" {
	events 1 50 > "$T/in"
	evfilter true "$T/in" -o "$BROKER/?queue=cron&declare=1"
	[ "$(queued cron)" -eq 50 ]
	run timeout 60 evretry --no-follow -i "$BROKER/?queue=cron&idle=300ms" -o "$T/out.ndjson" -- true
	[ "$status" -eq 0 ]
	cmp "$T/in" "$T/out.ndjson"
	[ "$(queued cron)" -eq 0 ]
	# the co-process mode drains and exits too
	events 51 60 | evfilter true -o "$BROKER/?queue=cron"
	run timeout 60 evretry --no-follow -i "$BROKER/?queue=cron&idle=300ms" -o "$T/co.ndjson" --coproc -- sed -u 's/.*/ok/'
	[ "$status" -eq 0 ]
	events 51 60 | cmp - "$T/co.ndjson"
	[ "$(queued cron)" -eq 0 ]
}

# pika PYTHON-CODE: run it with ch, a channel on this broker (Debian's python3-pika)
pika() {
	/usr/bin/python3 -c 'import sys, pika
c = pika.BlockingConnection(pika.URLParameters(sys.argv[1] + "/%2F"))
ch = c.channel()
exec(sys.argv[2])
c.close()' "$BROKER" "$1"
}

@test "a Bunny-style producer's properties and headers become the event's attributes (pika)" {
	pika '
ch.queue_declare("bunny", durable=True)
ch.basic_publish("", "bunny", b"{\"order_id\": 42,\n \"total\": 9.5}", pika.BasicProperties(
	content_type="application/json", message_id="m-1", type="order.placed",
	timestamp=1795428000, correlation_id="c9", reply_to="rq", priority=3,
	expiration="60000", app_id="rails-shop",
	headers={"Tenant-Id": "acme", "x-retry": 2, "attempt": 1}))
ch.basic_publish("", "bunny", b"plain words", pika.BasicProperties(content_type="text/plain"))'
	evfilter --no-follow true -i "$BROKER/?queue=bunny&idle=300ms" > "$T/out"
	[ "$(jq -c 'del(.time, .id) | select(.data == "plain words")' "$T/out")" = \
		'{"specversion":"1.0","source":"/amqp/bunny","type":"bunny","datacontenttype":"text/plain","data":"plain words"}' ]
	[ "$(head -n 1 "$T/out")" = '{"specversion":"1.0","id":"m-1","source":"rails-shop","type":"order.placed","time":"2026-11-23T10:00:00.000Z","correlationid":"c9","replyto":"rq","expirytime":"2026-11-23T10:01:00.000Z","evpriority":3,"tenantid":"acme","attempt":1,"datacontenttype":"application/json","data":{"order_id": 42,  "total": 9.5}}' ]
	# a message id is the event's id: redelivered, it dedupes
	jq -c .id "$T/out" | sed -n 2p | grep -Eq '^"[0-9a-f-]{36}"$'
}

@test "CloudEvents binary mode from amqp-publish: cloudEvents_ and ce- headers are the attributes" {
	pika 'ch.queue_declare("cebin", durable=True)'
	u="${BROKER%/}/%2F"
	amqp-publish -u "$u" -r cebin -C application/json -H "cloudEvents_specversion: 1.0" \
		-H "cloudEvents_id: b1" -H "cloudEvents_source: /legacy" -H "cloudEvents_type: stock.low" \
		-H "cloudEvents_sku: a7" -b '{"left":2}'
	amqp-publish -u "$u" -r cebin -C text/plain -H "ce-specversion: 1.0" -H "ce-id: b2" \
		-H "ce-source: /legacy" -H "ce-type: stock.note" -b 'two left'
	# structured, sent without its content type: the body is the event
	amqp-publish -u "$u" -r cebin -b '{"specversion":"1.0","id":"s1","source":"/legacy","type":"t","time":"2026-01-01T00:00:00Z"}'
	evfilter --no-follow true -i "$BROKER/?queue=cebin&idle=300ms" > "$T/out"
	[ "$(jq -c 'del(.time)' "$T/out")" = "$(printf '%s\n' \
		'{"specversion":"1.0","id":"b1","source":"/legacy","type":"stock.low","sku":"a7","datacontenttype":"application/json","data":{"left":2}}' \
		'{"specversion":"1.0","id":"b2","source":"/legacy","type":"stock.note","datacontenttype":"text/plain","data":"two left"}' \
		'{"specversion":"1.0","id":"s1","source":"/legacy","type":"t"}')" ]
}

@test "publishing sets message_id, type, timestamp, priority, expiration, correlation and reply-to (pika reads them)" {
	pika 'for q in ("props", "propsbin"): ch.queue_delete(q)'
	exp=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
	echo '{"specversion":"1.0","id":"e1","source":"/shop","type":"order.placed","time":"2026-11-23T10:00:00.123Z","expirytime":"'"$exp"'","evpriority":7,"correlationid":"c-1","replyto":"replies","tenant":"acme","datacontenttype":"application/json","data":{"a":1}}' > "$T/in"
	evfilter true "$T/in" -o "$BROKER/?queue=props&declare=1&max_priority=9"
	evfilter true "$T/in" -o "$BROKER/?queue=propsbin&declare=1&mode=binary"
	pika '
for q in ("props", "propsbin"):
	m, p, b = ch.basic_get(q, auto_ack=False)
	ttl = int(p.expiration)
	assert 3500000 < ttl <= 3600000, ttl
	print(q, p.message_id, p.type, p.timestamp, p.priority, p.correlation_id, p.reply_to, p.app_id, p.content_type)
	print(sorted((p.headers or {}).items()))
	print(b.decode())
	ch.basic_nack(m.delivery_tag, requeue=True)' > "$T/seen"
	[ "$(sed -n 1p "$T/seen")" = "props e1 order.placed 1795428000 7 c-1 replies /shop application/cloudevents+json; charset=utf-8" ]
	[ "$(sed -n 2p "$T/seen")" = "[]" ]
	[ "$(sed -n 3p "$T/seen")" = "$(cat "$T/in")" ]
	[ "$(sed -n 4p "$T/seen")" = "propsbin e1 order.placed 1795428000 7 c-1 replies /shop application/json" ]
	[ "$(sed -n 5p "$T/seen")" = "[('cloudEvents_correlationid', 'c-1'), ('cloudEvents_evpriority', 7L), ('cloudEvents_expirytime', '$exp'), ('cloudEvents_id', 'e1'), ('cloudEvents_replyto', 'replies'), ('cloudEvents_source', '/shop'), ('cloudEvents_specversion', '1.0'), ('cloudEvents_tenant', 'acme'), ('cloudEvents_time', '2026-11-23T10:00:00.123Z'), ('cloudEvents_type', 'order.placed')]" ]
	[ "$(sed -n 6p "$T/seen")" = '{"a":1}' ]
	# and back: both modes give the same event
	evfilter --no-follow true -i "$BROKER/?queue=props&idle=300ms" | cmp "$T/in" -
	evfilter --no-follow true -i "$BROKER/?queue=propsbin&idle=300ms" | cmp "$T/in" -
}

@test "evpriority fills a priority queue in priority order; an expirytime past is dropped by the broker" {
	printf '{"id":"%s","type":"t","evpriority":%s}\n' lo 1 hi 9 mid 5 | evfilter true -o "$BROKER/?queue=prio&declare=1&max_priority=9"
	[ "$(evfilter --no-follow true -i "$BROKER/?queue=prio&idle=300ms" | jq -r .id | tr '\n' ' ')" = "hi mid lo " ]
	printf '{"id":"old","type":"t","expirytime":"2020-01-01T00:00:00Z"}\n{"id":"new","type":"t"}\n' |
		evfilter true -o "$BROKER/?queue=ttl&declare=1"
	[ "$(evfilter --no-follow true -i "$BROKER/?queue=ttl&idle=300ms" | jq -r .id)" = new ]
	run evfilter true /dev/null -o "$BROKER/?queue=prio&max_priority=9"
	[ "$status" -eq 2 ]
	[[ "$output" == *"'max_priority' needs declare=1"* ]]
	run evfilter true /dev/null -o "$BROKER/?queue=prio&mode=raw"
	[ "$status" -eq 2 ]
	[[ "$output" == *"mode 'raw' is not binary or structured"* ]]
}

@test "request/reply over the broker: evemit --request waits on direct reply-to, evretry --stdout reply answers" {
	evfilter --no-follow true -i "$BROKER/?queue=quotes&declare=1&idle=100ms" || true
	bg evretry --stdout reply -i "$BROKER/?queue=quotes" -o "$T/handled.ndjson" -- sh -c 'echo "{\"total\": 3}"'
	run timeout 30 evemit --request -o "$BROKER/?queue=quotes" --timeout 20s --id q1 order.quote n:=3
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -c '[.type, .correlationid, .data]')" = '["order.quote.reply","q1",{"total":3}]' ]
	# the responder saw the request with the broker's reply-to address
	wait_for 10 has_lines "$T/handled.ndjson" 1
	jq -r .replyto "$T/handled.ndjson" | grep -q '^amq\.rabbitmq\.reply-to\..'
	kill "$BGPID"
	wait "$BGPID" 2> /dev/null || true
	# a co-process answers "ok REPLY"
	bg evretry --coproc --stdout reply -i "$BROKER/?queue=quotes" -- sed -u 's/.*/ok {"co":1}/'
	run timeout 30 evemit --request -o "$BROKER/?queue=quotes" --timeout 20s order.quote
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -c .data)" = '{"co":1}' ]
	kill "$BGPID"
	wait "$BGPID" 2> /dev/null || true
	# nobody answers: 75; nobody takes the request: 2
	run timeout 30 evemit --request -o "$BROKER/?queue=quotes" --timeout 1s order.quote
	[ "$status" -eq 75 ]
	[[ "$output" == *"no reply to "*" within 1000 ms"* ]]
	run timeout 30 evemit --request -o "$BROKER/?queue=nosuch" --timeout 5s order.quote
	[ "$status" -eq 2 ]
	[[ "$output" == *"312 NO_ROUTE"* ]]
}

@test "a plain publisher of replyto=amq.rabbitmq.reply-to: the broker closes the channel, exit 2, nothing committed (ev-amqp(7))" {
	evspool init "$T/s"
	evemit -o "$T/s" -x replyto=amq.rabbitmq.reply-to -x correlationid=c1 order.quote
	run timeout 60 evtail --no-follow --from-start --cursor out "$T/s" -o "$BROKER/?queue=plainreq&declare=1"
	[ "$status" -eq 2 ]
	[[ "$output" == *"fast reply consumer does not exist"* ]]
	[ "$(evspool cursor "$T/s" out 2> /dev/null | awk '{ print $2 }')" = 0 ]
}

@test "a pika requester gets evretry's reply by reply_to and correlation_id" {
	evfilter --no-follow true -i "$BROKER/?queue=ask&declare=1&idle=100ms" || true
	bg evretry --stdout reply -i "$BROKER/?queue=ask" -- echo pong
	pika '
ch.queue_declare("answers", exclusive=True)
ch.basic_publish("", "ask", b"{\"q\": 1}", pika.BasicProperties(content_type="application/json",
	reply_to="answers", correlation_id="k-7", type="ping"))
for m, p, b in ch.consume("answers", auto_ack=True, inactivity_timeout=20):
	print(p.correlation_id, b.decode())
	break' > "$T/got"
	[[ "$(cat "$T/got")" == 'k-7 {"specversion":"1.0",'*'"type":"ping.reply",'*'"correlationid":"k-7","data":"pong"}' ]]
}
