# SPDX-License-Identifier: ISC
# Consumer groups: 1, 2 and 4 `evretry -p --group` members sharing one spool
# of $N events (the group of one is the baseline: the ratio is what
# coordination costs or gains); how soon a SIGKILLed member's claim reaches
# another member; and how long evspool stat takes on spools of N and 10N
# events with a group that has read none of them (BENCH_STAT_BIG=0 skips
# the big one): it must not grow with the events. Then the same group with
# key affinity (--key: 1, 2 and 4 members), and the reading side of work
# queues against one plain spool: two spools read at once, fairly and with
# --priority, and --hold on a spool where nothing is delayed.
GS="$W/group-spool"
if evspool init "$GS" && evtail --no-follow --from-start -o "$GS" < "$EVENTS"; then
	for k in 1 2 4; do
		ROW_SETUP="rm -rf '$GS/groups' '$W'/group-out.*"
		ROW_COUNT="cat '$W'/group-out.* | wc -l"
		row group-evretry "evretry -p --group: $k member$([ $k = 1 ] || echo s)" "$EVENTS" \
			"for i in \$(seq $k); do evretry -q -p --group g -i '$GS' --no-follow \
-o '$W/group-out.'\$i -- mawk -W interactive '{print \"ok\"}' & done; wait"
	done
	for k in 1 2 4; do
		ROW_SETUP="rm -rf '$GS/groups' '$GS'/cursors/g@* '$GS'/cursors/.g@* '$W'/group-out.*"
		ROW_COUNT="cat '$W'/group-out.* | wc -l"
		row group-evretry "evretry -p --group --key .id: $k member$([ $k = 1 ] || echo s)" \
			"$EVENTS" "for i in \$(seq $k); do evretry -q -p --group g --key .id -i '$GS' \
--no-follow -o '$W/group-out.'\$i -- mawk -W interactive '{print \"ok\"}' & done; wait"
	done
else
	skip group-evretry "cannot fill a spool with evtail -o"
fi
rm -rf "$GS" "$W"/group-out.*

# Fan-in: the events in one spool, or split over two read at once.
FA="$W/fanin-a" FB="$W/fanin-b" F1="$W/fanin-one"
half=$((N / 2))
if evspool init "$F1" && evspool init "$FA" && evspool init "$FB" &&
    evtail --no-follow --from-start -o "$F1" < "$EVENTS" &&
    head -n "$half" "$EVENTS" | evtail --no-follow --from-start -o "$FA" &&
    tail -n +"$((half + 1))" "$EVENTS" | evtail --no-follow --from-start -o "$FB"; then
	ROW_SETUP="rm -f '$F1'/cursors/*"
	row fanin "evfilter --cursor (one spool)" "$EVENTS" "evfilter --no-follow --cursor c true '$F1'"
	ROW_SETUP="rm -f '$FA'/cursors/* '$FB'/cursors/*"
	row fanin "evfilter --cursor -i a -i b (fair)" "$EVENTS" \
		"evfilter --no-follow --cursor c -i '$FA' -i '$FB' true"
	ROW_SETUP="rm -f '$FA'/cursors/* '$FB'/cursors/*"
	row fanin "evfilter --cursor --priority -i a -i b" "$EVENTS" \
		"evfilter --no-follow --cursor c --priority -i '$FA' -i '$FB' true"
	ROW_SETUP="rm -f '$F1'/cursors/* '$F1'/cursors/.c.*"
	row fanin "evfilter --cursor --hold --expired (nothing due later)" "$EVENTS" \
		"evfilter --no-follow --cursor c --hold --expired true '$F1'"
else
	skip fanin "cannot fill the spools with evtail -o"
fi
rm -rf "$F1" "$FA" "$FB"

# Redelivery: one member hangs on an event, a second one waits; the first
# is SIGKILLed; the time until the second has written the event out.
now_ms() { date +%s%3N; }
redeliver_ms() {
	d="$W/redeliver"
	rm -rf "$d" && mkdir "$d" && evspool init "$d/s" || return 1
	echo '{"id":"1"}' | evfilter true -o "$d/s"
	D=$d evretry -q --group g -i "$d/s" -o /dev/null -- sh -c 'echo $$ > "$D/hang"; exec sleep 60' &
	first=$!
	i=0
	until [ -s "$d/hang" ]; do
		i=$((i + 1))
		[ $i -lt 5000 ] || { kill "$first"; wait "$first"; return 1; }
		sleep 0.002
	done
	evtail -q --group g -o "$d/out.ndjson" "$d/s" &
	second=$!
	sleep 0.2 # the second member is waiting
	t0=$(now_ms)
	kill -9 "$first" "$(cat "$d/hang")"
	i=0
	until [ -s "$d/out.ndjson" ]; do i=$((i + 1)); [ $i -lt 5000 ] || break; sleep 0.001; done
	t1=$(now_ms)
	kill "$second"
	wait "$first" "$second" 2>/dev/null
	[ -s "$d/out.ndjson" ] && echo $((t1 - t0))
}
lat=""
for run in 1 2 3 4 5; do
	v=$(redeliver_ms) && lat="$lat $v"
done
if [ -n "$lat" ]; then
	note "group: a SIGKILLed member's claim written out by another member after (ms, 5 runs):$lat"
else
	skip group-redelivery "the redelivery measurement did not complete"
fi

# evspool stat on N and 10N events.
stat_ms() {
	t0=$(now_ms)
	evspool stat "$1" > /dev/null || return 1
	echo $(($(now_ms) - t0))
}
SS="$W/stat-spool"
# (the group joins the empty spool: it has read none of the events)
if evspool init "$SS" && evtail -q --no-follow --group g "$SS" &&
    evtail --no-follow --from-start -o "$SS" < "$EVENTS"; then
	# the first stat after a write counts the events of each new sealed
	# segment once and keeps the count beside it (segments/.BASE.count);
	# the next ones read those counts
	a=$(stat_ms "$SS")/$(stat_ms "$SS")
	b=""
	if [ "${BENCH_STAT_BIG:-1}" != 0 ]; then
		for k in 2 3 4 5 6 7 8 9 10; do evtail --no-follow --from-start -o "$SS" < "$EVENTS"; done
		b=$(stat_ms "$SS")/$(stat_ms "$SS")
	fi
	note "evspool stat with a group at 0 (first/again): $a ms on $N events${b:+, $b ms on $((N * 10)) events}"
fi
rm -rf "$SS" "$W/redeliver"
