/* SPDX-License-Identifier: ISC */
/* fdloc.c — locations that are one file descriptor: stdin/stdout, files,
 * FIFOs, and "|command" sinks (a child fed through a pipe). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io/backend.h"
#include "base/time.h"
#include "base/err.h"
#include "base/write.h"
#include "base/buf.h"
#include "base/mem.h"
#include "base/sig.h"
#include "io/watch.h"
#include "base/compat.h"

extern char **environ;

#define OUTBUF (256 * 1024)

struct fdsink {
	int fd;
	int isreg;      /* fdatasync applies */
	int isstdout;   /* EPIPE ends us as it ends cat(1) */
	pid_t pid;      /* a "|command" child, or 0 */
	enum ev_sync sync;
	const char *name;
	struct ev_buf buf;
	int failed;
	int durable;    /* EV_SYNC_AUTO syncs too (ev_sink_durable) */
	int appending;  /* a regular file in O_APPEND mode whose end is not yet checked */
};

/* Split "cmd 'a b' c\ d" into words: sh(1) quoting, no expansion. */
static char **
splitwords(const char *s)
{
	char **argv = NULL;
	size_t n = 0;
	struct ev_buf w = { 0 };

	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			break;
		ev_buf_reset(&w);
		ev_buf_grow(&w, 1);
		while (*s && *s != ' ' && *s != '\t') {
			if (*s == '\'') {
				const char *e = strchr(s + 1, '\'');
				if (!e)
					goto bad;
				ev_buf_add(&w, s + 1, (size_t)(e - s - 1));
				s = e + 1;
			} else if (*s == '"') {
				for (s++; *s && *s != '"'; s++) {
					if (*s == '\\' && (s[1] == '"' || s[1] == '\\'))
						s++;
					ev_buf_addc(&w, *s);
				}
				if (!*s)
					goto bad;
				s++;
			} else if (*s == '\\' && s[1]) {
				ev_buf_addc(&w, s[1]);
				s += 2;
			} else {
				ev_buf_addc(&w, *s++);
			}
		}
		argv = ev_reallocarray(argv, n + 2, sizeof *argv);
		argv[n++] = ev_strdup(w.p);
	}
	ev_buf_free(&w);
	if (!n)
		return NULL;
	argv[n] = NULL;
	return argv;
bad:
	ev_buf_free(&w);
	for (size_t i = 0; i < n; i++)
		free(argv[i]);
	free(argv);
	return NULL;
}

static int
spawncmd(const char *cmd, struct fdsink *k)
{
	char **argv = splitwords(cmd);
	int p[2], err;
	posix_spawn_file_actions_t fa;

	if (!argv) {
		ev_warn("|%s: not a command (empty, or an unterminated quote)", cmd);
		errno = EINVAL;
		return -1;
	}
	signal(SIGPIPE, SIG_IGN); /* a dead command is an error we report, not our death */
	if (pipe2(p, O_CLOEXEC) < 0) {
		ev_warn("|%s: pipe:", cmd);
		goto fail;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[0], 0);
	err = posix_spawnp(&k->pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[0]);
	if (err) {
		close(p[1]);
		errno = err;
		ev_warn("|%s: cannot run %s:", cmd, argv[0]);
		goto fail;
	}
	k->fd = p[1];
	for (size_t i = 0; argv[i]; i++)
		free(argv[i]);
	free(argv);
	return 0;
fail:
	for (size_t i = 0; argv[i]; i++)
		free(argv[i]);
	free(argv);
	return -1;
}

/* A file we append to may end in part of a line: a writer before us was
 * killed in the middle of a write. Our first line would be glued to it and
 * both lost to whoever reads the file, so we end that part with a newline
 * first. It is not ours to cut: the file has no lock, and the part may be
 * another writer's line arriving. Said once; the next reader reports the
 * part as the bad line it is. */
static int
endtorn(struct fdsink *k)
{
	struct stat st;
	char c, path[32];
	int rfd;
	ssize_t n;

	k->appending = 0;
	if (fstat(k->fd, &st) < 0 || st.st_size == 0)
		return 0;
	/* Our descriptor is write-only: read the end through another. */
	snprintf(path, sizeof path, "/dev/fd/%d", k->fd);
	if ((rfd = open(k->isstdout ? path : k->name, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	n = pread(rfd, &c, 1, st.st_size - 1);
	close(rfd);
	if (n != 1 || c == '\n')
		return 0;
	ev_warn("%s: ends in part of a line (a writer killed while it wrote?); "
	    "ending it with a newline before appending", k->name);
	return ev_write_all(k->fd, "\n", 1, NULL);
}

static int
flushbuf(struct fdsink *k)
{
	if (k->failed) {
		errno = k->failed;
		return -1;
	}
	if ((k->appending && k->buf.len && endtorn(k) < 0) ||
	    ev_write_all(k->fd, k->buf.p, k->buf.len, NULL) < 0) {
		if (errno == EPIPE && k->isstdout) {
			signal(SIGPIPE, SIG_DFL);
			raise(SIGPIPE);
		}
		k->failed = errno;
		if (errno == EPIPE && k->pid)
			ev_warn("%s: the command stopped reading", k->name);
		else
			ev_warn("%s: write:", k->name);
		errno = k->failed;
		return -1;
	}
	ev_buf_reset(&k->buf);
	return 0;
}

static int
fdsink_commit(void *impl)
{
	struct fdsink *k = impl;

	if (flushbuf(k) < 0)
		return -1;
	if (k->isreg && (k->sync == EV_SYNC_AUTO ? k->durable : k->sync != EV_SYNC_NONE) &&
	    fdatasync(k->fd) < 0) {
		k->failed = errno;
		ev_warn("%s: fdatasync:", k->name);
		return -1;
	}
	return 0;
}

static int
fdsink_write(void *impl, const char *line, size_t len)
{
	struct fdsink *k = impl;

	ev_buf_grow(&k->buf, len + 1);
	memcpy(k->buf.p + k->buf.len, line, len);
	k->buf.p[k->buf.len + len] = '\n';
	k->buf.len += len + 1;
	if (k->sync == EV_SYNC_ALWAYS)
		return fdsink_commit(k);
	if (k->buf.len >= OUTBUF)
		return flushbuf(k);
	return 0;
}

static int
fdsink_close(void *impl)
{
	struct fdsink *k = impl;
	int r = fdsink_commit(k);

	if (!k->isstdout && close(k->fd) < 0 && r == 0) {
		ev_warn("%s: close:", k->name);
		r = -1;
	}
	if (k->pid) {
		int st;
		while (waitpid(k->pid, &st, 0) < 0)
			if (errno != EINTR) {
				st = 0;
				break;
			}
		if (WIFEXITED(st) && WEXITSTATUS(st) != 0) {
			ev_warn("%s: the command exited with status %d", k->name, WEXITSTATUS(st));
			errno = EIO;
			r = -1;
		} else if (WIFSIGNALED(st) && !(k->failed == EPIPE && WTERMSIG(st) == SIGPIPE)) {
			ev_warn("%s: the command was killed by signal %d", k->name, WTERMSIG(st));
			errno = EIO;
			r = -1;
		}
	}
	ev_buf_free(&k->buf);
	free((char *)k->name);
	free(k);
	return r;
}

static void
fdsink_durable(void *impl)
{
	((struct fdsink *)impl)->durable = 1;
}

static int
fdsink_push(void *impl)
{
	struct fdsink *k = impl;

	return k->buf.len ? flushbuf(k) : 0;
}

static const struct ev_sink_ops fdsink_ops = {
	.write = fdsink_write, .commit = fdsink_commit, .push = fdsink_push,
	.close = fdsink_close, .durable = fdsink_durable
};

void *
ev_fd_sink_open(const char *dest, enum ev_sync sync, const struct ev_sink_ops **ops)
{
	struct fdsink *k = ev_calloc(1, sizeof *k);
	struct stat st;

	k->sync = sync;
	k->name = ev_strdup(strcmp(dest, "-") == 0 ? "<stdout>" : dest);
	if (dest[0] == '|') {
		if (spawncmd(dest + 1, k) < 0)
			goto fail;
	} else if (strcmp(dest, "-") == 0) {
		k->fd = 1;
		k->isstdout = 1;
	} else if ((k->fd = open(dest, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666)) < 0) {
		ev_warn("%s: cannot open for appending:", dest);
		goto fail;
	}
	k->isreg = fstat(k->fd, &st) == 0 && S_ISREG(st.st_mode);
	k->appending = k->isreg && (fcntl(k->fd, F_GETFL) & O_APPEND);
	*ops = &fdsink_ops;
	return k;
fail:
	free((char *)k->name);
	free(k);
	return NULL;
}

/* A file source. Followed (c->follow 1) a regular file is read like
 * tail -F: at its end we wait (io/watch.c) on its directory; a file that
 * shrank was truncated and is read again from the start; a file whose name
 * now leads to another inode was rotated: the old one is finished, then
 * the new one is read from its start. */
struct fdsource {
	int fd;
	const char *name;
	struct ev_reader *r;
	int follow;
	char *path, *dir;   /* followed: reopened by name */
	dev_t dev;
	ino_t ino;
	struct ev_watch *w;
	int isreg;          /* a regular file: a read never waits */
};

/* The offset just after the n-th '\n' before the last one (the start of
 * the last n lines), or 0 when the file has no more than n lines. */
static int
lastlines(int fd, uint64_t end, uint64_t n, uint64_t *off)
{
	char buf[65536];
	uint64_t seen = 0, hi = end;

	*off = 0;
	if (n == 0) {
		*off = end;
		return 0;
	}
	if (end == 0)
		return 0;
	/* A last line without its newline counts as a line. */
	if (pread(fd, buf, 1, (off_t)end - 1) == 1 && buf[0] == '\n')
		hi = end - 1;
	while (hi > 0) {
		size_t k = hi > sizeof buf ? sizeof buf : (size_t)hi;
		if (pread(fd, buf, k, (off_t)(hi - k)) != (ssize_t)k)
			return -1;
		for (size_t j = k; j-- > 0;)
			if (buf[j] == '\n' && ++seen == n) {
				*off = hi - k + j + 1;
				return 0;
			}
		hi -= k;
	}
	return 0;
}

static int
fdsource_start(struct fdsource *s, const struct ev_source_conf *c)
{
	struct stat st;
	uint64_t off = 0;

	if (c->start == EV_START_POS && s->isreg) {
		/* the caller found pos to be a line's start (evhttp's subscribers) */
		if (lseek(s->fd, (off_t)c->pos, SEEK_SET) < 0) {
			ev_warn("%s: seek:", s->name);
			return -1;
		}
		ev_reader_reset(s->r, s->fd, c->pos);
		return 0;
	}
	if (c->start != EV_START_END && c->start != EV_START_LAST)
		return 0;
	if (fstat(s->fd, &st) < 0 || !S_ISREG(st.st_mode))
		return 0; /* a pipe starts where it is */
	if (lastlines(s->fd, (uint64_t)st.st_size, c->start == EV_START_END ? 0 : c->last,
	    &off) < 0 || lseek(s->fd, (off_t)off, SEEK_SET) < 0) {
		ev_warn("%s: read:", s->name);
		return -1;
	}
	ev_reader_reset(s->r, s->fd, off);
	return 0;
}

/* At the end of a followed file: 1 if there is something new to read. */
static int
fdsource_changed(struct fdsource *s)
{
	struct stat st, cur;
	off_t at = lseek(s->fd, 0, SEEK_CUR);
	int fd;

	if (fstat(s->fd, &cur) == 0 && at > cur.st_size) {
		ev_warn("%s: file truncated; reading it from the start", s->name);
		lseek(s->fd, 0, SEEK_SET);
		ev_reader_reset(s->r, s->fd, 0);
		return 1;
	}
	if (stat(s->path, &st) < 0 || (st.st_dev == s->dev && st.st_ino == s->ino))
		return 0;
	if ((fd = open(s->path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0; /* not there yet */
	if (fstat(fd, &st) < 0) {
		close(fd);
		return 0;
	}
	ev_warn("%s: file replaced (rotated); following the new one", s->name);
	close(s->fd);
	s->fd = fd;
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	ev_reader_reset(s->r, fd, 0);
	return 1;
}

static int
fdsource_follow(struct fdsource *s, struct ev_line *l, int timeout_ms)
{
	int64_t deadline = timeout_ms > 0 ? ev_mono_ms() + timeout_ms : 0;
	int r, t;

	for (;;) {
		if ((r = ev_reader_next(s->r, l, 0)) != 0)
			break;
		/* A rotated file's unterminated last line is still a line. */
		struct stat st;
		if (ev_reader_pending(s->r) && stat(s->path, &st) == 0 &&
		    (st.st_dev != s->dev || st.st_ino != s->ino) &&
		    (r = ev_reader_next(s->r, l, EV_RD_TAIL)) != 0)
			break;
		if (fdsource_changed(s))
			continue;
		t = timeout_ms;
		if (timeout_ms > 0 && (t = (int)(deadline - ev_mono_ms())) <= 0)
			return EV_SRC_IDLE;
		if (t == 0)
			return EV_SRC_IDLE;
		if (!s->w) {
			if (!(s->w = ev_watch_new(s->dir)))
				return EV_SRC_ERR;
			continue; /* look once more now that changes are seen */
		}
		ev_watch_file(s->w, s->fd);
		if ((r = ev_watch_wait(s->w, t)) < 0) {
			ev_warn("%s: waiting for changes:", s->name);
			return EV_SRC_ERR;
		}
		if (r == 0)
			return EV_SRC_IDLE;
	}
	if (r < 0) {
		ev_warn("%s: read:", s->name);
		return EV_SRC_ERR;
	}
	return EV_SRC_LINE;
}

/* With a timeout, wait for a complete line without ever blocking in read(2):
 * a pipe may hold half a line for as long as its writer likes (a regular
 * file is just read: a read of it never waits). */
static int
fdsource_next(void *impl, struct ev_line *l, int timeout_ms)
{
	struct fdsource *s = impl;
	int r, flags = EV_RD_TAIL;

	if (s->follow)
		return fdsource_follow(s, l, timeout_ms);
	if (timeout_ms >= 0 && !s->isreg) {
		int64_t deadline = 0; /* read the clock only once there is a wait */
		flags |= EV_RD_NOREAD;
		while ((r = ev_reader_next(s->r, l, flags)) < 0 && errno == EAGAIN) {
			if (!deadline)
				deadline = ev_mono_ms() + timeout_ms;
			int64_t left = deadline - ev_mono_ms();
			struct pollfd p[2] = { { .fd = s->fd, .events = POLLIN },
				{ .fd = ev_sig_fd(), .events = POLLIN } };
			int n = poll(p, 2, left > 0 ? (int)(left < INT_MAX ? left : INT_MAX) : 0);
			if (n < 0 && errno != EINTR) {
				ev_warn("%s: poll:", s->name);
				return EV_SRC_ERR;
			}
			/* A signal: let the caller act on it now (a read here would
			 * block, and SA_RESTART would keep it blocked). */
			if (n <= 0 || !p[0].revents)
				return EV_SRC_IDLE;
			flags = EV_RD_TAIL | EV_RD_ONCE;
		}
	} else {
		r = ev_reader_next(s->r, l, flags);
	}
	if (r < 0) {
		ev_warn("%s: read:", s->name);
		return EV_SRC_ERR;
	}
	return r ? EV_SRC_LINE : EV_SRC_END;
}

static int
fdsource_pollfd(void *impl)
{
	struct fdsource *s = impl;

	/* A followed regular file always polls readable: it waits in next(). */
	return s->follow ? -1 : s->fd;
}

static int fdsource_commit(void *impl, uint64_t pos) { (void)impl; (void)pos; return 0; }

static int
fdsource_close(void *impl)
{
	struct fdsource *s = impl;

	if (s->fd != 0)
		close(s->fd);
	ev_reader_free(s->r);
	ev_watch_free(s->w);
	free((char *)s->name);
	free(s->path);
	free(s->dir);
	free(s);
	return 0;
}

static const struct ev_source_ops fdsource_ops = {
	.next = fdsource_next, .commit = fdsource_commit, .close = fdsource_close,
	.pollfd = fdsource_pollfd
};

void *
ev_fd_source_open(const char *loc, const struct ev_source_conf *c, const struct ev_source_ops **ops)
{
	struct stat st;
	int fd = 0;

	if (strcmp(loc, "-") != 0 && (fd = open(loc, O_RDONLY | O_CLOEXEC)) < 0) {
		ev_warn("%s: cannot open for reading:", loc);
		return NULL;
	}
	struct fdsource *s = ev_calloc(1, sizeof *s);
	s->fd = fd;
	s->name = ev_strdup(fd ? loc : "<stdin>");
	s->r = ev_reader_new(fd, 0);
	s->isreg = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
	if (fd && c->follow == 1 && s->isreg) {
		const char *slash = strrchr(loc, '/');
		s->follow = 1;
		s->path = ev_strdup(loc);
		s->dir = slash ? ev_strndup(loc, slash == loc ? 1 : (size_t)(slash - loc)) :
		    ev_strdup(".");
		s->dev = st.st_dev;
		s->ino = st.st_ino;
	}
	if (fdsource_start(s, c) < 0) {
		fdsource_close(s);
		return NULL;
	}
	*ops = &fdsource_ops;
	return s;
}
