# SPDX-License-Identifier: ISC
# HTTP, on loopback, into a local evhttp that appends to a spool and answers
# 2xx once the events are durable (its default --sync batch):
# - webhook delivery: evfilter -o http://.../events (each event one POST over
#   kept-alive connections) against curl -K sending the same POSTs from one
#   process over one kept-alive connection (what `evretry -- curl` would do
#   without a process per event); one request at a time, then 32 at a time,
#   then CloudEvents batches;
# - NDJSON ingest: batches of 1000 events POSTed by evfilter's batched mode
#   against appending the same events to a spool directly (evtail -o);
# - single-event POSTs with wrk (fixed time: a note, not a row), against wrk
#   fetching evhttp's static page (GET /) from the same server;
# - 1,000 SSE subscribers of one spool (a note): p99 delivery latency and
#   memory per subscriber (bench/sse-fanout.py).
# $HTTP_N events (BENCH_HTTP_N, default N/50) for the fast rows, $HTTP_N/10
# for one request at a time.
HTTP_N=${BENCH_HTTP_N:-$((N / 50))}
[ "$HTTP_N" -ge 100 ] || HTTP_N=100
HTTPIN=$(head_of "$HTTP_N" "$EVENTS")
HTTPSLOW=$(head_of "$((HTTP_N / 10))" "$EVENTS")
HS="$W/http-spool"
# evhttp_start SPOOL [OPTIONS]: evhttp -o SPOOL on a port of its choosing; its
# base URL in $HU, its pid in $HPID
evhttp_start() {
	hs=$1; shift
	rm -rf "$hs" && evspool init "$hs" || return 1
	evhttp -o "$hs" -i "$hs" -l 127.0.0.1:0 "$@" 2> "$W/evhttp.log" &
	HPID=$!
	at_exit "kill $HPID 2> /dev/null"
	i=0
	until grep -q 'listening on' "$W/evhttp.log"; do
		i=$((i + 1))
		[ $i -lt 200 ] && kill -0 $HPID 2> /dev/null || return 1
		sleep 0.05
	done
	HU="http://127.0.0.1:$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$W/evhttp.log")"
}
# the events the spool gained since the last ROW_SETUP
HTTP_SETUP="cat '$HS'/segments/*.ndjson | wc -l > '$W/http-before'"
HTTP_COUNT="echo \$((\$(cat '$HS'/segments/*.ndjson | wc -l) - \$(cat '$W/http-before')))"
hrow() {
	ROW_SETUP=$HTTP_SETUP ROW_COUNT=$HTTP_COUNT
	row "$@"
}
if ! command -v evhttp > /dev/null 2>&1; then
	skip http "evhttp is not built"
elif ! command -v curl > /dev/null 2>&1; then
	skip http "no curl"
elif ! evhttp_start "$HS"; then
	skip http "evhttp did not start: $(head -c 200 "$W/evhttp.log")"
else
	# curl's config: one POST per event, all over one kept-alive connection
	cat > "$W/curlcfg.awk" <<'EOF2'
NR > 1 { print "next" }
{
	# each backslash doubled, then each quote escaped (as POSIX awk reads
	# "&" and "\\\\&" in a replacement: mawk and gawk alike)
	gsub(/\\/, "&&"); gsub(/"/, "\\\\&")
	printf "url = \"%s\"\nheader = \"Content-Type: application/cloudevents+json\"\n", u
	printf "data-binary = \"%s\"\noutput = /dev/null\n", $0
}
EOF2
	CURLCFG="awk -v u='$HU/events' -f '$W/curlcfg.awk'"
	hrow webhook "curl -K (one process, one POST per event)" "$HTTPSLOW" \
		"$CURLCFG | curl -sf -K -"
	hrow webhook "evfilter -o http:// (one POST per event)" "$HTTPSLOW" \
		"evfilter true -o '$HU/events'"
	hrow webhook "evfilter -o 'http://#parallel=32'" "$HTTPIN" \
		"evfilter true -o '$HU/events#parallel=32'"
	hrow webhook "evfilter -o 'http://#mode=batch' (100 a POST)" "$HTTPIN" \
		"evfilter true -o '$HU/events#mode=batch'"
	SA="$W/http-direct"
	ROW_SETUP="rm -rf '$SA' && evspool init '$SA'"
	ROW_COUNT="cat '$SA'/segments/*.ndjson | wc -l"
	row http-ingest "evtail -o SPOOL (no HTTP)" "$HTTPIN" "evtail --no-follow --from-start -o '$SA'"
	rm -rf "$SA"
	hrow http-ingest "evfilter -o http:// batches of 1000, 4 at a time" "$HTTPIN" \
		"evfilter true -o '$HU/events#mode=batch&batch_size=1000&parallel=4'"
	if command -v wrk > /dev/null 2>&1; then
		head -n 1 "$EVENTS" | sed 's/\\/\\\\/g; s/"/\\"/g' > "$W/one"
		printf 'wrk.method = "POST"\nwrk.body = "%s"\nwrk.headers["Content-Type"] = "application/cloudevents+json"\n' \
			"$(cat "$W/one")" > "$W/post.lua"
		wrkrate() { wrk -t 2 -c 64 -d "${BENCH_WRK_S:-5}s" "$@" 2> /dev/null | awk '/^Requests\/sec:/ { printf "%d", $2 }'; }
		before=$(cat "$HS"/segments/*.ndjson | wc -l)
		page=$(wrkrate "$HU/")
		post=$(wrkrate -s "$W/post.lua" "$HU/events")
		got=$(($(cat "$HS"/segments/*.ndjson | wc -l) - before))
		note "http ingest (wrk -t2 -c64, keep-alive): single-event POSTs $post events/s durable ($got events in the spool), GET / (static page, the baseline) $page requests/s: ratio $(awk -v a="$post" -v b="$page" 'BEGIN { printf "%.2f", b ? a / b : 0 }')x"
	else
		note "http ingest with wrk: no wrk here (apt-get install wrk)"
	fi
	if [ -x /usr/bin/python3 ]; then
		note "SSE fan-out: $(/usr/bin/python3 "$HERE/sse-fanout.py" "$HU/events" "$HS" "$HPID" "${BENCH_SSE_CLIENTS:-1000}" 200 2>&1 | tail -n 1)"
	fi
	kill $HPID 2> /dev/null
	wait $HPID 2> /dev/null
	rm -rf "$HS"
	# evhttp watched: --prometheus and --otlp (a server span per request,
	# written to a file every 2 s) against the same server without them, 32
	# POSTs at a time, on the same events; each its own spool
	for obs in plain watched; do
		set --
		name="evhttp"
		if [ $obs = watched ]; then
			set -- --prometheus "$W/evhttp.prom" --otlp "$W/evhttp.otlp"
			name="evhttp --prometheus --otlp"
		fi
		if evhttp_start "$HS" "$@"; then
			hrow http-obs "32 POSTs at a time to $name" \
				"$HTTPIN" "evfilter true -o '$HU/events#parallel=32'"
			kill $HPID 2> /dev/null
			wait $HPID 2> /dev/null
		else
			skip http-obs "evhttp $* did not start: $(head -c 200 "$W/evhttp.log")"
		fi
		rm -rf "$HS"
	done
fi
