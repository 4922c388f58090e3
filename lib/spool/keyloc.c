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
 *   groups/NAME/part.K    "POS N dirty" or "POS 0 clean": how partition K
 *                         was left (written without fsync, like a claim)
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
 *
 * Deliveries. Before it hands out the first event of a partition it took,
 * a member writes part.K as "C N dirty" (C the cursor, N the deliveries of
 * the event after C, this one included); a member that lets a partition go
 * with everything committed writes "C 0 clean". Whoever takes a partition
 * left dirty (its owner died, or left with events unfinished) knows the
 * first event after the cursor was delivered before: N times when the
 * cursor is still at C, else once. It hands that event out alone (nothing
 * else is out until it is committed, so that a death is blamed on it and on
 * nothing else), with evdeliveries N+1; an event delivered --max-deliveries
 * times already goes to the dead letters instead, the cursor moves past it,
 * and the key's later events flow in order.
 *
 * A death is blamed on the first event after the cursor as written: with
 * --max-deliveries every commit is written at once, so that it is the event
 * the member was working on (with one job at a time, exactly). Without a
 * limit, cursors are written at most every COMMIT_MS (and when a partition
 * is given up, before waiting, and on leaving): a commit in between is kept
 * in memory, and a crash delivers those events again, as for any cursor.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/mem.h"
#include "base/replace.h"
#include "base/safeopen.h"
#include "base/time.h"
#include "event/event.h"
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
#define COMMIT_MS 1000  /* write the cursors at most this often */

struct part {
	int lockfd;           /* >= 0: ours */
	int releasing;        /* ours until what we handed out of it is committed */
	int marked;           /* part.K says dirty since we took it */
	uint32_t before;      /* deliveries of its first event before ours (0: none) */
	uint64_t pos;         /* written */
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
	struct ev_jpath *path;    /* the key as a path for the scanner, or NULL */
	uint32_t max;             /* --max-deliveries, 0: none */
	struct ev_sink *dead;
	struct ev_buf kbuf, err, tmp[2];
	struct part p[NPART];
	int nowned;
	struct ev_spool_reader *r;
	uint64_t rpos;
	struct hand *fifo;
	size_t fhead, nfifo, cfifo;
	uint64_t vnext;
	struct ev_buf stash;      /* a redelivery, waiting for the others to finish */
	int stashk;               /* its partition, or -1 */
	uint64_t stashend;
	uint64_t alone;           /* a redelivery handed out (its member position), or 0 */
	int alonek;
	struct ev_watch *w;
	int64_t lastbal, lastidle, lastwrite;
};

static void
pname(char *buf, size_t size, const char *group, int k)
{
	snprintf(buf, size, "%s@%d", group, k);
}

static int
partof(struct ksource *s, const struct ev_line *l)
{
	struct ev_jval v, *vp = NULL;

	if (s->path && ev_json_scan(l->p, l->len, &s->path, 1, &v, NULL) == 0)
		vp = &v;
	if (s->path && !vp)
		ev_buf_reset(&s->kbuf); /* not JSON: the tool reports the line */
	else if (ev_key_get(s->key, vp, l->p, l->len, EV_KEY_JSON, &s->kbuf, &s->err) < 0)
		ev_buf_reset(&s->kbuf); /* no key: the tool reports the line */
	return (int)(XXH3_64bits(s->kbuf.p ? s->kbuf.p : "", s->kbuf.len) % NPART);
}

/* Live members (ourselves included); the files of dead ones go. */
static int
members(struct ksource *s)
{
	DIR *d = ev_opendir_fd(s->gdir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return 1;
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

/* --- part.K: how a partition was left ------------------------------------ */

/* Deliveries of the first event after cursor pos, by the owners before. */
static uint32_t
delivered(struct ksource *s, int k, uint64_t pos)
{
	char name[24], buf[96], word[8];
	uint64_t at;
	uint32_t n;
	ssize_t len;
	int fd;

	snprintf(name, sizeof name, "part.%d", k);
	if ((fd = ev_open_regular(s->gdir, name, O_RDONLY)) < 0)
		return 0;
	len = read(fd, buf, sizeof buf - 1);
	close(fd);
	buf[len > 0 ? len : 0] = '\0';
	if (sscanf(buf, "%" SCNu64 " %" SCNu32 " %7s", &at, &n, word) != 3 ||
	    strcmp(word, "dirty") != 0)
		return 0;
	return at == pos && n > 0 ? n : 1;
}

static int
mark(struct ksource *s, int k, uint64_t pos, uint32_t n, int dirty)
{
	char name[24], buf[64];
	int len = snprintf(buf, sizeof buf, "%" PRIu64 " %" PRIu32 " %s\n", pos, n,
	    dirty ? "dirty" : "clean");

	snprintf(name, sizeof name, "part.%d", k);
	return ev_replace(s->gdir, s->gpath, name, buf, (size_t)len, s->mode, 1);
}

/* --- owning partitions ----------------------------------------------------- */

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
	s->p[k] = (struct part){ .lockfd = fd, .pos = pos, .seen = pos, .donepos = pos,
	    .before = delivered(s, k, pos) };
	s->nowned++;
	if ((!s->r || pos < s->rpos) && rewind_to(s, pos) < 0)
		return -1;
	return 1;
fail:
	close(fd);
	return -1;
}

/* Give partition k up; clean when everything handed out of it is committed
 * (and written). */
static void
letgo(struct ksource *s, int k)
{
	struct part *p = &s->p[k];

	if (p->pending == 0 && p->pos == p->seen && (p->marked || p->before == 0))
		mark(s, k, p->pos, 0, 0);
	close(p->lockfd);
	p->lockfd = -1;
	p->releasing = 0;
	s->nowned--;
}

/* Give up what is committed of the partitions being released. */
static int
release(struct ksource *s)
{
	for (int i = 0; i < NPART; i++) {
		struct part *p = &s->p[i];
		if (p->lockfd >= 0 && p->releasing && p->pending == 0) {
			if (setcursor(s, i, p->seen) < 0)
				return -1;
			letgo(s, i);
		}
	}
	return 0;
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
	if (release(s) < 0)
		return -1;
	for (int j = 0; j < NPART && s->nowned < target; j++) {
		int k = (start + j) % NPART;
		if (s->p[k].lockfd < 0 && acquire(s, k) < 0)
			return -1;
	}
	return 0;
}

/* --- handing out ----------------------------------------------------------- */

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

/* Hand out l of partition k, after saying in part.K that the first event
 * after the cursor is out (a member that takes k after our death counts
 * it as delivered). */
static int
handout(struct ksource *s, int k, struct ev_line *l, uint64_t end)
{
	struct part *p = &s->p[k];

	if (!p->marked) {
		if (mark(s, k, p->pos, p->before + 1, 1) < 0)
			return -1;
		p->marked = 1;
	}
	push(s, k, end);
	l->pos = s->vnext++;
	l->no = l->pos;
	return EV_SRC_LINE;
}

/* The first event of a partition its owner left dirty: a dead letter past
 * the limit (0), else kept to be handed out alone with its count (1). */
static int
redeliver(struct ksource *s, int k, const struct ev_line *l)
{
	struct part *p = &s->p[k];
	char num[16];

	if (s->max && p->before >= s->max) {
		if (ev_group_bury(s->dead, s->spath, s->name, l->p, l->len, p->before, s->tmp) < 0 ||
		    setcursor(s, k, l->pos) < 0)
			return -1;
		p->seen = p->donepos = l->pos;
		p->before = 0;
		p->marked = 1; /* (its part.K is stale: an owner after us counts 1) */
		return 0;
	}
	snprintf(num, sizeof num, "%u", (unsigned)p->before + 1);
	ev_buf_reset(&s->stash);
	if (ev_event_setattr(&s->stash, l->p, l->len, "evdeliveries", num) < 0) {
		ev_buf_reset(&s->stash);
		ev_buf_add(&s->stash, l->p, l->len);
	}
	ev_buf_addc(&s->stash, '\0');
	s->stashk = k;
	s->stashend = l->pos;
	return 1;
}

/* The redelivery kept, once nothing else is out. */
static int
handstash(struct ksource *s, struct ev_line *l)
{
	int k = s->stashk;

	l->p = s->stash.p;
	l->len = s->stash.len - 1;
	l->partial = 0;
	s->stashk = -1;
	s->alone = s->vnext;
	s->alonek = k;
	int r = handout(s, k, l, s->stashend);
	s->p[k].before = 0;
	return r;
}

/* The next line of the spool for us: EV_SRC_LINE, 0 when there is none
 * now, or EV_SRC_ERR. */
static int
readline(struct ksource *s, struct ev_line *l)
{
	for (;;) {
		int r = s->r ? ev_spool_reader_next(s->r, l) : 0;
		if (r <= 0)
			return r < 0 ? EV_SRC_ERR : 0;
		s->rpos = l->pos;
		int k = partof(s, l);
		struct part *p = &s->p[k];
		if (p->lockfd < 0 || p->releasing || l->pos <= p->seen)
			continue;
		if (p->before == 0)
			return handout(s, k, l, l->pos);
		if ((r = redeliver(s, k, l)) < 0)
			return EV_SRC_ERR;
		if (r > 0)
			return 0; /* kept: handed out alone */
	}
}

static int writecursors(struct ksource *s, int idle);

/* At the end of the spool without --follow: keep the partitions we were
 * giving up and take every free one, so that none is left unread by
 * members that all ended (1: there is more to read). */
static int
drain(struct ksource *s)
{
	uint64_t from = s->rpos;
	int more = 0;

	for (int k = 0; k < NPART; k++) {
		struct part *p = &s->p[k];
		if (p->lockfd >= 0 && p->releasing) {
			p->releasing = 0;
			if (p->seen < from)
				from = p->seen;
		}
	}
	if (from < s->rpos) {
		if (rewind_to(s, from) < 0)
			return -1;
		more = 1;
	}
	for (int k = 0; k < NPART; k++) {
		uint64_t at = s->rpos;
		int r = s->p[k].lockfd < 0 ? acquire(s, k) : 0;
		if (r < 0)
			return -1;
		if (r > 0 && s->rpos < at)
			more = 1;
	}
	return more;
}

/* Nothing to hand out: wait for the spool or the members, up to t. */
static int
await(struct ksource *s, int t, int timeout_ms)
{
	int r;

	if (writecursors(s, 0) < 0)
		return EV_SRC_ERR;
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
	return 0;
}

static int
ksource_next(void *impl, struct ev_line *l, int timeout_ms)
{
	struct ksource *s = impl;
	int64_t deadline = timeout_ms > 0 ? ev_mono_ms() + timeout_ms : 0;

	for (;;) {
		if (s->alone || (s->stashk >= 0 && s->nfifo))
			return EV_SRC_IDLE; /* the tool commits, then asks again */
		if (s->stashk >= 0)
			return handstash(s, l);
		if (ev_mono_ms() - s->lastbal >= BALANCE_MS && balance(s) < 0)
			return EV_SRC_ERR;
		int r = readline(s, l);
		if (r != 0)
			return r;
		if (s->stashk >= 0)
			continue;
		if (!s->follow) {
			if ((r = drain(s)) < 0)
				return EV_SRC_ERR;
			if (r > 0)
				continue;
			return EV_SRC_END;
		}
		int t = ev_source_waitleft(timeout_ms, deadline);
		if (t == 0 || (r = await(s, t, timeout_ms)) != 0)
			return t == 0 ? EV_SRC_IDLE : r;
	}
}

/* --- committing ------------------------------------------------------------ */

/* Write each partition's cursor: up to its last finished event, or, when
 * nothing of it is pending, up to where the reader is (idle: now and then,
 * for retention; not for a partition whose first event is a redelivery:
 * its count is tied to the cursor). */
static int
writecursors(struct ksource *s, int idle)
{
	s->lastwrite = ev_mono_ms();
	for (int k = 0; k < NPART; k++) {
		struct part *p = &s->p[k];
		if (p->lockfd < 0)
			continue;
		int quiet = idle && p->before == 0 && k != s->stashk;
		uint64_t to = p->pending ? p->donepos : p->releasing ? p->seen :
		    quiet ? s->rpos : p->donepos;
		if (setcursor(s, k, to) < 0)
			return -1;
		if (p->releasing && p->pending == 0)
			letgo(s, k);
	}
	return 0;
}

static int
ksource_commit(void *impl, uint64_t pos)
{
	struct ksource *s = impl;
	int now = 0;

	while (s->nfifo && s->fifo[s->fhead].v <= pos) {
		struct hand *h = &s->fifo[s->fhead++];
		s->p[h->k].pending--;
		s->p[h->k].donepos = h->end;
		s->nfifo--;
	}
	if (s->nfifo == 0)
		s->fhead = 0;
	if (s->alone && s->alone <= pos) {
		/* a redelivery finished: said at once, so that it is not blamed again */
		if (setcursor(s, s->alonek, s->p[s->alonek].donepos) < 0)
			return -1;
		s->alone = 0;
	}
	int64_t t = ev_mono_ms();
	int idle = t - s->lastidle >= IDLE_MS;
	if (idle)
		s->lastidle = t;
	for (int k = 0; k < NPART; k++)
		if (s->p[k].lockfd >= 0 && s->p[k].releasing && s->p[k].pending == 0)
			now = 1;
	if (!now && !idle && s->max == 0 && t - s->lastwrite < COMMIT_MS)
		return 0;
	return writecursors(s, idle);
}

static int
ksource_close(void *impl)
{
	struct ksource *s = impl;
	int r = 0;

	if (s->sp && writecursors(s, 0) < 0)
		r = -1;
	for (int k = 0; k < NPART; k++)
		if (s->p[k].lockfd >= 0)
			letgo(s, k);
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
	ev_buf_free(&s->tmp[0]);
	ev_buf_free(&s->tmp[1]);
	ev_buf_free(&s->stash);
	free(s->fifo);
	free(s->name);
	free(s->spath);
	free(s->cpath);
	free(s->gpath);
	free(s);
	return r;
}

static void
ksource_counts(const void *impl, struct ev_loc_counts *add)
{
	const struct ksource *s = impl;
	const struct ev_loc_counts *c = ev_spool_counts(s->sp);

	add->segopens += c->segopens;
	add->bytesread += c->bytesread;
	add->syncs += c->syncs;
}

static const struct ev_source_ops ksource_ops = {
	.next = ksource_next, .commit = ksource_commit, .close = ksource_close,
	.counts = ksource_counts
};

/* --- joining ----------------------------------------------------------------- */

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

/* The member file, locked under a temporary name first (as group.c does). */
static int
join(struct ksource *s)
{
	char tmp[80];

	snprintf(s->memname, sizeof s->memname, "kmember.%ld-%lld", (long)getpid(),
	    (long long)ev_now_ms());
	snprintf(tmp, sizeof tmp, ".%s.tmp", s->memname);
	if ((s->memfd = ev_lock_take(s->gdir, s->gpath, tmp, s->mode, 0, NULL)) < 0)
		return -1;
	if (renameat(s->gdir, tmp, s->gdir, s->memname) < 0) {
		ev_warn("%s/%s: cannot rename into place:", s->gpath, s->memname);
		unlinkat(s->gdir, tmp, 0);
		return -1;
	}
	return 0;
}

/* cursors/, groups/NAME/ and the watch on them and on segments/. */
static int
opendirs(struct ksource *s, const char *group)
{
	struct ev_buf b = { 0 };
	int r = -1, top;

	ev_buf_printf(&b, "%s/cursors", s->spath);
	s->cpath = ev_strdup(b.p);
	ev_buf_reset(&b);
	ev_buf_printf(&b, "%s/groups", s->spath);
	if ((top = opendir_at(b.p, 1, s->mode)) < 0)
		goto out;
	close(top);
	ev_buf_printf(&b, "/%s", group);
	s->gpath = ev_strdup(b.p);
	if ((s->cdir = opendir_at(s->cpath, 0, s->mode)) < 0 ||
	    (s->gdir = opendir_at(s->gpath, 1, s->mode)) < 0 || join(s) < 0 ||
	    !(s->w = ev_watch_new(s->cpath)))
		goto out;
	ev_buf_reset(&b);
	ev_buf_printf(&b, "%s/segments", s->spath);
	if (ev_watch_add(s->w, b.p) < 0 || ev_watch_add(s->w, s->gpath) < 0)
		goto out;
	r = 0;
out:
	ev_buf_free(&b);
	return r;
}

void *
ev_keyed_source_open(struct ev_spool *sp, const struct ev_source_conf *c,
    const struct ev_source_ops **ops)
{
	struct ksource *s = ev_calloc(1, sizeof *s);

	s->sp = sp;
	s->cdir = s->gdir = s->memfd = s->stashk = -1;
	for (int k = 0; k < NPART; k++)
		s->p[k].lockfd = -1;
	s->name = ev_strdup(c->group);
	s->spath = ev_strdup(ev_spool_path(sp));
	s->follow = c->follow != 0;
	s->key = c->key;
	s->path = ev_key_path(c->key);
	s->max = c->max_deliveries;
	s->dead = c->dead;
	s->vnext = 1;
	s->mode = ev_spool_getconf(sp)->mode;
	if (!ev_cursor_valid(c->group) || strlen(c->group) + 3 > EV_CURSOR_NAME_MAX) {
		ev_warn("'%s': not a valid group name", c->group);
		errno = EINVAL;
		goto fail;
	}
	if (opendirs(s, c->group) < 0 || balance(s) < 0)
		goto fail;
	*ops = &ksource_ops;
	return s;
fail:
	s->sp = NULL; /* the caller closes it */
	ksource_close(s);
	return NULL;
}
