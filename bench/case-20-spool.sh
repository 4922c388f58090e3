# Spools: appending with group commit against cat + sync, draining against
# cat, and the append-to-output latency of a following evtail.
SP="$W/spool-drain"
LIBDIR="$BIN/../lib"
rm -rf "$W/spool-append"
evspool init --retain-bytes 1G "$W/spool-append"
row spool-append "cat > FILE; sync" "$EVENTS" "cat > '$W/spool-cat.ndjson'; sync"
# Every run appends to the same spool; retention keeps it near 1 GiB.
row spool-append "evtail --from-start -o SPOOL (group commit)" "$EVENTS" \
	"evtail --no-follow --from-start -o '$W/spool-append'"
rm -rf "$W/spool-append" "$W/spool-cat.ndjson"
rm -rf "$SP"
evspool init "$SP" && evtail --no-follow --from-start -o "$SP" < "$EVENTS"
# (the corpus is given as input only so that MB/s counts its bytes)
row spool-drain "cat SPOOL/segments/*" "$EVENTS" "cat '$SP'/segments/*.ndjson"
row spool-drain "evtail --no-follow --from-start SPOOL" "$EVENTS" \
	"evtail --no-follow --from-start '$SP'"
rm -rf "$SP"
if cc -O2 -iquote "$HERE/../lib" -o "$W/spool-latency" "$HERE/spool-latency.c" \
    "$LIBDIR/libevkit.a" -lm 2>"$W/cc.err"; then
	rm -rf "$W/latency-spool"
	evspool init "$W/latency-spool"
	printf 'spool follow latency (append to evtail output): %s\n' \
		"$("$W/spool-latency" "$BIN/evtail" "$W/latency-spool" "${BENCH_LATENCY_N:-1000}")"
	rm -rf "$W/latency-spool"
else
	echo "spool follow latency: cannot build bench/spool-latency.c (see $W/cc.err)"
fi
