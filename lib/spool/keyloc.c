/* SPDX-License-Identifier: ISC */
/* keyloc.c — a consumer group with key affinity (--group NAME --key EXPR):
 * no two members work on events of one key at the same time, and a key's
 * events are handed out in spool order.
 *
 * The claim ledger of group.c hands out ranges of the spool, whatever keys
 * they hold, so it cannot say "this key belongs to that member". Here the
 * keys are hashed into NPART partitions instead, and each partition is read
 * by one member at a time, as a cursor is (ev-spool(5)):
 *
 *   cursors/NAME@K        partition K's committed position (K = 0..15), a
 *                         spool cursor: retention and evspool stat see it
 *   cursors/.NAME@K.lock  held (flock) by the member that owns partition K
 *   groups/NAME/kmember.ID  one per live member, locked for its life
 *
 * A member reads the spool once, from the lowest position of the
 * partitions it owns, and hands out the events of those (an event is
 * skipped when its partition is not ours, or when we handed it out before
 * a rewind). Balance: with M live members each owns about NPART/M
 * partitions; it takes free ones (a dead member's locks died with it: its
 * partitions are free at once, and the close of its lock files wakes the
 * others), and gives up the extra ones when members join, only once every
 * event it handed out of them is committed, so two members never hold
 * events of one key at once. A partition moves with its cursor: the new
 * owner starts after the last event the old one committed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/mem.h"
#include "base/time.h"
#include "io/backend.h"
#include "io/watch.h"
#include "json/jq.h"
#include "json/key.h"
#include "spool/cursor.h"
#include "spool/lock.h"
#include "spool/spool.h"

#define NPART 16
#define BALANCE_MS 500  /* look at the members at least this often */
#define IDLE_MS 1000    /* move the cursors of quiet partitions this often */

struct part {
	int lockfd;           /* >= 0: ours */
	int releasing;        /* ours until what we handed out of it is committed */
	uint64_t pos;         /* committed */
	uint64_t seen;        /* after the last event handed out */
	uint64_t donepos;     /* after the last event committed */
	size_t pending;       /* handed out, not committed */
};

struct hand {
	uint64_t v, end;
	int k;
};

struct ksource {
	struct ev_spool *sp;
	char *name, *spath, *cpath, *gpath;
	int cdir, gdir, memfd, follow;
	char memname[64];
	mode_t mode;
	struct ev_key *key;
	struct ev_buf kbuf, err;
	struct part p[NPART];
	int nowned;
	struct ev_spool_reader *r;
	uint64_t rpos;
	struct hand *fifo;
	size_t fhead, nfifo, cfifo;
	uint64_t vnext;
	struct ev_watch *w;
	int64_t lastbal, lastidle;
};

static void
pname(char *buf, size_t size, const char *group, int k)
{
	snprintf(buf, size, "%s@%d", group, k);
}

static int
partof(struct ksource *s, const struct ev_line *l)
{
	ev_buf_reset(&s->kbuf);
	if (ev_key_get(s->key, NULL, l->p, l->len, EV_KEY_JSON, &s->kbuf, &s->err) < 0)
		ev_buf_reset(&s->kbuf); /* no key: the tool reports the line */
	return (int)(XXH3_64bits(s->kbuf.p ? s->kbuf.p : "", s->kbuf.len) % NPART);
}

/* Live members (ourselves included); the files of dead ones go. */
static int
members(struct ksource *s)
{
	int fd = dup(s->gdir), n = 0;
	DIR *d;
	struct dirent *e;

	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return 1;
	}
	rewinddir(d); /* the offset is shared with gdir: the last listing left it at the end */
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "kmember.", 8) != 0)
			continue;
		int held = strcmp(e->d_name, s->memname) == 0 ? 1 :
		    ev_lock_held(s->gdir, s->gpath, e->d_name);
		if (held == 1)
			n++;
		else if (held == 0)
			unlinkat(s->gdir, e->d_name, 0);
	}
	closedir(d);
	return n > 0 ? n : 1;
}

static int
setcursor(struct ksource *s, int k, uint64_t pos)
{
	char n[EV_CURSOR_NAME_MAX + 8];

	if (pos <= s->p[k].pos)
		return 0;
	pname(n, sizeof n, s->name, k);
	if (ev_spool_cursor_set(s->sp, n, pos) < 0)
		return -1;
	s->p[k].pos = pos;
	return 0;
}

/* Put the reader at pos (behind where it is: the events of the other
 * partitions up to their seen are skipped). */
static int
rewind_to(struct ksource *s, uint64_t pos)
{
	ev_spool_reader_free(s->r);
	if (!(s->r = ev_spool_reader_new(s->sp, pos, 0)))
		return -1;
	s->rpos = pos;
	return 0;
}

static int
acquire(struct ksource *s, int k)
{
	char n[EV_CURSOR_NAME_MAX + 8], lk[EV_CURSOR_NAME_MAX + 16];
	uint64_t pos;
	int fd, have;

	pname(n, sizeof n, s->name, k);
	ev_lock_cursorname(lk, sizeof lk, n);
	if ((fd = ev_lock_take(s->cdir, s->cpath, lk, s->mode, 0, NULL)) < 0)
		return errno == EBUSY ? 0 : -1;
	if ((have = ev_spool_cursor_get(s->sp, n, &pos)) < 0)
		goto fail;
	if (!have && (ev_spool_pos_start(s->sp, &pos) < 0 || ev_spool_cursor_set(s->sp, n, pos) < 0))
		goto fail;
	s->p[k] = (struct part){ .lockfd = fd, .pos = pos, .seen = pos, .donepos = pos };
	s->nowned++;
	if ((!s->r || pos < s->rpos) && rewind_to(s, pos) < 0)
		return -1;
	return 1;
fail:
	close(fd);
	return -1;
}

static void
letgo(struct ksource *s, int k)
{
	close(s->p[k].lockfd);
	s->p[k].lockfd = -1;
	s->p[k].releasing = 0;
	s->nowned--;
}

/* Own about NPART / members partitions. */
static int
balance(struct ksource *s)
{
	int m = members(s), target = (NPART + m - 1) / m;
	int start = (int)(getpid() % NPART);

	s->lastbal = ev_mono_ms();
	for (int i = NPART - 1, extra = s->nowned - target; i >= 0 && extra > 0; i--)
		if (s->p[i].lockfd >= 0 && !s->p[i].releasing) {
			s->p[i].releasing = 1;
			extra--;
		}
	for (int i = 0; i < NPART; i++) {
		struct part *p = &s->p[i];
		if (p->lockfd >= 0 && p->releasing && p->pending == 0) {
			if (setcursor(s, i, p->seen) < 0)
				return -1;
			letgo(s, i);
		}
	}
	for (int j = 0; j < NPART && s->nowned < target; j++) {
		int k = (start + j) % NPART;
		if (s->p[k].lockfd < 0 && acquire(s, k) < 0)
			return -1;
	}
	return 0;
}

static void
push(struct ksource *s, int k, uint64_t end)
{
	if (s->fhead + s->nfifo == s->cfifo) {
		if (s->fhead > 0) {
			memmove(s->fifo, s->fifo + s->fhead, s->nfifo * sizeof *s->fifo);
			s->fhead = 0;
		} else {
			s->cfifo = s->cfifo ? 2 * s->cfifo : 1024;
			s->fifo = ev_reallocarray(s->fifo, s->cfifo, sizeof *s->fifo);
		}
	}
	s->fifo[s->fhead + s->nfifo++] = (struct hand){ s->vnext, end, k };
	s->p[k].pending++;
	s->p[k].seen = end;
}

static int
ksource_next(void *impl, struct ev_line *l, int timeout_ms)
{
	struct ksource *s = impl;
	int64_t deadline = timeout_ms > 0 ? ev_mono_ms() + timeout_ms : 0;

	for (;;) {
		if (ev_mono_ms() - s->lastbal >= BALANCE_MS && balance(s) < 0)
			return EV_SRC_ERR;
		int r = s->r ? ev_spool_reader_next(s->r, l) : 0;
		if (r < 0)
			return EV_SRC_ERR;
		if (r > 0) {
			s->rpos = l->pos;
			int k = partof(s, l);
			struct part *p = &s->p[k];
			if (p->lockfd < 0 || p->releasing || l->pos <= p->seen)
				continue;
			push(s, k, l->pos);
			l->pos = s->vnext++;
			l->no = l->pos;
			return EV_SRC_LINE;
		}
		if (!s->follow)
			return EV_SRC_END;
		int t = timeout_ms;
		if (timeout_ms > 0 && (t = (int)(deadline - ev_mono_ms())) <= 0)
			return EV_SRC_IDLE;
		if (t == 0)
			return EV_SRC_IDLE;
		if (t < 0 || t > BALANCE_MS)
			t = BALANCE_MS;
		if ((r = ev_watch_wait(s->w, t)) < 0) {
			ev_warn("%s: wait:", s->spath);
			return EV_SRC_ERR;
		}
		if (r > 0)
			s->lastbal = 0; /* a member may have come or gone */
		else if (timeout_ms >= 0)
			return EV_SRC_IDLE;
	}
}

static int
ksource_commit(void *impl, uint64_t pos)
{
	struct ksource *s = impl;

	while (s->nfifo && s->fifo[s->fhead].v <= pos) {
		struct hand *h = &s->fifo[s->fhead++];
		s->p[h->k].pending--;
		s->p[h->k].donepos = h->end;
		s->nfifo--;
	}
	if (s->nfifo == 0)
		s->fhead = 0;
	/* A quiet partition (nothing of it pending: every event of it up to
	 * where the reader is was handed out and finished) moves up to the
	 * reader now and then, for retention; the others to their last
	 * finished event, written only when it moved. */
	int idle = ev_mono_ms() - s->lastidle >= IDLE_MS;
	if (idle)
		s->lastidle = ev_mono_ms();
	for (int k = 0; k < NPART; k++) {
		struct part *p = &s->p[k];
		if (p->lockfd < 0)
			continue;
		uint64_t to = p->pending ? p->donepos : p->releasing ? p->seen :
		    idle ? s->rpos : p->donepos;
		if (setcursor(s, k, to) < 0)
			return -1;
		if (p->releasing && p->pending == 0)
			letgo(s, k);
	}
	return 0;
}

static int
ksource_close(void *impl)
{
	struct ksource *s = impl;

	for (int k = 0; k < NPART; k++)
		if (s->p[k].lockfd >= 0)
			close(s->p[k].lockfd);
	if (s->memfd >= 0) {
		unlinkat(s->gdir, s->memname, 0);
		close(s->memfd);
	}
	if (s->gdir >= 0)
		close(s->gdir);
	if (s->cdir >= 0)
		close(s->cdir);
	ev_spool_reader_free(s->r);
	ev_watch_free(s->w);
	if (s->sp)
		ev_spool_close(s->sp);
	ev_buf_free(&s->kbuf);
	ev_buf_free(&s->err);
	free(s->fifo);
	free(s->name);
	free(s->spath);
	free(s->cpath);
	free(s->gpath);
	free(s);
	return 0;
}

static const struct ev_source_ops ksource_ops = {
	.next = ksource_next, .commit = ksource_commit, .close = ksource_close
};

static int
opendir_at(const char *path, int create, mode_t mode)
{
	if (create && mkdir(path, mode | (mode & 0444) >> 2) < 0 && errno != EEXIST) {
		ev_warn("%s: cannot create:", path);
		return -1;
	}
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		ev_warn("%s: cannot open directory:", path);
	return fd;
}

void *
ev_keyed_source_open(struct ev_spool *sp, const struct ev_source_conf *c,
    const struct ev_source_ops **ops)
{
	struct ksource *s = ev_calloc(1, sizeof *s);
	struct ev_buf b = { 0 };
	char tmp[80];

	s->sp = sp;
	s->cdir = s->gdir = s->memfd = -1;
	for (int k = 0; k < NPART; k++)
		s->p[k].lockfd = -1;
	s->name = ev_strdup(c->group);
	s->spath = ev_strdup(ev_spool_path(sp));
	s->follow = c->follow != 0;
	s->key = c->key;
	s->vnext = 1;
	s->mode = ev_spool_getconf(sp)->mode;
	if (!ev_cursor_valid(c->group) || strlen(c->group) + 3 > EV_CURSOR_NAME_MAX) {
		ev_warn("'%s': not a valid group name", c->group);
		errno = EINVAL;
		goto fail;
	}
	ev_buf_printf(&b, "%s/cursors", s->spath);
	s->cpath = ev_strdup(b.p);
	ev_buf_reset(&b);
	ev_buf_printf(&b, "%s/groups", s->spath);
	int top = opendir_at(b.p, 1, s->mode);
	if (top < 0)
		goto fail;
	close(top);
	ev_buf_printf(&b, "/%s", c->group);
	s->gpath = ev_strdup(b.p);
	if ((s->cdir = opendir_at(s->cpath, 0, s->mode)) < 0 ||
	    (s->gdir = opendir_at(s->gpath, 1, s->mode)) < 0)
		goto fail;
	/* a member file, locked under a temporary name first (as group.c does) */
	snprintf(s->memname, sizeof s->memname, "kmember.%ld-%lld", (long)getpid(),
	    (long long)ev_now_ms());
	snprintf(tmp, sizeof tmp, ".%s.tmp", s->memname);
	if ((s->memfd = ev_lock_take(s->gdir, s->gpath, tmp, s->mode, 0, NULL)) < 0)
		goto fail;
	if (renameat(s->gdir, tmp, s->gdir, s->memname) < 0) {
		ev_warn("%s/%s: cannot rename into place:", s->gpath, s->memname);
		unlinkat(s->gdir, tmp, 0);
		goto fail;
	}
	if (!(s->w = ev_watch_new(s->cpath)))
		goto fail;
	ev_buf_reset(&b);
	ev_buf_printf(&b, "%s/segments", s->spath);
	if (ev_watch_add(s->w, b.p) < 0 || ev_watch_add(s->w, s->gpath) < 0)
		goto fail;
	if (balance(s) < 0)
		goto fail;
	ev_buf_free(&b);
	*ops = &ksource_ops;
	return s;
fail:
	ev_buf_free(&b);
	s->sp = NULL; /* the caller closes it */
	ksource_close(s);
	return NULL;
}
