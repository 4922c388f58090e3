# SPDX-License-Identifier: ISC
# evfold: built-in --count --sum over $N events and 100,000 keys, with the
# view durable in SQLite (fsync'ed commits), next to mawk summing the same
# key and amount extracted beforehand; a jq reducer next to jq -n 'reduce'
# (which keeps nothing) on $SLOW_N events; the resident memory per key.
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
note "evfold --count --sum: $((rss * 1024 / 100000)) bytes resident per key (peak RSS over 100,000 keys, the process included)"
row evfold-jq "jq -n 'reduce inputs as \$e ({}; .[key] += price)'" "$FOLD_SLOW" \
	"jq -n -c 'reduce inputs as \$e ({}; .[\$e.data.model] += \$e.data.price) | to_entries[]'"
ROW_SETUP="rm -f '$W/foldjq.db' '$W/foldjq.db-wal' '$W/foldjq.db-shm'"
ROW_COUNT="sqlite3 '$W/foldjq.db' 'SELECT count(*) FROM fold'"
row evfold-jq "evfold '. + \$e.data.price' (durable)" "$FOLD_SLOW" \
	"evfold -q --db '$W/foldjq.db' -k .data.model '. + \$e.data.price'"
rm -f "$W"/fold.db* "$W"/foldjq.db* "$W/fold-kv"
