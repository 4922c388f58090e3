/* SPDX-License-Identifier: ISC */
/* window.c — windows of event time (see window.h). */
#include <string.h>

#include "base/time.h"
#include "fold/window.h"

/* 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z in Unix ms */
#define FIRSTMS (-62167219200000LL)
#define LASTMS 253402300799999LL

static int64_t
floordiv(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int
dur(const char *s, size_t n, int64_t *ms)
{
	char b[64];

	if (n == 0 || n >= sizeof b)
		return -1;
	memcpy(b, s, n);
	b[n] = '\0';
	return ev_dur_parse(b, ms) < 0 || *ms <= 0 ? -1 : 0;
}

int
ev_window_parse(const char *spec, struct ev_window *w, struct ev_buf *err)
{
	const char *arg = strchr(spec, ':');

	ev_buf_reset(err);
	memset(w, 0, sizeof *w);
	if (!arg)
		goto bad;
	arg++;
	if (strncmp(spec, "tumbling:", 9) == 0) {
		w->kind = EV_WIN_TUMBLING;
		if (dur(arg, strlen(arg), &w->size) < 0)
			goto bad;
	} else if (strncmp(spec, "hopping:", 8) == 0) {
		const char *slash = strchr(arg, '/');
		w->kind = EV_WIN_HOPPING;
		if (!slash || dur(arg, (size_t)(slash - arg), &w->size) < 0 ||
		    dur(slash + 1, strlen(slash + 1), &w->hop) < 0)
			goto bad;
		if (w->hop > w->size || w->size / w->hop > EV_WIN_MAXHOPS) {
			ev_buf_printf(err, "'%s': the hop must be at most the size, and at least "
			    "1/%d of it", spec, EV_WIN_MAXHOPS);
			return -1;
		}
	} else if (strncmp(spec, "session:", 8) == 0) {
		w->kind = EV_WIN_SESSION;
		if (dur(arg, strlen(arg), &w->size) < 0)
			goto bad;
	} else {
		goto bad;
	}
	return 0;
bad:
	ev_buf_printf(err, "'%s' is not tumbling:SIZE, hopping:SIZE/HOP or session:GAP "
	    "(durations above 0)", spec);
	return -1;
}

void
ev_window_spec(const struct ev_window *w, struct ev_buf *out)
{
	switch (w->kind) {
	case EV_WIN_NONE:
		break;
	case EV_WIN_TUMBLING:
		ev_buf_printf(out, "tumbling:%lldms", (long long)w->size);
		break;
	case EV_WIN_HOPPING:
		ev_buf_printf(out, "hopping:%lldms/%lldms", (long long)w->size, (long long)w->hop);
		break;
	case EV_WIN_SESSION:
		ev_buf_printf(out, "session:%lldms", (long long)w->size);
		break;
	}
}

size_t
ev_window_starts(const struct ev_window *w, int64_t t, int64_t *starts)
{
	size_t n = 0;

	if (w->kind == EV_WIN_TUMBLING) {
		starts[0] = floordiv(t, w->size) * w->size;
		return 1;
	}
	if (w->kind != EV_WIN_HOPPING)
		return 0;
	/* s = k*hop with t - size < s <= t */
	for (int64_t s = (floordiv(t - w->size, w->hop) + 1) * w->hop; s <= t && n < EV_WIN_MAXHOPS;
	    s += w->hop)
		starts[n++] = s;
	return n;
}

int
ev_window_storable(const struct ev_window *w, int64_t t)
{
	/* every window holding t lies within [t - size, t + size] (a session,
	 * within [t, t + gap], or joins ones that were storable) */
	if (t < FIRSTMS || t > LASTMS)
		return 0;
	return t - FIRSTMS >= w->size && LASTMS - t >= w->size;
}
