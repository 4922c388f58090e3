# SPDX-License-Identifier: ISC
# evfold: built-in --count --sum over $N events and 100,000 keys, with the
# view durable in SQLite (fsync'ed commits), next to mawk summing the same
# key and amount extracted beforehand; a jq reducer next to jq -n 'reduce'
# (which keeps nothing) on $SLOW_N events; the resident memory per key. A
# note under the table sets the ratios against the targets of issue 16.
FOLD_IN=$CACHE/fold-$N.ndjson
if [ ! -s "$FOLD_IN" ]; then
	awk -v n="$N" 'BEGIN { s = 1
	    for (i = 0; i < n; i++) {
		s = (s * 16807) % 2147483647; k = s % 100000; s = (s * 16807) % 2147483647
		printf "{\"specversion\":\"1.0\",\"id\":\"ev-%09d\",\"source\":\"/factory\",\"type\":\"order.placed\",\"time\":\"2026-12-01T10:00:00.000Z\",\"data\":{\"division\":\"d%d\",\"model\":\"m-%05d\",\"price\":%d.%02d}}\n", i, k % 10, k, s % 100000, s % 100
	    } }' > "$FOLD_IN.$$" && mv "$FOLD_IN.$$" "$FOLD_IN"
fi
awk -F'"' '{ print $30, substr($33, 2, length($33) - 3) }' "$FOLD_IN" > "$W/fold-kv"
FOLD_SLOW=$(head_of "$SLOW_N" "$FOLD_IN")
row evfold "mawk '{s[\$1]+=\$2}' (on key and price only)" "$W/fold-kv" \
	"mawk '{ s[\$1] += \$2 } END { for (k in s) print k, s[k] }'"
ROW_EVENTS=$(lines_of "$FOLD_IN")
ROW_SETUP="rm -f '$W/fold.db' '$W/fold.db-wal' '$W/fold.db-shm'"
ROW_COUNT="sqlite3 '$W/fold.db' 'SELECT count(*) FROM fold'"
row evfold "evfold --count --sum (durable)" "$FOLD_IN" \
	"evfold -q --db '$W/fold.db' -k .data.model --count --sum .data.price"
fold_rss=$rss
fold_keys=$(sqlite3 "$W/fold.db" 'SELECT count(*) FROM fold' 2>/dev/null)
# the same process on ten events: what is not the keys
rm -f "$W"/fold.db*
set -- $("$TIMEIT" "$(head_of 10 "$FOLD_IN")" "$W/out" "$W/err" \
	"evfold -q --db '$W/fold.db' -k .data.model --count --sum .data.price")
fold_base=${2:-0}
rm -f "$W/out" "$W/err"
row evfold-jq "jq -n 'reduce inputs as \$e ({}; .[key] += price)'" "$FOLD_SLOW" \
	"jq -n -c 'reduce inputs as \$e ({}; .[\$e.data.model] += \$e.data.price) | to_entries[]'"
ROW_SETUP="rm -f '$W/foldjq.db' '$W/foldjq.db-wal' '$W/foldjq.db-shm'"
ROW_COUNT="sqlite3 '$W/foldjq.db' 'SELECT count(*) FROM fold'"
row evfold-jq "evfold '. + \$e.data.price' (durable)" "$FOLD_SLOW" \
	"evfold -q --db '$W/foldjq.db' -k .data.model '. + \$e.data.price'"
# the issue's targets, from the rows above: --count --sum at 1,000,000
# events/s or more and 3x mawk; the reducer at 1x jq's reduce
awk -F '\t' -v rss="$fold_rss" -v base="$fold_base" -v keys="${fold_keys:-0}" '
	$7 == "ok" { rate[$1, ++n[$1]] = $3 / $5 }
	END {
		if (rate["evfold", 1] && rate["evfold", 2])
			printf "evfold --count --sum: %.0f events/s (target 1000000), %.2fx mawk (target 3x)\n",
			    rate["evfold", 2], rate["evfold", 2] / rate["evfold", 1]
		if (rate["evfold-jq", 1] && rate["evfold-jq", 2])
			printf "evfold jq reducer: %.2fx jq -n reduce (target 1x)\n",
			    rate["evfold-jq", 2] / rate["evfold-jq", 1]
		if (rss > 0 && keys > 0)
			printf "evfold --count --sum: %d bytes resident per key (peak RSS %d KiB over %d keys, less %d KiB on ten events)\n",
			    (rss - base) * 1024 / keys, rss, keys, base
	}' "$RESULTS" >> "$W/notes"
rm -f "$W"/fold.db* "$W"/foldjq.db* "$W/fold-kv"
