# SPDX-License-Identifier: ISC
# evdedupe on $DUPS (10% duplicates) with a 10,000,000-key window, next to
# awk '!seen[$1]++' on the ids alone ($IDS, extracted before the clock starts).
row evdedupe "awk '!seen[\$1]++' (on the ids only)" "$IDS" "awk '!seen[\$1]++'"
row evdedupe "evdedupe -n 10000000" "$DUPS" "evdedupe -n 10000000"
row evdedupe "evdedupe -n 10000000 -w 24h" "$DUPS" "evdedupe -n 10000000 -w 24h"
ROW_SETUP="rm -f '$W/dedupe.keys'"
row evdedupe "evdedupe -n 10000000 --state (fresh)" "$DUPS" \
	"evdedupe -n 10000000 --state '$W/dedupe.keys'"
rm -f "$W/dedupe.keys"
