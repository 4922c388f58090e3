#!/bin/bash
# SPDX-License-Identifier: ISC
# evfold-crash.sh — the exactly-once test: evfold reads a spool through a
# cursor and is killed (SIGKILL) at random moments, KILLS times, while the
# spool grows to N events; then it runs to the end. The view must equal,
# exactly, what jq -n 'reduce inputs ...' makes of the whole spool, and the
# position kept in the database must be the spool's end.
#   tests/evfold-crash.sh N KILLS DIR     (evfold, evspool, evemit on PATH)
# make check runs a small one (tests/cli/evfold.bats); `make crash-fold`
# runs 200,000 events and a hundred kills.
set -eu
n=$1 kills=$2 d=$3
gen="$(dirname "$0")/gen-events.sh"
R='if $e.type == "cart.abandoned" then null
   else {n: ((.n // 0) + 1), amount: ((.amount // 0) + ($e.data.amount // 0)), last: $e.id} end'
mkdir -p "$d"
bash "$gen" "$n" 0 7 > "$d/in"
split -n "l/$((kills + 1))" "$d/in" "$d/portion."
evspool init "$d/orders"
stage=(evfold -q --no-follow -i "$d/orders" --cursor bytype --db "$d/views.db" -k .type "$R")
set -- "$d"/portion.*
evemit -f -o "$d/orders" < "$1"
shift
start=$(date +%s%N)
"${stage[@]}"
ms=$(( ($(date +%s%N) - start) / 1000000 + 20 ))
[ "$ms" -lt 999 ] || ms=999
killed=0
for p; do
	evemit -f -o "$d/orders" < "$p"
	"${stage[@]}" 2>> "$d/err" &
	pid=$!
	sleep "$(printf '0.%03d' $((RANDOM % ms)))"
	kill -9 "$pid" 2>/dev/null && killed=$((killed + 1)) || true
	wait "$pid" || true
done
"${stage[@]}"
jq -c -n "reduce inputs as \$e ({}; \$e.type as \$key | (.[\$key] | $R) as \$s |
    if \$s == null then del(.[\$key]) else .[\$key] = \$s end) |
    to_entries[] | {key, state: .value}" "$d/in" | sort > "$d/want"
evfold --db "$d/views.db" --dump | sort > "$d/got"
cmp "$d/want" "$d/got"
end=$(wc -c < "$d/in")
pos=$(sqlite3 "$d/views.db" "SELECT pos FROM evfold_views WHERE name = 'bytype'")
[ "$pos" = "$end" ] || { echo "evfold-crash: position $pos, spool end $end" >&2; exit 1; }
[ "$(cat "$d/orders/cursors/bytype")" = "$end" ]
echo "evfold-crash: $n events, $killed of $kills runs killed mid-way, view = jq's reduce, exactly"
