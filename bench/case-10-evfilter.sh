# SPDX-License-Identifier: ISC
# evfilter against jq and grep: one group for each expression, each against
# `jq -c 'select(...)'` (on $SLOW_N events: jq is slow; the ratio compares
# events/s). grep -cF finds the same events by a fixed string, the fastest a
# line filter can go; it counts (-c) so that writing the output does not
# dominate, and evfilter -c does the same next to it.
row evfilter-type "jq -c 'select(.type == \"order.placed\")'" "$SLOW" \
	"jq -c 'select(.type == \"order.placed\")'"
ROW_COUNT='cat "$OUT"'
row evfilter-type "grep -cF '\"type\":\"order.placed\"'" "$EVENTS" \
	"grep -cF '\"type\":\"order.placed\"'"
ROW_COUNT='cat "$OUT"'
row evfilter-type "evfilter -c '.type == \"order.placed\"'" "$EVENTS" \
	"evfilter -c '.type == \"order.placed\"'"
row evfilter-type "evfilter '.type == \"order.placed\"'" "$EVENTS" \
	"evfilter '.type == \"order.placed\"'"
row evfilter-amount "jq -c 'select(.data.amount > 500 and .type != \"x\")'" "$SLOW" \
	"jq -c 'select(.data.amount > 500 and .type != \"x\")'"
row evfilter-amount "evfilter '.data.amount > 500 and .type != \"x\"'" "$EVENTS" \
	"evfilter '.data.amount > 500 and .type != \"x\"'"
# Arithmetic is not on the fast path: evfilter runs libjq, on as many events
# as jq.
row evfilter-libjq "jq -c 'select((.data.amount // 0) * 1.2 > 600)'" "$SLOW" \
	"jq -c 'select((.data.amount // 0) * 1.2 > 600)'"
row evfilter-libjq "evfilter '(.data.amount // 0) * 1.2 > 600'" "$SLOW" \
	"evfilter '(.data.amount // 0) * 1.2 > 600'"
# `true` reads no field: evfilter -c true is the scanner's validation of each
# line alone, next to jq checking the same lines.
row validate "jq -c ." "$SLOW" "jq -c ."
ROW_COUNT='cat "$OUT"'
row validate "evfilter -c true (the validating scan alone)" "$EVENTS" "evfilter -c true"
