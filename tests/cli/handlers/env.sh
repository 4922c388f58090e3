#!/bin/sh
# SPDX-License-Identifier: ISC
# Prints what evretry tells a handler, and the event it was given.
printf '%s|%s|%s|%s|' "$EVKIT_EVENT_ID" "$EVKIT_EVENT_TYPE" "$EVKIT_ATTEMPT" "${EVKIT_DEADLINE-unset}"
cat
