# evemit against jq making the same envelopes around each input line.
row evemit "jq -c '{specversion:\"1.0\", id:..., data:.}'" "$EVENTS" \
	"jq -c '{specversion: \"1.0\", id: \"b-\\(input_line_number)\", source: \"/bench\", type: \"order.placed\", time: (now | todate), data: .}'"
row evemit "evemit -l -s /bench order.placed" "$EVENTS" "evemit -l -s /bench order.placed"
row evemit "evemit -f (events already complete)" "$EVENTS" "evemit -f"
