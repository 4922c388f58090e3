#!/bin/sh
# SPDX-License-Identifier: ISC
# Events {"k":"KEY","seq":N} on stdin, one (spawn mode) or many (co-process
# mode, with ANSWER=1: answers "ok" to each): logs "S KEY N" at the start
# and "E KEY N" at the end to $LOG, with a short sleep between for one event
# in ten, and a longer one (${FIRST:-0.3} s) for the first twenty, so that
# even on a busy machine every job slot fills (the -j / --key tests: order
# per key, parallelism).
while IFS= read -r line; do
	k=${line#*\"k\":\"}; k=${k%%\"*}
	s=${line#*\"seq\":}; s=${s%%[,\}]*}
	echo "S $k $s" >> "$LOG"
	if [ "$s" -le 20 ]; then
		sleep "${FIRST:-0.3}"
	elif [ $((s % 10)) -eq 0 ]; then
		sleep 0.00$((s % 7 + 1))
	fi
	echo "E $k $s" >> "$LOG"
	[ -z "$ANSWER" ] || echo ok
done
