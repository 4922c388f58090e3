# evfilter against jq and grep on the same events.
row evfilter "jq -c 'select(.type == \"order.placed\")'" "$EVENTS" "jq -c 'select(.type == \"order.placed\")'"
row evfilter "grep -F '\"type\":\"order.placed\"'" "$EVENTS" "grep -F '\"type\":\"order.placed\"'"
row evfilter "evfilter '.type == \"order.placed\"'" "$EVENTS" "evfilter '.type == \"order.placed\"'"
row evfilter "evfilter '.data.amount > 500 and .type != \"x\"'" "$EVENTS" "evfilter '.data.amount > 500 and .type != \"x\"'"
