/* SPDX-License-Identifier: ISC */
/* retry.h — retry policy: exponential backoff with jitter, a rate limit,
 * and the set of exit statuses that mean "try again". */
#ifndef EV_RETRY_H
#define EV_RETRY_H
#include <stdint.h>

enum ev_jitter {
	EV_JITTER_FULL,  /* uniform in [0, d] (the default) */
	EV_JITTER_EQUAL, /* uniform in [d/2, d] */
	EV_JITTER_NONE   /* d */
};

/* The pause after the n-th failed attempt (n >= 1): d = base * 2^(n-1),
 * at most cap, then jittered. Milliseconds. */
int64_t ev_retry_backoff(int64_t base, int64_t cap, int n, enum ev_jitter j);
/* Seed the jitter (done once from the system's entropy; tests fix it). */
void ev_retry_seed(unsigned seed);
/* "1s,5m" (base and cap) or "1s" (cap 5m, or base if larger). 0, or -1. */
int ev_retry_parsebackoff(const char *s, int64_t *base, int64_t *cap);
/* "full", "equal" or "none". 0, or -1. */
int ev_retry_parsejitter(const char *s, enum ev_jitter *j);

/* "75,111,3-5": exit statuses 0-255 as a set. 0, or -1 on a bad list. */
int ev_retry_parsecodes(const char *s, unsigned char set[256]);

/* A start-rate limit: "100/s", "5/m", "1/2s", "10/1h" (N per duration). */
struct ev_rate {
	int64_t interval_us; /* between two starts; 0: no limit */
	int64_t next_us;     /* the earliest next start, monotonic */
};
int ev_retry_parserate(const char *s, struct ev_rate *r);
/* 0 when a start may happen at now_us (and it is counted), else the
 * microseconds to wait. Starts are spread evenly: no bursts. */
int64_t ev_retry_ratetake(struct ev_rate *r, int64_t now_us);

#endif
