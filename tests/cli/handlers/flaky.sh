#!/bin/sh
# SPDX-License-Identifier: ISC
# Fails (exit 75) on attempts 1 and 2, succeeds on the third; logs the
# attempt number and the time in ms of each start to $LOG.
echo "$EVKIT_ATTEMPT $(date +%s%3N)" >> "$LOG"
[ "$EVKIT_ATTEMPT" -ge 3 ] || exit 75
