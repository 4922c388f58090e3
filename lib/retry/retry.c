/* SPDX-License-Identifier: ISC */
/* retry.c — backoff ("exponential backoff and jitter", full jitter by
 * default), the start-rate limit, and retryable exit statuses. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/time.h"
#include "retry/retry.h"

static int seeded;

void
ev_retry_seed(unsigned seed)
{
	srandom(seed);
	seeded = 1;
}

/* Uniform in [0, n]. random() gives 31 bits; two calls cover any delay. */
static int64_t
uniform(int64_t n)
{
	if (!seeded) {
		unsigned seed;
		if (getentropy(&seed, sizeof seed) < 0)
			seed = (unsigned)getpid() ^ (unsigned)ev_mono_ms();
		ev_retry_seed(seed);
	}
	uint64_t r = (uint64_t)random() << 31 | (uint64_t)random();
	return (int64_t)(r % ((uint64_t)n + 1));
}

int64_t
ev_retry_backoff(int64_t base, int64_t cap, int n, enum ev_jitter j)
{
	int64_t d = base;

	for (int i = 1; i < n && d < cap; i++)
		d = d > INT64_MAX / 2 ? INT64_MAX : d * 2;
	if (d > cap)
		d = cap;
	if (d <= 0)
		return 0;
	switch (j) {
	case EV_JITTER_FULL:
		return uniform(d);
	case EV_JITTER_EQUAL:
		return d - d / 2 + uniform(d / 2);
	default:
		return d;
	}
}

int
ev_retry_parsebackoff(const char *s, int64_t *base, int64_t *cap)
{
	const char *comma = strchr(s, ',');
	char tmp[64];

	if (!comma) {
		if (ev_dur_parse(s, base) < 0)
			return -1;
		*cap = *base > 300000 ? *base : 300000;
		return 0;
	}
	if ((size_t)(comma - s) >= sizeof tmp)
		return -1;
	memcpy(tmp, s, (size_t)(comma - s));
	tmp[comma - s] = '\0';
	if (ev_dur_parse(tmp, base) < 0 || ev_dur_parse(comma + 1, cap) < 0 || *cap < *base)
		return -1;
	return 0;
}

int
ev_retry_parsejitter(const char *s, enum ev_jitter *j)
{
	if (strcmp(s, "full") == 0)
		*j = EV_JITTER_FULL;
	else if (strcmp(s, "equal") == 0)
		*j = EV_JITTER_EQUAL;
	else if (strcmp(s, "none") == 0)
		*j = EV_JITTER_NONE;
	else
		return -1;
	return 0;
}

static int
code(const char **s)
{
	int n = 0, digits = 0;

	for (; isdigit((unsigned char)**s); (*s)++, digits++)
		if ((n = n * 10 + (**s - '0')) > 255)
			return -1;
	return digits ? n : -1;
}

int
ev_retry_parsecodes(const char *s, unsigned char set[256])
{
	memset(set, 0, 256);
	for (;;) {
		int lo = code(&s), hi = lo;
		if (lo < 0)
			return -1;
		if (*s == '-') {
			s++;
			if ((hi = code(&s)) < lo)
				return -1;
		}
		for (int c = lo; c <= hi; c++)
			set[c] = 1;
		if (!*s)
			return 0;
		if (*s++ != ',')
			return -1;
	}
}

int
ev_retry_parserate(const char *s, struct ev_rate *r)
{
	char *end, unit[64];
	long n = strtol(s, &end, 10);
	int64_t per;

	if (end == s || !isdigit((unsigned char)*s) || *end != '/' || n <= 0)
		return -1;
	end++;
	/* "100/s" means per one second: a bare unit is one of it. */
	if (strlen(end) + 2 > sizeof unit)
		return -1;
	if (isalpha((unsigned char)*end)) {
		unit[0] = '1';
		strcpy(unit + 1, end);
	} else {
		strcpy(unit, end);
	}
	if (ev_dur_parse(unit, &per) < 0 || per <= 0)
		return -1;
	r->interval_us = per * 1000 / n;
	if (r->interval_us <= 0)
		r->interval_us = 1;
	r->next_us = 0;
	return 0;
}

int64_t
ev_retry_ratetake(struct ev_rate *r, int64_t now_us)
{
	if (r->interval_us <= 0)
		return 0;
	if (now_us < r->next_us)
		return r->next_us - now_us;
	/* After an idle spell the limit starts afresh rather than bursting. */
	r->next_us = (r->next_us + r->interval_us > now_us ? r->next_us : now_us) + r->interval_us;
	return 0;
}
