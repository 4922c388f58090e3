# SPDX-License-Identifier: ISC
# Spools: appending with group commit against cat + sync, draining against
# cat, and the append-to-output latency of a following evtail, idle and
# under a writer at full speed.
# Appends: each run writes into a new file or spool (made before the clock
# starts). The baseline syncs its own file (coreutils sync FILE), as the
# spool syncs its own, not every dirty page of the machine.
SA="$W/spool-append"
ROW_SETUP="rm -f '$W/spool-cat.ndjson'"
ROW_COUNT="wc -l < '$W/spool-cat.ndjson'"
row spool-append "cat > FILE; sync FILE" "$EVENTS" \
	"cat > '$W/spool-cat.ndjson' && sync '$W/spool-cat.ndjson'"
ROW_SETUP="rm -rf '$SA' && evspool init --retain-bytes 1G '$SA'"
ROW_COUNT="cat '$SA'/segments/*.ndjson | wc -l"
row spool-append "evtail --from-start -o SPOOL (group commit)" "$EVENTS" \
	"evtail --no-follow --from-start -o '$SA'"
rm -rf "$SA" "$W/spool-cat.ndjson"
# Drains read one spool that holds the corpus (the corpus is given as input
# only so that MB/s counts its bytes; the sample check reads it all too).
SP="$W/spool-drain"
if evspool init "$SP" && evtail --no-follow --from-start -o "$SP" < "$EVENTS"; then
	row spool-drain "cat SPOOL/segments/*" "$EVENTS" "cat '$SP'/segments/*.ndjson"
	row spool-drain "evtail --no-follow --from-start SPOOL" "$EVENTS" \
		"evtail --no-follow --from-start '$SP'"
else
	skip spool-drain "cannot fill a spool with evtail -o"
fi
rm -rf "$SP"
if ${CC:-cc} -O2 -iquote "$HERE/../lib" -o "$W/spool-latency" "$HERE/spool-latency.c" \
    "$BIN/../lib/libevkit.a" $(${MAKE:-make} -s -C "$HERE/.." ldlibs) 2>"$W/cc.err"; then
	LS="$W/latency-spool"
	evspool init "$LS" &&
	note "spool follow latency (append to evtail output): $("$W/spool-latency" "$LS" "${BENCH_LATENCY_N:-1000}" 0 "$BIN/evtail" --from-start "$LS")"
	rm -rf "$LS"
	# The same while another writer appends small events at full speed; the
	# follower keeps only the probes, so the pipe is not what is measured.
	evspool init "$LS" &&
	note "spool follow latency under a full-speed writer (append to evfilter 'has(\"i\")' output): $("$W/spool-latency" "$LS" "${BENCH_LATENCY_N:-1000}" 1 "$BIN/evfilter" -i "$LS" 'has("i")')"
	rm -rf "$LS"
else
	note "spool follow latency: cannot build bench/spool-latency.c: $(head -n 3 "$W/cc.err")"
fi
