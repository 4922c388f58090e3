#!/bin/sh
# SPDX-License-Identifier: ISC
# An evretry(1) co-process handler: appends each order's id and total to
# totals.txt. It answers "fail" for an order without priced items (it will
# never have them) and "retry" when the file cannot be written (it may be
# writable later).
while IFS= read -r event; do
	if ! line=$(printf '%s\n' "$event" |
	    jq -er '.id as $id | [.data.items[].price] | add // empty | "\($id) \(.)"' 2>/dev/null)
	then
		echo "fail no priced items"
	elif printf '%s\n' "$line" >> totals.txt; then
		echo ok
	else
		echo "retry cannot write totals.txt"
	fi
done
