/* SPDX-License-Identifier: ISC */
/* proc.h — handler processes: run without a shell, each in a process group
 * of its own (so that a timeout stops a shell handler and what it started),
 * with pipes on its standard input, output and error. */
#ifndef EV_PROC_H
#define EV_PROC_H
#include <stddef.h>
#include <sys/types.h>

#include "base/buf.h"
#include "base/mem.h"

/* A command resolved once (PATH searched at start, as execvp would) with
 * its environment: ours, less and then plus the per-spawn variables. */
struct ev_cmd;

/* NULL with errno ENOENT (not found: exit 127) or EACCES (126). */
struct ev_cmd *ev_proc_cmd(char *const *argv, const char *const *vars, int nvars);
/* Set per-spawn variable i (vars[i] at creation) to value; NULL unsets it. */
void ev_proc_setvar(struct ev_cmd *c, int i, const char *value, size_t n);
const char *ev_proc_path(const struct ev_cmd *c);
void ev_proc_cmdfree(struct ev_cmd *c);

struct ev_proc {
	pid_t pid;        /* 0 when none */
	int in, out, err; /* our ends, non-blocking and close-on-exec; -1 when closed */
};

enum { EV_PROC_NOSTDOUT = 1 }; /* the child's stdout is /dev/null */

/* 0, or -1 with errno (nothing is left open). */
int ev_proc_spawn(struct ev_cmd *c, struct ev_proc *p, int flags);
/* Signal the child's process group (while the child is not yet reaped). */
int ev_proc_kill(const struct ev_proc *p, int sig);
/* 1 and its wait status when the child has ended, 0 while it runs. */
int ev_proc_reap(struct ev_proc *p, int *status);
/* Close our end of one pipe, if open. */
void ev_proc_close(int *fd);


/* A handler's stderr (or chatter on stdout): passed on line by line as
 * "tool: LABEL: line" through ev_warn, and its last EV_PROC_TAIL bytes kept
 * for a dead letter. */
#define EV_PROC_TAIL 1000
struct ev_proc_log {
	struct ev_buf line; /* an incomplete line */
	struct ev_buf tail; /* the latest output, at most 2 * EV_PROC_TAIL bytes */
};
void ev_proc_logfeed(struct ev_proc_log *g, const char *label, const char *p, size_t n);
/* Pass on an incomplete last line. */
void ev_proc_logflush(struct ev_proc_log *g, const char *label);
/* The last EV_PROC_TAIL bytes or fewer, starting on a character boundary. */
void ev_proc_logtail(const struct ev_proc_log *g, const char **p, size_t *n);
void ev_proc_logreset(struct ev_proc_log *g);
void ev_proc_logfree(struct ev_proc_log *g);

#endif
