#!/bin/sh
# One event {"k":"KEY","seq":N} on stdin: logs "S KEY N" at the start and
# "E KEY N" at the end to $LOG, with a short sleep between for one event in
# ten (the -j / --key test: order per key, parallelism reached).
IFS= read -r line
k=${line#*\"k\":\"}; k=${k%%\"*}
s=${line#*\"seq\":}; s=${s%%[,\}]*}
echo "S $k $s" >> "$LOG"
[ $((s % 10)) -eq 0 ] && sleep 0.0$((s % 4 + 2))
echo "E $k $s" >> "$LOG"
