# SPDX-License-Identifier: ISC
# evemit wrapping lines into events (-l: each line is the data; -f: the lines
# are events already, checked and completed) against jq doing the same with
# a template, and evemit making one event per process, as a shell script
# does, against `jq -nc` (on fewer events: jq takes tens of milliseconds to
# start).
row evemit-lines "jq -c '{specversion:\"1.0\", id:..., data:.}'" "$SLOW" \
	"jq -c '{specversion: \"1.0\", id: \"b-\\(input_line_number)\", source: \"/bench\", type: \"order.placed\", time: (now | todate), data: .}'"
row evemit-lines "evemit -l -s /bench order.placed" "$EVENTS" "evemit -l -s /bench order.placed"
row evemit-lines "evemit -f (events already complete)" "$EVENTS" "evemit -f"
seq 1 "$SPAWN_N" > "$W/seq.txt"
row evemit-one "xargs -I{} jq -nc --arg n {} '{...}'" "$(head_of $((SPAWN_N / 5)) "$W/seq.txt")" \
	"xargs -I{} jq -nc --arg n {} '{specversion: \"1.0\", id: \$n, source: \"/bench\", type: \"order.placed\", time: (now | todate), data: {n: \$n}}'"
row evemit-one "xargs -I{} evemit -s /bench order.placed n={}" "$W/seq.txt" \
	"xargs -I{} evemit -s /bench order.placed n={}"
