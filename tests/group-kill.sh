#!/bin/sh
# SPDX-License-Identifier: ISC
# group-kill.sh DIR EVENTS KILLS [MEMBERS]: a consumer group under random
# SIGKILLs. MEMBERS (default 4) evfilter processes share a spool of EVENTS
# events through --group; every so often one of them, at random, is killed
# with SIGKILL and started again, KILLS times in all, while more events are
# appended. Then the survivors drain the rest. Checks, and prints one line
# of counts: every event finished at least once, none lost, and every
# repeat carries evdeliveries (it was redelivered after a member died
# holding it). The tools come from PATH. Exit 0 when all holds.
set -eu
dir=$1 n=$2 kills=$3 members=${4:-4}
mkdir -p "$dir"
cd "$dir"
rm -rf s out && mkdir out
evspool init s
half=$((n / 2))
awk -v n="$half" 'BEGIN { for (i = 0; i < n; i++) printf "{\"n\":%d}\n", i }' | evfilter true -o s

start() { # slot generation
	evfilter --group g -o "out/$1.$2" true s 2>>err &
	eval "pid_$1=\$!"
}
for m in $(seq 1 "$members"); do start "$m" 0; done
gen=0 k=0 appended=$half
while [ "$k" -lt "$kills" ]; do
	# a pause of 20-120 ms, then a random member dies
	sleep "0.$(awk -v s="$k$$" 'BEGIN { srand(s); printf "%03d", 20 + int(rand() * 100) }')"
	m=$(awk -v s="$k$$" -v m="$members" 'BEGIN { srand(s + 7); print 1 + int(rand() * m) }')
	eval "p=\$pid_$m"
	kill -9 "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
	k=$((k + 1)) gen=$((gen + 1))
	start "$m" "$gen"
	if [ "$appended" -lt "$n" ]; then
		step=$(( (n - half) / kills + 1 ))
		[ $((appended + step)) -gt "$n" ] && step=$((n - appended))
		awk -v f="$appended" -v c="$step" 'BEGIN { for (i = f; i < f + c; i++) printf "{\"n\":%d}\n", i }' |
			evfilter true -o s
		appended=$((appended + step))
	fi
done
if [ "$appended" -lt "$n" ]; then
	awk -v f="$appended" -v n="$n" 'BEGIN { for (i = f; i < n; i++) printf "{\"n\":%d}\n", i }' |
		evfilter true -o s
fi
# The survivors finish everything: the group's low-water mark reaches the end.
end=$(cat s/segments/*.ndjson | wc -c)
t=0
until grep -qx "low $end" s/groups/g/state; do
	t=$((t + 1))
	if [ "$t" -gt 3000 ]; then
		echo "group-kill: timed out: $(grep low s/groups/g/state), end $end" >&2
		exit 1
	fi
	sleep 0.02
done
for m in $(seq 1 "$members"); do eval "kill -TERM \$pid_$m"; done
wait 2>/dev/null || true
# Complete lines only: a member killed in the middle of a write left a torn one.
for f in out/*; do awk '{ print }' RS='\n' "$f" | sed -n '/}$/p'; done > all
awk -v n="$n" -v kills="$kills" '
	{ match($0, /"n":[0-9]+/); i = substr($0, RSTART + 4, RLENGTH - 4) + 0
	  seen[i]++; if ($0 ~ /"evdeliveries":/) { if (!(i in marked)) nm++; marked[i]++ } total++ }
	END {
		lost = 0; dups = 0; unmarked = 0
		for (i = 0; i < n; i++) {
			if (!(i in seen)) { lost++; continue }
			if (seen[i] > 1) { dups += seen[i] - 1; if (marked[i] < seen[i] - 1) unmarked++ }
		}
		printf "events %d, kills %d, delivered %d, lost %d, duplicates %d, redelivered-marked %d, unmarked duplicates %d\n", n, kills, total, lost, dups, nm + 0, unmarked
		exit (lost || unmarked) ? 1 : 0
	}' all
