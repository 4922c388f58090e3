/* SPDX-License-Identifier: ISC */
/* time.h — durations ("500ms", "30s", "5m", "2h", "7d", "1h30m") and RFC 3339 times. */
#ifndef EV_TIME_H
#define EV_TIME_H
#include <stddef.h>
#include <stdint.h>

/* Milliseconds; -1 on a malformed or out-of-range duration. A bare number is seconds. */
int ev_dur_parse(const char *s, int64_t *ms);
/* RFC 3339 date-time ("2026-11-23T10:00:00.123Z", "...+01:00") to Unix ms. */
int ev_time_parse(const char *s, size_t n, int64_t *ms);
/* "2026-11-23T10:00:00.123Z" (24 bytes and NUL); returns 24. */
size_t ev_time_format(int64_t ms, char buf[32]);
/* A point in time: RFC 3339, or a duration meaning that long before now. */
int ev_when_parse(const char *s, int64_t now, int64_t *ms);
/* A duration for messages: "1.5 s", "60 s". */
void ev_dur_format(int64_t ms, char *buf, size_t n);
/* The next wait of an exponential backoff: *delay (ms) with jitter, 75% to
 * 125% of it so that clients do not come back in step (seed: a number that
 * changes, such as the clock); *delay then doubles, up to max. */
int64_t ev_backoff_next(int64_t *delay, int64_t max, int64_t seed);
int64_t ev_now_ms(void);   /* wall clock */
int64_t ev_mono_ms(void);  /* monotonic clock, for timeouts */

#endif
