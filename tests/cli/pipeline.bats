#!/usr/bin/env bats
# evemit | evfilter: the two tools together.
load helpers

@test "events made by evemit are selected by evfilter on their data" {
	for a in 5 120 300 40; do evemit order.placed amount:=$a customer.name=c$a; done > "$T/orders"
	run evfilter '.type == "order.placed" and .data.amount > 100' "$T/orders"
	[ "$status" -eq 0 ]
	[ "$(jq -r .data.customer.name <<< "$output")" = "$(printf 'c120\nc300')" ]
}

@test "evemit -l | evfilter --map: lines in, transformed data out" {
	run sh -c "printf '%s\n' '{\"n\":1}' '{\"n\":2}' '{\"n\":3}' | evemit -l num | evfilter -m 'select(.data.n % 2 == 1) | .data.n * 10'"
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '10\n30')" ]
}

@test "evemit --csv | evfilter -c with --argjson" {
	printf 'sku,qty\na,1\nb,5\nc,9\n' > "$T/stock.csv"
	run sh -c "evemit --csv stock.level -i '$T/stock.csv' | evfilter -c --argjson min 4 '.data.qty >= \$min'"
	[ "$output" = 2 ]
}

@test "evemit -f completes events that evfilter then routes by type" {
	run sh -c "printf '%s\n' '{\"type\":\"a\"}' '{\"type\":\"b\"}' '{}' | evemit -f dflt | evfilter -v '.type == \"a\"' | evfilter -m .type"
	[ "$output" = "$(printf '"b"\n"dflt"')" ]
}
