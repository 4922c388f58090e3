/* SPDX-License-Identifier: ISC */
/* mem.c — allocation wrappers that never return NULL (they end the tool on exhaustion). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"

static void *
check(void *p)
{
	if (!p)
		ev_die(EV_TEMPFAIL, "out of memory");
	return p;
}

void *ev_malloc(size_t n) { return check(malloc(n ? n : 1)); }
void *ev_calloc(size_t nm, size_t sz) { return check(calloc(nm ? nm : 1, sz ? sz : 1)); }
void *ev_realloc(void *p, size_t n) { return check(realloc(p, n ? n : 1)); }
char *ev_strdup(const char *s) { return check(strdup(s)); }
char *ev_strndup(const char *s, size_t n) { return check(strndup(s, n)); }

void *
ev_reallocarray(void *p, size_t nmemb, size_t size)
{
	if (size && nmemb > SIZE_MAX / size)
		ev_die(EV_TEMPFAIL, "out of memory");
	return ev_realloc(p, nmemb * size);
}
