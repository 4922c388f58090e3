#!/bin/sh
# One event {"k":"KEY","seq":N} on stdin: logs "S KEY N" at the start and
# "E KEY N" at the end to $LOG, with a short sleep between for one event in
# ten, and a longer one for the first twenty, so that even on a busy machine
# every job slot fills (the -j / --key test: order per key, parallelism).
IFS= read -r line
k=${line#*\"k\":\"}; k=${k%%\"*}
s=${line#*\"seq\":}; s=${s%%[,\}]*}
echo "S $k $s" >> "$LOG"
if [ "$s" -le 20 ]; then
	sleep 0.3
elif [ $((s % 10)) -eq 0 ]; then
	sleep 0.00$((s % 7 + 1))
fi
echo "E $k $s" >> "$LOG"
