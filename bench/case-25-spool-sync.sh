# SPDX-License-Identifier: ISC
# Shared syncs: 1, 2, 4 and 8 concurrent --sync=always writers of one spool
# (evtail -o SPOOL, each its share of the events) against as many
# independent write+fdatasync loops, each on its own file (what the disk
# gives N writers that share nothing). And appends to 1 MiB segments under
# --sync=none against cat, where roll-overs used to fsync.
SYNC_N=${BENCH_SYNC_N:-2000} # events in all, at the speed of a disk flush
if ${CC:-cc} -O2 -o "$W/sync-writers" "$HERE/sync-writers.c" 2>"$W/cc.err"; then
	SYNC_IN=$(head_of "$SYNC_N" "$EVENTS")
	for n in 1 2 4 8; do
		ROW_SETUP="rm -rf '$W/sw' && mkdir '$W/sw'"
		ROW_COUNT="cat '$W'/sw/out.* | wc -l"
		row "spool-sync-always-$n" "$n write+fdatasync loops" "$SYNC_IN" \
			"'$W/sync-writers' $n '$W/sw'"
		ROW_SETUP="rm -rf '$W/sw' '$W/ss' && mkdir '$W/sw' && evspool init '$W/ss'"
		ROW_COUNT="cat '$W'/ss/segments/*.ndjson | wc -l"
		row "spool-sync-always-$n" "$n evtail --sync=always -o SPOOL" "$SYNC_IN" \
			"'$W/sync-writers' $n '$W/sw' evtail --no-follow --from-start --sync=always -o '$W/ss'"
	done
	rm -rf "$W/sw" "$W/ss"
else
	skip spool-sync-always "cannot build bench/sync-writers.c: $(head -n 3 "$W/cc.err")"
fi
SA="$W/spool-none"
ROW_SETUP="rm -f '$W/none-cat.ndjson'"
ROW_COUNT="wc -l < '$W/none-cat.ndjson'"
row spool-append-1m "cat > FILE" "$EVENTS" "cat > '$W/none-cat.ndjson'"
ROW_SETUP="rm -rf '$SA' && evspool init --segment-bytes 1M '$SA'"
ROW_COUNT="cat '$SA'/segments/*.ndjson | wc -l"
row spool-append-1m "evtail --sync=none -o SPOOL (1 MiB segments)" "$EVENTS" \
	"evtail --no-follow --from-start --sync=none -o '$SA'"
rm -rf "$SA" "$W/none-cat.ndjson"
