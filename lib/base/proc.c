/* SPDX-License-Identifier: ISC */
/* proc.c — posix_spawn(3) of handlers with pipes; see proc.h. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/mem.h"
#include "base/err.h"
#include "base/proc.h"

extern char **environ;

struct ev_cmd {
	char *path;
	char *const *argv;
	char **envp;          /* environ less vars, then nvars slots, then NULL */
	size_t nbase;
	int nvars;
	struct ev_buf *vals;  /* "NAME=value" per variable */
	const char *const *vars;
	int devnull;
};

static char *
search(const char *name)
{
	const char *path = getenv("PATH");
	struct ev_buf b = { 0 };
	int denied = 0;

	if (strchr(name, '/')) {
		if (access(name, X_OK) == 0)
			return ev_strdup(name);
		return NULL;
	}
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (const char *p = path;; p++) {
		const char *e = strchr(p, ':');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		struct stat st;
		ev_buf_reset(&b);
		ev_buf_add(&b, n ? p : ".", n ? n : 1);
		ev_buf_addc(&b, '/');
		ev_buf_adds(&b, name);
		if (stat(b.p, &st) == 0 && S_ISREG(st.st_mode)) {
			if (access(b.p, X_OK) == 0)
				return b.p;
			denied = 1;
		}
		if (!e)
			break;
		p = e;
	}
	ev_buf_free(&b);
	errno = denied ? EACCES : ENOENT;
	return NULL;
}

struct ev_cmd *
ev_proc_cmd(char *const *argv, const char *const *vars, int nvars)
{
	char *path = search(argv[0]);
	size_t n = 0;

	if (!path)
		return NULL;
	struct ev_cmd *c = ev_calloc(1, sizeof *c);
	c->path = path;
	c->argv = argv;
	c->vars = vars;
	c->nvars = nvars;
	for (char **e = environ; *e; e++)
		n++;
	c->envp = ev_calloc(n + (size_t)nvars + 1, sizeof *c->envp);
	for (char **e = environ; *e; e++) {
		int ours = 0;
		for (int i = 0; i < nvars; i++) {
			size_t l = strlen(vars[i]);
			if (strncmp(*e, vars[i], l) == 0 && (*e)[l] == '=')
				ours = 1;
		}
		if (!ours)
			c->envp[c->nbase++] = *e;
	}
	c->vals = ev_calloc((size_t)nvars + 1, sizeof *c->vals);
	for (int i = 0; i < nvars; i++)
		ev_buf_grow(&c->vals[i], 64);
	c->devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	return c;
}

const char *ev_proc_path(const struct ev_cmd *c) { return c->path; }

void
ev_proc_setvar(struct ev_cmd *c, int i, const char *value, size_t n)
{
	struct ev_buf *b = &c->vals[i];

	ev_buf_reset(b);
	if (!value)
		return;
	ev_buf_adds(b, c->vars[i]);
	ev_buf_addc(b, '=');
	ev_buf_add(b, value, n);
}

void
ev_proc_cmdfree(struct ev_cmd *c)
{
	if (!c)
		return;
	for (int i = 0; i < c->nvars; i++)
		ev_buf_free(&c->vals[i]);
	if (c->devnull >= 0)
		close(c->devnull);
	free(c->vals);
	free(c->envp);
	free(c->path);
	free(c);
}

void
ev_proc_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* A pipe with our end non-blocking; ours is p[ours]. */
static int
mkpipe(int p[2], int ours)
{
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	int fl = fcntl(p[ours], F_GETFL);
	if (fl < 0 || fcntl(p[ours], F_SETFL, fl | O_NONBLOCK) < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	return 0;
}

int
ev_proc_spawn(struct ev_cmd *c, struct ev_proc *p, int flags)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t def, none;
	size_t n = c->nbase;
	int e;

	for (int i = 0; i < c->nvars; i++)
		if (c->vals[i].len)
			c->envp[n++] = c->vals[i].p;
	c->envp[n] = NULL;
	if (mkpipe(in, 1) < 0 || mkpipe(err, 0) < 0 ||
	    (!(flags & EV_PROC_NOSTDOUT) && mkpipe(out, 0) < 0))
		goto fail;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, flags & EV_PROC_NOSTDOUT ? c->devnull : out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, err[1], 2);
	posix_spawnattr_init(&at);
	/* Ignored signals stay ignored across exec: give the handler defaults. */
	sigemptyset(&none);
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	sigaddset(&def, SIGINT);
	sigaddset(&def, SIGTERM);
	sigaddset(&def, SIGHUP);
	sigaddset(&def, SIGQUIT);
	sigaddset(&def, SIGCHLD);
	posix_spawnattr_setsigdefault(&at, &def);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF |
	    POSIX_SPAWN_SETSIGMASK);
	e = posix_spawn(&p->pid, c->path, &fa, &at, c->argv, c->envp);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	if (e) {
		errno = e;
		goto fail;
	}
	close(in[0]);
	close(err[1]);
	if (out[1] >= 0)
		close(out[1]);
	p->in = in[1];
	p->out = out[0];
	p->err = err[0];
	return 0;
fail:
	e = errno;
	for (int i = 0; i < 2; i++) {
		ev_proc_close(&in[i]);
		ev_proc_close(&out[i]);
		ev_proc_close(&err[i]);
	}
	p->pid = 0;
	errno = e;
	return -1;
}

int
ev_proc_kill(const struct ev_proc *p, int sig)
{
	if (p->pid <= 0)
		return 0;
	/* The group, and the child itself in case it left the group. */
	kill(-p->pid, sig);
	return kill(p->pid, sig);
}

int
ev_proc_reap(struct ev_proc *p, int *status)
{
	pid_t r;

	if (p->pid <= 0)
		return 0;
	while ((r = waitpid(p->pid, status, WNOHANG)) < 0 && errno == EINTR)
		;
	if (r == p->pid || (r < 0 && errno == ECHILD)) {
		if (r < 0)
			*status = 0;
		p->pid = 0;
		return 1;
	}
	return 0;
}

#define LOGLINE 4096 /* a longer line is passed on in pieces */

static void
logline(const char *label, const char *p, size_t n)
{
	if (n > 0 && p[n - 1] == '\r')
		n--;
	ev_warn("%s: %.*s", label, (int)n, p);
}

void
ev_proc_logfeed(struct ev_proc_log *g, const char *label, const char *p, size_t n)
{
	ev_buf_add(&g->tail, p, n);
	if (g->tail.len > 2 * EV_PROC_TAIL) {
		memmove(g->tail.p, g->tail.p + g->tail.len - EV_PROC_TAIL, EV_PROC_TAIL);
		g->tail.len = EV_PROC_TAIL;
		g->tail.p[g->tail.len] = '\0';
	}
	if (!label)
		return;
	while (n > 0) {
		const char *nl = memchr(p, '\n', n);
		size_t k = nl ? (size_t)(nl - p) : n;
		if (!nl || g->line.len) {
			ev_buf_add(&g->line, p, k);
			if (nl || g->line.len >= LOGLINE) {
				logline(label, g->line.p, g->line.len);
				ev_buf_reset(&g->line);
			}
		} else {
			logline(label, p, k);
		}
		k += nl != NULL;
		p += k;
		n -= k;
	}
}

void
ev_proc_logflush(struct ev_proc_log *g, const char *label)
{
	if (g->line.len && label)
		logline(label, g->line.p, g->line.len);
	ev_buf_reset(&g->line);
}

void
ev_proc_logtail(const struct ev_proc_log *g, const char **p, size_t *n)
{
	size_t len = g->tail.len, off = len > EV_PROC_TAIL ? len - EV_PROC_TAIL : 0;

	/* Do not start inside a UTF-8 sequence. */
	while (off < len && off > 0 && (g->tail.p[off] & 0xc0) == 0x80)
		off++;
	*p = g->tail.p ? g->tail.p + off : "";
	*n = len - off;
}

void
ev_proc_logreset(struct ev_proc_log *g)
{
	ev_buf_reset(&g->line);
	ev_buf_reset(&g->tail);
}

void
ev_proc_logfree(struct ev_proc_log *g)
{
	ev_buf_free(&g->line);
	ev_buf_free(&g->tail);
}
