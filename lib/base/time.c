/* SPDX-License-Identifier: ISC */
/* time.c — durations and RFC 3339 times, shared so that every tool reads "5m" alike. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/time.h"

int
ev_dur_parse(const char *s, int64_t *ms)
{
	static const struct { const char *u; int64_t ms; } units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
		{ "d", 86400000 }, { "w", 604800000 },
	};
	int64_t total = 0;
	int parts = 0;

	if (!*s)
		return -1;
	while (*s) {
		int64_t n = 0, frac = 0, fdiv = 1;
		int digits = 0;
		size_t ul, best = 0;
		int64_t mul = -1;

		for (; isdigit((unsigned char)*s); s++, digits++) {
			if (n > (INT64_MAX - 9) / 10)
				return -1;
			n = n * 10 + (*s - '0');
		}
		if (*s == '.') {
			for (s++; isdigit((unsigned char)*s); s++, digits++)
				if (fdiv < 1000000) {
					frac = frac * 10 + (*s - '0');
					fdiv *= 10;
				}
		}
		if (!digits)
			return -1;
		for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
			ul = strlen(units[i].u);
			if (strncmp(s, units[i].u, ul) == 0 && ul > best &&
			    !isalpha((unsigned char)s[ul])) {
				best = ul;
				mul = units[i].ms;
			}
		}
		if (mul < 0) {
			if (*s || parts)
				return -1;
			mul = 1000; /* a bare number is seconds, as systemd reads it */
		}
		s += best;
		if (n > INT64_MAX / mul)
			return -1;
		n = n * mul + frac * mul / fdiv;
		if (total > INT64_MAX - n)
			return -1;
		total += n;
		parts++;
	}
	*ms = total;
	return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int
num(const char *s, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

int
ev_time_parse(const char *s, size_t n, int64_t *ms)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int Y, M, D, h, m, sec, oh = 0, om = 0;
	int64_t frac = 0;
	size_t i = 19;

	if (n < 20 || num(s, 4, &Y) || s[4] != '-' || num(s + 5, 2, &M) || s[7] != '-' ||
	    num(s + 8, 2, &D) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
	    num(s + 11, 2, &h) || s[13] != ':' || num(s + 14, 2, &m) || s[16] != ':' ||
	    num(s + 17, 2, &sec))
		return -1;
	if (M < 1 || M > 12 || D < 1 || D > mdays[M - 1] || h > 23 || m > 59 || sec > 60)
		return -1;
	if (M == 2 && D == 29 && !(Y % 4 == 0 && (Y % 100 != 0 || Y % 400 == 0)))
		return -1;
	if (s[i] == '.') {
		int digits = 0;
		for (i++; i < n && isdigit((unsigned char)s[i]); i++, digits++)
			if (digits < 3)
				frac = frac * 10 + (s[i] - '0');
		if (!digits)
			return -1;
		for (; digits < 3; digits++)
			frac *= 10;
	}
	if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
		i++;
	} else if (i + 6 == n && (s[i] == '+' || s[i] == '-') && !num(s + i + 1, 2, &oh) &&
	    s[i + 3] == ':' && !num(s + i + 4, 2, &om) && oh <= 23 && om <= 59) {
		if (s[i] == '-')
			oh = -oh, om = -om;
		i += 6;
	} else {
		return -1;
	}
	if (i != n)
		return -1;
	if (sec == 60)
		sec = 59; /* a leap second sorts as the last second of its minute */
	*ms = ((days_from_civil(Y, M, D) * 86400 + h * 3600 + m * 60 + sec) -
	    (oh * 3600 + om * 60)) * 1000 + frac;
	return 0;
}

size_t
ev_time_format(int64_t ms, char buf[32])
{
	int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
	int msec = (int)(ms - secs * 1000);
	time_t t = (time_t)secs;
	struct tm tm;
	char tmp[96];

	gmtime_r(&t, &tm);
	snprintf(tmp, sizeof tmp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, msec);
	size_t n = strlen(tmp) < 31 ? strlen(tmp) : 31;
	memcpy(buf, tmp, n);
	buf[n] = '\0';
	return n;
}

int
ev_when_parse(const char *s, int64_t now, int64_t *ms)
{
	int64_t d;

	if (ev_time_parse(s, strlen(s), ms) == 0)
		return 0;
	if (ev_dur_parse(s, &d) == 0) {
		*ms = now - d;
		return 0;
	}
	return -1;
}

static int64_t
clockms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t ev_now_ms(void) { return clockms(CLOCK_REALTIME); }
int64_t ev_mono_ms(void) { return clockms(CLOCK_MONOTONIC); }

void
ev_dur_format(int64_t ms, char *buf, size_t n)
{
	if (ms % 1000)
		snprintf(buf, n, "%.1f s", (double)ms / 1000);
	else
		snprintf(buf, n, "%lld s", (long long)(ms / 1000));
}

int64_t
ev_backoff_next(int64_t *delay, int64_t max, int64_t seed)
{
	int64_t d = *delay;

	*delay = d * 2 > max ? max : d * 2;
	return d * 3 / 4 + (int64_t)((uint64_t)seed * 2654435761u % (uint64_t)(d / 2 + 1));
}
