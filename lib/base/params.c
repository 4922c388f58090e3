/* SPDX-License-Identifier: ISC */
/* params.c — the name=value&... parameters of a location (see params.h). */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "base/params.h"
#include "base/time.h"

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decode s[0..n) into a new string; NULL on a bad escape or a NUL. */
static char *
pctdecode(const char *s, size_t n)
{
	char *out = ev_malloc(n + 1), *o = out;

	for (size_t i = 0; i < n; i++) {
		if (s[i] != '%') {
			*o++ = s[i];
			continue;
		}
		int hi = i + 2 < n ? hexval((unsigned char)s[i + 1]) : -1;
		int lo = i + 2 < n ? hexval((unsigned char)s[i + 2]) : -1;
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
			free(out);
			return NULL;
		}
		*o++ = (char)(hi << 4 | lo);
		i += 2;
	}
	*o = '\0';
	return out;
}

int
ev_params_each(const char *q, ev_param_fn *set, void *arg, struct ev_buf *err)
{
	while (*q) {
		size_t n = strcspn(q, "&");
		const char *eq = memchr(q, '=', n);
		if (n == 0) {
			q++;
			continue;
		}
		if (!eq) {
			ev_buf_printf(err, "parameter '%.*s' has no value (name=value)", (int)n, q);
			return -1;
		}
		char *name = ev_strndup(q, (size_t)(eq - q));
		char *v = pctdecode(eq + 1, (size_t)(q + n - eq - 1));
		if (!v) {
			ev_buf_printf(err, "parameter '%s': a bad %%-escape", name);
			free(name);
			return -1;
		}
		int r = set(arg, name, v, err);
		free(name);
		if (r < 0)
			return -1;
		q += n + (q[n] == '&');
	}
	return 0;
}

int
ev_params_uint(const char *v, unsigned long max, unsigned long *out)
{
	char *e;

	if (!isdigit((unsigned char)*v))
		return -1;
	errno = 0;
	*out = strtoul(v, &e, 10);
	return *e || errno || *out > max ? -1 : 0;
}

int
ev_params_once(char **slot, const char *name, char *v, struct ev_buf *err)
{
	if (*slot) {
		ev_buf_printf(err, "'%s' given twice", name);
		free(v);
		return -1;
	}
	*slot = v;
	return 0;
}

int
ev_params_verify(const char *v, int *verify, struct ev_buf *err)
{
	if (strcmp(v, "peer") && strcmp(v, "none")) {
		ev_buf_printf(err, "verify '%s' is not peer or none", v);
		return -1;
	}
	*verify = !strcmp(v, "peer");
	return 0;
}

int
ev_params_duration(const char *name, const char *v, int nonzero, int64_t *ms, struct ev_buf *err)
{
	if (!strcmp(name, "retry") && !strcmp(v, "forever")) {
		*ms = -1;
		return 0;
	}
	if (ev_dur_parse(v, ms) < 0 || (nonzero && *ms == 0)) {
		ev_buf_printf(err, "%s '%s' is not a duration (500ms, 30s, 5m)", name, v);
		return -1;
	}
	return 0;
}
