#!/bin/sh
# SPDX-License-Identifier: ISC
# A co-process handler: answers "ok", or "retry" for about one event in
# four (a pseudo-random pick), and crashes without answering on its
# ${CRASH:-0}th event (0: never).
n=0 x=${SEED:-7}
while IFS= read -r line; do
	n=$((n + 1))
	[ "$n" -eq "${CRASH:-0}" ] && kill -9 $$
	x=$(( (x * 1103515245 + 12345) % 2147483648 ))
	if [ $((x / 65536 % 4)) -eq 0 ]; then
		echo "retry busy"
	else
		echo ok
	fi
done
