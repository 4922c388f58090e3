# evretry: the cost of one process per event next to xargs(1) doing the same
# (10,000 events), and events/s in co-process mode with a trivial handler.
head -n 10000 "$EVENTS" > "$W/events-10k.ndjson"
ROW_EVENTS=$(wc -l < "$W/events-10k.ndjson")
export ROW_EVENTS
row evretry-spawn "xargs -d '\n' -n1 true" "$W/events-10k.ndjson" "xargs -d '\n' -n1 true"
row evretry-spawn "evretry -o /dev/null -- true" "$W/events-10k.ndjson" "evretry -o /dev/null -- true"
row evretry-spawn "evretry -j 2 -o /dev/null -- true" "$W/events-10k.ndjson" "evretry -j 2 -o /dev/null -- true"
unset ROW_EVENTS
# The handler alone (it reads every event and answers) is the baseline.
row evretry-coproc "mawk -W interactive '{print \"ok\"}'" "$EVENTS" "mawk -W interactive '{print \"ok\"}'"
row evretry-coproc "evretry -p -o /dev/null -- mawk ..." "$EVENTS" "evretry -p -o /dev/null -- mawk -W interactive '{print \"ok\"}'"
row evretry-coproc "evretry -p -j 2 -o /dev/null -- mawk ..." "$EVENTS" "evretry -p -j 2 -o /dev/null -- mawk -W interactive '{print \"ok\"}'"
