#!/bin/sh
# make demo: the evkit tools end to end, in a fresh ./demo directory.
#   sh contrib/demo.sh BINDIR
#
# Each step is a shell function demo_NAME that prints what it is about
# (say) and runs commands through `run`, which shows each command, its
# output and, when it is not 0, its exit status, and stops the demo when
# the status is not the one expected. To add a step, write a function and
# add its name to STEPS in the order it should run.
set -eu

STEPS="emit lines csv fill filter count map bad pipe"

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

rm -rf demo
mkdir demo
cd demo
printf 'evkit demo in %s, tools from %s\n' "$(pwd)" "$BIN"
for s in $STEPS; do
	"demo_$s"
done
printf '\ndemo: every step ran as expected; the files are in ./demo\n'
