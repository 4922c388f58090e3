/* SPDX-License-Identifier: ISC */
/* err.c — one family of diagnostics, so every message has the same shape. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"

int ev_quiet;
static const char *prog = "evkit";

void
ev_setprog(const char *argv0)
{
	const char *p = strrchr(argv0, '/');

	prog = p ? p + 1 : argv0;
}

const char *
ev_prog(void)
{
	return prog;
}

static void
vwarn(const char *pre, const char *fmt, va_list ap)
{
	int err = errno;
	size_t n = strlen(fmt);

	fflush(stdout);
	fprintf(stderr, "%s: ", prog);
	if (pre)
		fputs(pre, stderr);
	vfprintf(stderr, fmt, ap);
	if (n > 0 && fmt[n - 1] == ':')
		fprintf(stderr, " %s", strerror(err));
	fputc('\n', stderr);
	errno = err;
}

void
ev_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn(NULL, fmt, ap);
	va_end(ap);
}

noreturn void
ev_die(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn(NULL, fmt, ap);
	va_end(ap);
	exit(status);
}

void
ev_linewarn(const char *src, uintmax_t line, const char *fmt, ...)
{
	char pre[4096];
	va_list ap;

	if (ev_quiet)
		return;
	snprintf(pre, sizeof pre, "%s:%ju: ", src, line);
	va_start(ap, fmt);
	vwarn(pre, fmt, ap);
	va_end(ap);
}

int
ev_errstatus(int err)
{
	switch (err) {
	case ENOSPC: case EIO: case EDQUOT: case EFBIG: case EAGAIN: case ENOMEM:
	case EMFILE: case ENFILE: case EINTR: case ETIMEDOUT: case ECONNREFUSED:
	case ECONNRESET: case EHOSTUNREACH: case ENETUNREACH: case EPIPE:
		return EV_TEMPFAIL;
	default:
		return EV_ERROR;
	}
}
