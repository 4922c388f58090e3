/* SPDX-License-Identifier: ISC */
/* spoolloc.c — a spool directory as a location: a sink that appends with
 * group commit, a source that reads through a cursor and follows.
 *
 * The sink collects lines and appends them as one batch (one flock, one
 * write, one fdatasync) when the tool commits (io/input.c does, per
 * batch, before it records its own input position), or earlier when the
 * batch passes SINK_BYTES so memory stays bounded; --sync=always makes
 * every line its own durable batch, --sync=none never fdatasyncs, not
 * even at a roll-over. The fdatasync is shared with the spool's other
 * writers (gsync.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/backend.h"
#include "base/time.h"
#include "base/err.h"
#include "base/buf.h"
#include "base/mem.h"
#include "spool/cursor.h"
#include "spool/lock.h"
#include "spool/spool.h"
#include "base/compat.h"
#include "spool/private.h"

#define SINK_BYTES (1 << 20)

struct spsink {
	struct ev_spool *sp;
	enum ev_sync sync;
	struct ev_buf buf;
	uint64_t n; /* lines in buf */
	int failed; /* errno of a failed append: the sink refuses more */
};

static int
flush(struct spsink *k, int nosync)
{
	if (k->failed) {
		errno = k->failed;
		return -1;
	}
	if (ev_spool_append_lines(k->sp, k->buf.p, k->buf.len, k->n, nosync) < 0) {
		k->failed = errno;
		return -1;
	}
	ev_buf_reset(&k->buf);
	k->n = 0;
	return 0;
}

static int
spsink_commit(void *impl)
{
	struct spsink *k = impl;

	if (flush(k, k->sync == EV_SYNC_NONE) < 0)
		return -1;
	if (k->sync != EV_SYNC_NONE && ev_spool_sync(k->sp) < 0) {
		k->failed = errno;
		return -1;
	}
	return 0;
}

static int
spsink_write(void *impl, const char *line, size_t len)
{
	struct spsink *k = impl;

	if (k->failed) {
		errno = k->failed;
		return -1;
	}
	ev_buf_grow(&k->buf, len + 1);
	memcpy(k->buf.p + k->buf.len, line, len);
	k->buf.p[k->buf.len + len] = '\n';
	k->buf.len += len + 1;
	k->n += 1 + (memchr(line, '\n', len) ? spool_count_newlines(line, len) : 0);
	if (k->sync == EV_SYNC_ALWAYS)
		return flush(k, 0);
	if (k->buf.len >= SINK_BYTES)
		return flush(k, 1); /* durable at the next commit */
	return 0;
}

static int
spsink_close(void *impl)
{
	struct spsink *k = impl;
	int r = spsink_commit(k);

	ev_spool_close(k->sp);
	ev_buf_free(&k->buf);
	free(k);
	return r;
}

/* What a spool handle counted, into add. */
static void
addcounts(const struct ev_spool *sp, struct ev_loc_counts *add)
{
	const struct ev_loc_counts *c = ev_spool_counts(sp);

	add->segopens += c->segopens;
	add->bytesread += c->bytesread;
	add->lost += c->lost;
	add->syncs += c->syncs;
}

static void
spsink_counts(const void *impl, struct ev_loc_counts *add)
{
	addcounts(((const struct spsink *)impl)->sp, add);
}

static const struct ev_sink_ops spsink_ops = {
	.write = spsink_write, .commit = spsink_commit, .close = spsink_close,
	.counts = spsink_counts
};

void *
ev_spool_sink_open(const char *dir, enum ev_sync sync, const struct ev_sink_ops **ops)
{
	struct ev_spool *sp = ev_spool_open(dir, EV_SPOOL_WRITE |
	    (sync == EV_SYNC_NONE ? EV_SPOOL_NOSYNC : 0));
	struct spsink *k;

	if (!sp)
		return NULL;
	k = ev_calloc(1, sizeof *k);
	k->sp = sp;
	k->sync = sync;
	*ops = &spsink_ops;
	return k;
}

struct spsource {
	struct ev_spool *sp;
	struct ev_spool_reader *r;
	char *cursor;
	int lockfd;  /* holds cursors/.NAME.lock while we read through NAME */
	int follow;
	uint64_t committed;
};

static int
spsource_next(void *impl, struct ev_line *l, int timeout_ms)
{
	struct spsource *s = impl;
	int64_t deadline = timeout_ms > 0 ? ev_mono_ms() + timeout_ms : 0;

	for (;;) {
		int r = ev_spool_reader_next(s->r, l);
		if (r > 0)
			return EV_SRC_LINE;
		if (r < 0)
			return EV_SRC_ERR;
		if (!s->follow)
			return EV_SRC_END;
		int t = ev_source_waitleft(timeout_ms, deadline);
		if (t == 0)
			return EV_SRC_IDLE;
		if ((r = ev_spool_reader_wait(s->r, t)) < 0)
			return EV_SRC_ERR;
		if (r == 0)
			return EV_SRC_IDLE;
	}
}

static int
spsource_commit(void *impl, uint64_t pos)
{
	struct spsource *s = impl;

	if (!s->cursor || pos == s->committed)
		return 0;
	if (ev_spool_cursor_set(s->sp, s->cursor, pos) < 0)
		return -1;
	s->committed = pos;
	return 0;
}

static int
spsource_close(void *impl)
{
	struct spsource *s = impl;

	ev_spool_reader_free(s->r);
	ev_spool_close(s->sp);
	if (s->lockfd >= 0)
		close(s->lockfd);
	free(s->cursor);
	free(s);
	return 0;
}

static void
spsource_counts(const void *impl, struct ev_loc_counts *add)
{
	const struct spsource *s = impl;

	addcounts(s->sp, add);
	if (s->r)
		add->lost += ev_spool_reader_lost(s->r);
}

static const struct ev_source_ops spsource_ops = {
	.next = spsource_next, .commit = spsource_commit, .close = spsource_close,
	.counts = spsource_counts, .seeks_time = 1
};

/* Where to start, per c->start and the cursor. */
static int
startpos(struct ev_spool *sp, const struct ev_source_conf *c, uint64_t *pos, int *have)
{
	*have = 0;
	switch (c->start) {
	case EV_START_DEFAULT:
		if (c->cursor && (*have = ev_spool_cursor_get(sp, c->cursor, pos)) != 0)
			return *have < 0 ? -1 : 0;
		/* fall through */
	case EV_START_BEGIN:
		return ev_spool_pos_start(sp, pos);
	case EV_START_END:
		return ev_spool_pos_end(sp, pos);
	case EV_START_LAST:
		return ev_spool_pos_last(sp, c->last, pos);
	case EV_START_TIME:
		return ev_spool_pos_time(sp, c->since_ms, pos);
	case EV_START_POS:
		*pos = c->pos;
		return 0;
	}
	return -1;
}

/* One live reader per cursor: hold its lock file, or fail with EBUSY (the
 * exit status 75 says "try again later") unless c->wait. */
static int
lockcursor(struct ev_spool *sp, const struct ev_source_conf *c)
{
	char name[EV_CURSOR_NAME_MAX + 8], *path;
	size_t n = strlen(ev_spool_path(sp)) + sizeof "/cursors";
	int dfd, fd;
	pid_t pid = 0;

	path = ev_malloc(n);
	snprintf(path, n, "%s/cursors", ev_spool_path(sp));
	if ((dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		ev_warn("%s: cannot open directory:", path);
		free(path);
		return -1;
	}
	ev_lock_cursorname(name, sizeof name, c->cursor);
	fd = ev_lock_take(dfd, path, name, ev_spool_getconf(sp)->mode, c->wait, &pid);
	if (fd < 0 && errno == EBUSY) {
		char who[48] = "";
		if (pid > 0)
			snprintf(who, sizeof who, " (pid %ld)", (long)pid);
		ev_warn("%s: cursor '%s' is in use by another reader%s: try again later, "
		    "or wait for it with --wait", ev_spool_path(sp), c->cursor, who);
		errno = EBUSY;
	}
	close(dfd);
	free(path);
	return fd;
}

void *
ev_spool_source_open(const char *dir, const struct ev_source_conf *c,
    const struct ev_source_ops **ops)
{
	struct ev_spool *sp;
	struct spsource *s;
	uint64_t pos;
	int have, lockfd = -1;

	if (c->cursor && ev_cursor_check(c->cursor) < 0)
		return NULL;
	if (!(sp = ev_spool_open(dir, EV_SPOOL_RDONLY)))
		return NULL;
	if (c->group) {
		void *g = c->key ? ev_keyed_source_open(sp, c, ops) : ev_group_source_open(sp, c, ops);
		if (!g)
			ev_spool_close(sp);
		return g;
	}
	/* Locked before the position is read: the previous holder's last
	 * commit is then the one we start from. */
	if (c->cursor && (lockfd = lockcursor(sp, c)) < 0)
		goto fail;
	if (startpos(sp, c, &pos, &have) < 0)
		goto fail;
	/* A new consumer is registered at once, so retention keeps its events. */
	if (c->cursor && !have && ev_spool_cursor_set(sp, c->cursor, pos) < 0)
		goto fail;
	s = ev_calloc(1, sizeof *s);
	s->sp = sp;
	s->follow = c->follow != 0;
	s->cursor = c->cursor ? ev_strdup(c->cursor) : NULL;
	s->committed = pos;
	s->lockfd = lockfd;
	if (!(s->r = ev_spool_reader_new(sp, pos, c->skip_lost))) {
		free(s->cursor);
		free(s);
		goto fail;
	}
	*ops = &spsource_ops;
	return s;
fail:
	if (lockfd >= 0)
		close(lockfd);
	ev_spool_close(sp);
	return NULL;
}
