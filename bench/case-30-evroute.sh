# SPDX-License-Identifier: ISC
# evroute: 10 type-pattern rules over 5 destinations (spools when evspool is
# there, else files), against the same routing in awk. Each run starts from
# empty destinations, made before the clock starts; the check counts the
# events in each destination.
R="$W/evroute"
if command -v evspool > /dev/null 2>&1; then
	ROUTE_FRESH="rm -rf '$R' && mkdir -p '$R' && for s in A B C D E; do evspool init '$R'/\$s || exit; done"
	ROUTE_COUNT="for s in A B C D E; do cat '$R'/\$s/segments/*.ndjson | wc -l; done"
	ROUTE_KIND=spools
else
	ROUTE_FRESH="rm -rf '$R' && mkdir -p '$R'"
	ROUTE_COUNT="for s in A B C D E; do wc -l < '$R'/\$s; done"
	ROUTE_KIND=files
fi
ROUTE_RULES="'order.* > $R/A' 'payment.failed > $R/A' 'payment.# > $R/B' 'order.paid > $R/B' \
'#.delivered > $R/C' 'shipment.* > $R/C' 'user.# > $R/D' 'cart.abandoned > $R/D' \
'#.low_stock > $R/D' 'inventory.* > $R/E'"
ROW_SETUP="rm -rf '$R' && mkdir -p '$R'"
ROW_COUNT="for s in A B C D E; do wc -l < '$R'/\$s; done"
row evroute "awk: the same routing into 5 files" "$EVENTS" "mawk '
	{ match(\$0, /\"type\":\"[^\"]*\"/); t = substr(\$0, RSTART + 8, RLENGTH - 9) }
	t ~ /^order\\.[^.]*\$/ || t == \"payment.failed\" { print > \"$R/A\" }
	t ~ /^payment(\\..*)?\$/ || t == \"order.paid\" { print > \"$R/B\" }
	t ~ /(^|\\.)delivered\$/ || t ~ /^shipment\\.[^.]*\$/ { print > \"$R/C\" }
	t ~ /^user(\\..*)?\$/ || t == \"cart.abandoned\" || t ~ /(^|\\.)low_stock\$/ { print > \"$R/D\" }
	t ~ /^inventory\\.[^.]*\$/ { print > \"$R/E\" }'"
ROW_SETUP=$ROUTE_FRESH ROW_COUNT=$ROUTE_COUNT
row evroute "evroute: 10 type rules, 5 $ROUTE_KIND" "$EVENTS" "evroute $ROUTE_RULES"
ROW_SETUP=$ROUTE_FRESH ROW_COUNT=$ROUTE_COUNT
row evroute "evroute --sync=none: 10 type rules, 5 $ROUTE_KIND" "$EVENTS" \
	"evroute --sync=none $ROUTE_RULES"

# evroute's cost per rule: N rules no event matches (type patterns with '*'
# and '#', or fast-path jq rules), then '# > A', which every event matches;
# each run starts the process, so jq rules' start-up is in the time. The
# baseline is awk reading each event's type and writing every event to one
# file: what the rules do, without their cost.
route_types() { # N FILE: N-1 type rules that match nothing, then '# > A'
	awk -v n="$1" -v r="$R" 'BEGIN {
		for (i = 1; i < n; i++) {
			k = i % 4
			if (k == 0) printf "tenant%d.order.* > %s/B.ndjson\n", i, r
			else if (k == 1) printf "#.step%d > %s/B.ndjson\n", i, r
			else if (k == 2) printf "region%d.# > %s/B.ndjson\n", i, r
			else printf "order.*.v%d.# > %s/B.ndjson\n", i, r
		}
		printf "# > %s/A.ndjson\n", r
	}' > "$2"
}
route_jq() { # N FILE: N jq rules of the fast path's shape that match nothing, then '# > A'
	awk -v n="$1" -v r="$R" 'BEGIN {
		for (i = 1; i <= n; i++) {
			k = i % 4
			if (k == 0) printf ".data.amount == -%d > %s/B.ndjson\n", i, r
			else if (k == 1) printf ".source == \"nowhere/%d\" > %s/B.ndjson\n", i, r
			else if (k == 2) printf ".data.customer.tier == \"t%d\" > %s/B.ndjson\n", i, r
			else printf "select(.subject == \"x/%d\") > %s/B.ndjson\n", i, r
		}
		printf "# > %s/A.ndjson\n", r
	}' > "$2"
}
RR="$W/evroute-rules"
mkdir -p "$RR"
for n in 1 10 100 1000; do route_types "$n" "$RR/types-$n"; done
route_jq 100 "$RR/jq-100"
ROW_SETUP="rm -rf '$R' && mkdir -p '$R'" ROW_COUNT="wc -l < '$R/A.ndjson'"
row evroute-rules "awk: every event's type read, all to 1 file" "$EVENTS" "mawk '
	{ match(\$0, /\"type\":\"[^\"]*\"/); t = substr(\$0, RSTART + 8, RLENGTH - 9) }
	t != \"\" || 1 { print > \"$R/A.ndjson\" }'"
for n in 1 10 100 1000; do
	ROW_SETUP="rm -rf '$R' && mkdir -p '$R'" ROW_COUNT="wc -l < '$R/A.ndjson'"
	row evroute-rules "evroute -f: $n type rules ('*', '#'), 1 matches" "$EVENTS" \
		"evroute -f '$RR/types-$n'"
done
ROW_SETUP="rm -rf '$R' && mkdir -p '$R'" ROW_COUNT="wc -l < '$R/A.ndjson'"
row evroute-rules "evroute -f: 100 fast-path jq rules + '# > A'" "$EVENTS" \
	"evroute -f '$RR/jq-100'"
rm -rf "$R" "$RR"
