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
# A regex (Oniguruma, as jq compiles it) and any() over an array, on the
# fast path (issue 19); grep -E finds the same events by the line's text.
REGEX_ANY='(.type | test("^order\\.(placed|paid)$")) and any(.data.items[]; .qty > 2)'
row evfilter-regex-any "jq -c 'select($REGEX_ANY)'" "$SLOW" \
	"jq -c 'select($REGEX_ANY)'"
row evfilter-regex-any "grep -E '\"type\":\"order\\.(placed|paid)\".*\"qty\":([3-9]|[1-9][0-9]+)[,}]'" \
	"$EVENTS" "grep -E '\"type\":\"order\\.(placed|paid)\".*\"qty\":([3-9]|[1-9][0-9]+)[,}]'"
row evfilter-regex-any "evfilter '$REGEX_ANY'" "$EVENTS" "evfilter '$REGEX_ANY'"
# Arithmetic, on the fast path since issue 19.
row evfilter-arith "jq -c 'select((.data.amount // 0) * 1.2 > 600)'" "$SLOW" \
	"jq -c 'select((.data.amount // 0) * 1.2 > 600)'"
row evfilter-arith "evfilter '(.data.amount // 0) * 1.2 > 600'" "$EVENTS" \
	"evfilter '(.data.amount // 0) * 1.2 > 600'"
# Not on the fast path (map, add): evfilter runs libjq, on as many events as jq.
row evfilter-libjq "jq -c 'select((.data.items // []) | map(.qty) | add > 6)'" "$SLOW" \
	"jq -c 'select((.data.items // []) | map(.qty) | add > 6)'"
row evfilter-libjq "evfilter '(.data.items // []) | map(.qty) | add > 6'" "$SLOW" \
	"evfilter '(.data.items // []) | map(.qty) | add > 6'"
# `true` reads no field: evfilter -c true is the scanner's validation of each
# line alone, next to jq checking the same lines.
row validate "jq -c ." "$SLOW" "jq -c ."
ROW_COUNT='cat "$OUT"'
row validate "evfilter -c true (the validating scan alone)" "$EVENTS" "evfilter -c true"
