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
rm -rf "$R"
