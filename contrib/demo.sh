#!/bin/sh
# SPDX-License-Identifier: ISC
# make demo: the evkit tools end to end, in a fresh ./demo directory.
#   sh contrib/demo.sh BINDIR
#
# Each step is a shell function demo_NAME that prints what it is about
# (say) and runs commands through `run`, which shows each command, its
# output and, when it is not 0, its exit status, and stops the demo when
# the status is not the one expected. To add a step, write a function and
# add its name to STEPS in the order it should run.
set -eu

STEPS="emit lines csv fill filter count map bad pipe spool consumer route dedupe retry stat"

BIN=$(cd "${1:-build/rel/bin}" && pwd)
PATH="$BIN:$PATH"
export PATH
EVKIT_SOURCE=/demo/shop
export EVKIT_SOURCE

say() {
	printf '\n== %s\n' "$*"
}

# run [-s STATUS] COMMAND: show and run COMMAND (sh syntax), expecting STATUS (default 0).
run() {
	want=0
	if [ "$1" = -s ]; then
		want=$2
		shift 2
	fi
	printf '$ %s\n' "$1"
	set +e
	sh -c "$1" > .run.out 2>&1
	got=$?
	set -e
	sed 's/^/  /' .run.out
	rm -f .run.out
	[ "$got" -eq 0 ] || printf '  (exit status %s)\n' "$got"
	if [ "$got" -ne "$want" ]; then
		printf 'demo: expected exit status %s from: %s\n' "$want" "$1" >&2
		exit 1
	fi
}

# quiet COMMAND: run a setup command, shown but without its output.
quiet() {
	printf '$ %s\n' "$1"
	sh -c "$1"
}

demo_emit() {
	say "evemit makes CloudEvents from arguments (key=string, key:=json, dotted keys nest)"
	quiet 'evemit order.placed customer.name=ada amount:=250 items:='\''["tea","cake"]'\'' >> orders.ndjson'
	quiet 'evemit order.placed customer.name=bob amount:=20 >> orders.ndjson'
	quiet 'evemit --subject order-3 -x region=eu order.placed customer.name=cy amount:=1200 >> orders.ndjson'
	quiet 'evemit order.paid order:=3 >> orders.ndjson'
	run 'cat orders.ndjson'
}

demo_lines() {
	say "evemit -l wraps each JSON line a program prints as the data of an event"
	run 'printf '\''%s\n'\'' '\''{"cpu":0.71}'\'' '\''{"cpu":0.15}'\'' | evemit -l metrics.sample | tee metrics.ndjson'
}

demo_csv() {
	say "evemit --csv makes an event of each row; numeric columns stay numbers"
	quiet 'printf '\''sku,qty,zip\nA-1,5,02134\nB-2,120,10001\n'\'' > stock.csv'
	run 'evemit --csv -i stock.csv stock.level | tee stock.ndjson'
}

demo_fill() {
	say "evemit -f completes events that lack an envelope, keeping their own bytes"
	run 'echo '\''{"id":"legacy-7","data":{"n":1}}'\'' | evemit -f counter.inc'
}

demo_filter() {
	say "evfilter keeps the events for which a jq expression is true, byte for byte"
	run 'evfilter '\''.type == "order.placed" and .data.amount > 100'\'' orders.ndjson'
	run -s 1 'evfilter '\''.data.amount > 100000'\'' orders.ndjson'
}

demo_count() {
	say "evfilter -c counts, -v inverts, --arg passes values in: exit status as grep"
	run 'evfilter -c --arg t order.placed '\''.type == $t'\'' orders.ndjson'
	run 'evfilter -v '\''.type | startswith("order.")'\'' orders.ndjson metrics.ndjson stock.ndjson'
}

demo_map() {
	say "evfilter --map writes jq's outputs instead, for transformations"
	run 'evfilter -m '\''select(.type == "order.placed") | {who: .data.customer.name, amount: .data.amount}'\'' orders.ndjson'
}

demo_bad() {
	say "a bad line is reported with its place, set aside with --rejects, and the rest goes on"
	quiet 'cp orders.ndjson mixed.ndjson && echo '\''{"type":"order.placed", oops'\'' >> mixed.ndjson && evemit order.placed amount:=999 >> mixed.ndjson'
	run -s 2 'evfilter --rejects rejects.ndjson --stats '\''.data.amount > 100'\'' mixed.ndjson'
	run 'cat rejects.ndjson'
}

demo_pipe() {
	say "tools compose: an output can be a |command; evemit feeds evfilter on a pipe"
	run 'for n in 1 2 3 4 5 6; do evemit tick n:=$n; done | evfilter -o '\''|wc -l'\'' '\''.data.n % 2 == 0'\'''
}

demo_spool() {
	say "a spool is a durable topic: producers append to it, evspool stat describes it"
	quiet 'for s in shop warehouse archive mail dead; do evspool init $s; done'
	quiet 'evemit -o shop order.placed order_id=ord-1 amount:=120 email=ada@example.com'
	quiet 'evemit -o shop payment.failed order_id=ord-1 reason="card declined"'
	quiet 'evemit -o shop user.login user=ann'
	quiet 'evemit -o shop order.placed order_id=ord-2 amount:=4200 email=bob@example.com'
	quiet 'evemit -o shop order.shipped order_id=ord-1'
	run 'evspool stat shop'
}

# wait_lines N FILE: wait (at most 20 s) until FILE has N lines.
wait_lines() {
	i=0
	while [ "$(wc -l < "$2")" -lt "$1" ]; do
		i=$((i + 1))
		if [ $i -gt 400 ]; then
			printf 'demo: %s has %s lines, not %s\n' "$2" "$(wc -l < "$2")" "$1" >&2
			exit 1
		fi
		sleep 0.05
	done
}

demo_consumer() {
	say "a consumer with a cursor follows the spool like tail -F; killed and restarted, it misses nothing"
	printf '$ evtail --cursor audit shop > audit.out &    # follows; then kill -9\n'
	: > audit.out
	evtail --cursor audit shop > audit.out &
	pid=$!
	wait_lines 5 audit.out
	kill -9 "$pid"
	wait "$pid" 2>/dev/null || true
	say "while it is down, a producer publishes, and retries one publish (the same id twice)"
	quiet 'evemit -o shop --id ord-3-placed order.placed order_id=ord-3 amount:=75 email=cy@example.com'
	quiet 'evemit -o shop --id ord-3-placed order.placed order_id=ord-3 amount:=75 email=cy@example.com'
	run 'evtail --cursor audit --no-follow shop >> audit.out; wc -l < audit.out'
	run 'evspool cursor shop'
}

demo_route() {
	say "evroute fans events out by type pattern: orders to the warehouse, failed payments to a command, all to the archive"
	quiet 'printf '\''#!/bin/sh\nwhile read -r e; do echo "PAGE: $e" >> pages.log; done\n'\'' > page-oncall && chmod +x page-oncall'
	run 'evroute -i shop --cursor router --no-follow --stats '\''order.* > warehouse'\'' '\''payment.failed > |./page-oncall'\'' '\''# > archive'\'''
	run 'evtail --no-follow --from-start warehouse | jq -c "{id, type, order: .data.order_id}"'
	run 'wc -l < pages.log'
}

demo_dedupe() {
	say "evdedupe drops what a producer published twice (same source and id), remembering keys across runs"
	run 'evdedupe --state dedupe.keys --cursor dedupe --no-follow --stats --dups dups.ndjson -o mail warehouse'
	run 'jq -r .id dups.ndjson'
}

demo_retry() {
	say "evretry runs a handler per event: exit 75 is retried with backoff, other failures become dead letters"
	quiet 'cat > send-mail <<'\''EOF'\''
#!/bin/sh
# A mailer that is busy the first time (exit 75: try again later) and
# refuses orders over 1000 (exit 1: a permanent failure).
[ "$EVKIT_EVENT_TYPE" = order.placed ] || exit 0
event=$(cat)
[ -e "busy-$EVKIT_EVENT_ID" ] || { touch "busy-$EVKIT_EVENT_ID"; echo "mail server busy" >&2; exit 75; }
amount=$(printf "%s\n" "$event" | jq .data.amount)
[ "$amount" -le 1000 ] || { echo "amount $amount needs a human" >&2; exit 1; }
printf "%s\n" "$event" | jq -r "\"attempt $EVKIT_ATTEMPT: mail to \(.data.email) for \(.data.order_id)\"" >> mails.log
EOF
chmod +x send-mail'
	run 'evretry -i mail --cursor mailer --no-follow -a 3 -b 10ms,100ms -d dead -o /dev/null --stats -- ./send-mail'
	run 'cat mails.log'
	run 'evtail --no-follow --from-start dead | jq -c "{id, evdeadreason, evattempts}"'
}

demo_stat() {
	say "each consumer's lag, for people and for node_exporter's textfile collector"
	run 'evspool stat shop'
	run 'evspool stat --prometheus shop | grep -v "^#"'
}

rm -rf demo
mkdir demo
cd demo
printf 'evkit demo in %s, tools from %s\n' "$(pwd)" "$BIN"
for s in $STEPS; do
	"demo_$s"
done
printf '\ndemo: every step ran as expected; the files are in ./demo\n'
