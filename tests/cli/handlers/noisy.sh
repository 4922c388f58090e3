#!/bin/sh
# SPDX-License-Identifier: ISC
# Writes $1 lines to stderr, then fails for good.
i=1
while [ "$i" -le "$1" ]; do
	echo "line $i of the handler's complaint" >&2
	i=$((i + 1))
done
exit 1
