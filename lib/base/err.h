/* SPDX-License-Identifier: ISC */
/* err.h — diagnostics: "tool: message", "tool: SOURCE:LINE: message". */
#ifndef EV_ERR_H
#define EV_ERR_H
#include <stdarg.h>
#include <stdint.h>
#include <stdnoreturn.h>

/* Exit statuses shared by the suite (evkit(7)). */
enum {
	EV_OK = 0,
	EV_FALSE = 1,     /* nothing selected, where that applies */
	EV_ERROR = 2,     /* usage error, bad input, permanent error */
	EV_BUSY = 75,     /* EX_TEMPFAIL: a cursor is in use by another reader; try later */
	EV_TEMPFAIL = 111 /* temporary system failure: ENOSPC, EIO; retry later */
};

extern int ev_quiet; /* -q: no per-line diagnostics */

void ev_setprog(const char *argv0);
const char *ev_prog(void);
/* A format ending in ':' appends ": strerror(errno)". */
void ev_warn(const char *fmt, ...);
noreturn void ev_die(int status, const char *fmt, ...);
/* A diagnostic about one input line; silent under -q. */
void ev_linewarn(const char *src, uintmax_t line, const char *fmt, ...);
/* The exit status that suits errno: 111 for a temporary failure, else 2. */
int ev_errstatus(int err);

#endif
