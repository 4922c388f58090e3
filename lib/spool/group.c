/* SPDX-License-Identifier: ISC */
/* group.c — consumer groups: the on-disk state that lets any number of
 * processes share one spool's events, each event to one live member.
 * (Over a thousand lines on purpose: the ledger's format, joining, claims,
 * commits and redelivery are one crash-safety argument, read in one place.)
 *
 * The state (ev-spool(5) says the same, and the two agree) lives in
 * groups/NAME/ inside the spool:
 *
 *   lock         flock(2)ed exclusively by a member for each change of state
 *                (read, change, write, unlock: a few hundred microseconds).
 *   state        the group's ledger, replaced atomically (temporary file,
 *                fsync, rename, fsync of the directory), so a crash at any
 *                moment leaves the old ledger or the new one:
 *                    evkit-group 1
 *                    low 4096             everything before it is finished
 *                    next 9182            nothing from here on is claimed yet
 *                    redelivered 3        counters, for evspool stat
 *                    dead 1
 *                    claimed 4096 5120 1 4242-1764750000123
 *                    free 5120 5200 2
 *                    done 5200 9182
 *                The ranges [A, B) are in order and cover [low, next)
 *                exactly, at line boundaries: claimed by a member (the
 *                number of deliveries, the member's id), free (its member
 *                died or left before finishing it; delivered K times
 *                already), or done (finished out of order, above low).
 *   member.ID    one per live member, flock(2)ed exclusively for the
 *                member's whole life (lock.c), holding "PID SINCE_MS".
 *                ID is the pid and the time it joined, so ids never repeat.
 *                It is locked as .member.ID.tmp and then renamed, so a
 *                member file is never seen unlocked while its member lives.
 *
 * A member, holding the lock:
 *   - Reaps. A claim whose member file is not locked belongs to a member
 *     that is gone (killed, crashed: the kernel dropped its lock): its
 *     claims become free, at once, and its file is deleted. No visibility
 *     timeout to guess: a slow member keeps its claims, a dead one loses
 *     them the moment anyone looks.
 *   - Claims. First a free range: if it was never delivered (what a member
 *     that left had claimed but not handed out), a batch of it; otherwise
 *     its first event alone, as delivery K+1, so that a poison event that
 *     kills every member that takes it is isolated and counted exactly;
 *     past the delivery limit that event is handed to the caller's bury
 *     function (a dead-letter sink, made durable) and marked done instead.
 *     Else fresh events from next: up to a batch, next moves past them.
 *     The new ledger is written before any event of the claim is handed
 *     out, so no event is ever worked on by a member the ledger does not
 *     name.
 *   - Commits, after its outputs are durable: the finished prefix of each
 *     of its claims becomes done; done ranges merge, and low moves past
 *     the done ranges at its front. low is the group's committed position:
 *     retention (evspool gc, and writers at roll-over) keeps every segment
 *     at or after the lowest low of all groups.
 *   - Leaves: what it handed out but did not finish becomes free with its
 *     count (redelivered to the others), what it never handed out becomes
 *     free as never delivered; then it deletes its member file.
 *
 * Crash safety: a member that dies between two ledgers leaves the last one,
 * which names it as the holder of its claims; the next member to take the
 * lock reaps them. Events it finished but had not committed are delivered
 * again (at least once, as for a cursor), and each such event carries the
 * count of its deliveries (evdeliveries). A member that dies while holding
 * the group lock leaves at most a temporary file (.state.PID.tmp); the
 * ledger itself is whole.
 *
 * Members are woken without polling: a new ledger is a rename into the
 * group's directory, and a member's death closes its member file, which
 * it had open for writing (inotify reports both).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/time.h"
#include "base/err.h"
#include "base/buf.h"
#include "base/mem.h"
#include "base/replace.h"
#include "base/safeopen.h"
#include "spool/cursor.h"
#include "spool/group.h"
#include "spool/lock.h"
#include "spool/spool.h"

#define MAGIC "evkit-group 1"
#define ID_MAX 48
#define BATCH_BYTES (4u << 20)
#define BURY_MAX 64 /* events dead-lettered per claim, at most */

enum kind { R_CLAIMED, R_FREE, R_DONE };

struct range {
	uint64_t a, b;
	uint32_t k;              /* deliveries so far (claimed: this one included) */
	enum kind kind;
	char id[ID_MAX];         /* R_CLAIMED: the member */
};

struct ledger {
	uint64_t low, next, redelivered, dead;
	struct range *r;
	size_t n, cap;
};

struct ev_group {
	struct ev_spool *sp;
	char *name, *path;       /* "SPOOL/groups/NAME", for messages */
	int gdir, lockfd, memfd;
	char id[ID_MAX];
	char memname[ID_MAX + 8];
	uint32_t max;
	ev_group_bury_fn bury;
	void *buryarg;
	struct ledger lg;
	struct ev_buf text;
	struct ev_spool_reader *r;
	uint64_t rpos;           /* where r will read next */
	struct ev_group_counters ctr;
};

int
ev_group_valid(const char *name)
{
	return ev_cursor_valid(name);
}

static mode_t
dirmode(mode_t m)
{
	return m | (m & 0444) >> 2;
}

void
ev_group_batch_free(struct ev_group_batch *b)
{
	ev_buf_free(&b->buf);
	free(b->line);
	memset(b, 0, sizeof *b);
}

/* --- the ledger ------------------------------------------------------------ */

static struct range *
addrange(struct ledger *lg, size_t at)
{
	if (lg->n == lg->cap) {
		lg->cap = lg->cap ? 2 * lg->cap : 16;
		lg->r = ev_reallocarray(lg->r, lg->cap, sizeof *lg->r);
	}
	memmove(&lg->r[at + 1], &lg->r[at], (lg->n - at) * sizeof *lg->r);
	lg->n++;
	memset(&lg->r[at], 0, sizeof *lg->r);
	return &lg->r[at];
}

static void
delrange(struct ledger *lg, size_t at)
{
	memmove(&lg->r[at], &lg->r[at + 1], (lg->n - at - 1) * sizeof *lg->r);
	lg->n--;
}

/* Split range i at x (a < x < b): i keeps [a, x), i+1 gets [x, b). */
static void
split(struct ledger *lg, size_t i, uint64_t x)
{
	struct range *n = addrange(lg, i + 1);

	*n = lg->r[i];
	n->a = x;
	lg->r[i].b = x;
}

/* Merge neighbours of one kind (free ones only with one count, claimed
 * ones never), and move low past the done ranges at the front. */
static void
normalize(struct ledger *lg)
{
	size_t i = 0;

	while (i + 1 < lg->n) {
		struct range *x = &lg->r[i], *y = &lg->r[i + 1];
		if (x->kind == y->kind && x->b == y->a && (x->kind == R_DONE ||
		    (x->kind == R_FREE && x->k == y->k))) {
			x->b = y->b;
			delrange(lg, i + 1);
			continue;
		}
		i++;
	}
	while (lg->n && lg->r[0].kind == R_DONE) {
		lg->low = lg->r[0].b;
		delrange(lg, 0);
	}
	if (lg->n == 0)
		lg->low = lg->next;
	else
		lg->low = lg->r[0].a;
}

static void
format(const struct ledger *lg, struct ev_buf *b)
{
	ev_buf_reset(b);
	ev_buf_printf(b, MAGIC "\nlow %" PRIu64 "\nnext %" PRIu64 "\nredelivered %" PRIu64
	    "\ndead %" PRIu64 "\n", lg->low, lg->next, lg->redelivered, lg->dead);
	for (size_t i = 0; i < lg->n; i++) {
		const struct range *r = &lg->r[i];
		if (r->kind == R_CLAIMED)
			ev_buf_printf(b, "claimed %" PRIu64 " %" PRIu64 " %" PRIu32 " %s\n", r->a, r->b,
			    r->k, r->id);
		else if (r->kind == R_FREE)
			ev_buf_printf(b, "free %" PRIu64 " %" PRIu64 " %" PRIu32 "\n", r->a, r->b, r->k);
		else
			ev_buf_printf(b, "done %" PRIu64 " %" PRIu64 "\n", r->a, r->b);
	}
}

/* A counter line ("low 4096"): 1, 0 when it is not one, -1 an unknown word. */
static int
parsecounter(const char *line, struct ledger *lg, int *seen)
{
	char word[16];
	uint64_t a;
	int end = 0;

	if (sscanf(line, "%15s %" SCNu64 " %n", word, &a, &end) != 2 || end == 0 || line[end])
		return 0;
	if (strcmp(word, "low") == 0)
		lg->low = a, *seen |= 1;
	else if (strcmp(word, "next") == 0)
		lg->next = a, *seen |= 2;
	else if (strcmp(word, "redelivered") == 0)
		lg->redelivered = a;
	else if (strcmp(word, "dead") == 0)
		lg->dead = a;
	else
		return -1;
	return 1;
}

/* A range line ("claimed A B K ID", "free A B K", "done A B"): 0, or -1. */
static int
parserange(const char *line, struct range *r)
{
	char id[ID_MAX + 1];
	int end = 0;

	memset(r, 0, sizeof *r);
	if (sscanf(line, "claimed %" SCNu64 " %" SCNu64 " %" SCNu32 " %48s %n", &r->a, &r->b,
	    &r->k, id, &end) == 4 && end > 0 && line[end] == '\0' && strlen(id) < ID_MAX) {
		r->kind = R_CLAIMED;
		memcpy(r->id, id, strlen(id) + 1);
		return 0;
	}
	end = 0;
	if (sscanf(line, "free %" SCNu64 " %" SCNu64 " %" SCNu32 " %n", &r->a, &r->b, &r->k,
	    &end) == 3 && end > 0 && line[end] == '\0') {
		r->kind = R_FREE;
		return 0;
	}
	end = 0;
	r->k = 0;
	if (sscanf(line, "done %" SCNu64 " %" SCNu64 " %n", &r->a, &r->b, &end) == 2 &&
	    end > 0 && line[end] == '\0') {
		r->kind = R_DONE;
		return 0;
	}
	return -1;
}

/* The ranges tile [low, next). */
static int
tiles(const struct ledger *lg)
{
	uint64_t at = lg->low;

	for (size_t i = 0; i < lg->n; i++) {
		if (lg->r[i].a != at || lg->r[i].b <= lg->r[i].a)
			return 0;
		at = lg->r[i].b;
	}
	return at == lg->next;
}

static int
parse(char *text, struct ledger *lg, const char *path)
{
	char *line, *save = NULL;
	int no = 0, seen = 0, c;
	struct range r;

	lg->n = 0;
	lg->low = lg->next = lg->redelivered = lg->dead = 0;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (++no == 1) {
			if (strcmp(line, MAGIC) != 0)
				goto bad;
		} else if ((c = parsecounter(line, lg, &seen)) < 0) {
			goto bad;
		} else if (c == 0) {
			if (parserange(line, &r) < 0)
				goto bad;
			*addrange(lg, lg->n) = r;
		}
	}
	if (seen == 3 && tiles(lg))
		return 0;
bad:
	ev_warn("%s: not a group state (line %d; see ev-spool(5))", path, no);
	errno = EINVAL;
	return -1;
}

/* Read the ledger: 1, 0 when there is none yet, -1 error. */
static int
readstate(int gdir, const char *path, struct ledger *lg, struct ev_buf *text)
{
	struct stat st;
	char buf[65536];
	ssize_t n;
	int fd = openat(gdir, "state", O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		ev_warn("%s/state: cannot open:", path);
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		ev_warn("%s/state: not a regular file", path);
		close(fd);
		errno = EINVAL;
		return -1;
	}
	ev_buf_reset(text);
	while ((n = read(fd, buf, sizeof buf)) > 0)
		ev_buf_add(text, buf, (size_t)n);
	close(fd);
	if (n < 0) {
		ev_warn("%s/state: read:", path);
		return -1;
	}
	ev_buf_addc(text, '\0');
	char name[4096];
	snprintf(name, sizeof name, "%s/state", path);
	return parse(text->p, lg, name) < 0 ? -1 : 1;
}

/* --- a member --------------------------------------------------------------- */

static int
glock(struct ev_group *g, int op)
{
	int r;

	while ((r = flock(g->lockfd, op)) < 0 && errno == EINTR)
		;
	if (r < 0)
		ev_warn("%s/lock: flock:", g->path);
	return r;
}

/* sync: a commit must survive a power loss; a claim need not (forgotten,
 * its events are delivered again), so it is only renamed into place. */
static int
writestate(struct ev_group *g, int sync)
{
	normalize(&g->lg);
	format(&g->lg, &g->text);
	return ev_replace(g->gdir, g->path, "state", g->text.p, g->text.len,
	    ev_spool_getconf(g->sp)->mode, !sync);
}

static void
membername(char *buf, size_t size, const char *id)
{
	snprintf(buf, size, "member.%s", id);
}

/* Claims of members that are gone become free; their files go. 1 when the
 * ledger changed. */
static int
reap(struct ev_group *g)
{
	int changed = 0;

	for (size_t i = 0; i < g->lg.n; i++) {
		struct range *r = &g->lg.r[i];
		char name[ID_MAX + 8];

		if (r->kind != R_CLAIMED || strcmp(r->id, g->id) == 0)
			continue;
		membername(name, sizeof name, r->id);
		int held = ev_lock_held(g->gdir, g->path, name);
		if (held != 0)
			continue; /* alive, or we cannot tell: leave it be */
		char dead[ID_MAX];
		memcpy(dead, r->id, sizeof dead);
		for (size_t j = i; j < g->lg.n; j++)
			if (g->lg.r[j].kind == R_CLAIMED && strcmp(g->lg.r[j].id, dead) == 0)
				g->lg.r[j].kind = R_FREE, g->lg.r[j].id[0] = '\0';
		unlinkat(g->gdir, name, 0);
		changed = 1;
	}
	return changed;
}

/* Member files nobody holds, left by members that died without a claim. */
static void
sweep(struct ev_group *g)
{
	DIR *d = ev_opendir_fd(g->gdir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)))
		if (strncmp(e->d_name, "member.", 7) == 0 && strcmp(e->d_name, g->memname) != 0 &&
		    ev_lock_held(g->gdir, g->path, e->d_name) == 0)
			unlinkat(g->gdir, e->d_name, 0);
	closedir(d);
}

static int
opendirs(struct ev_spool *sp, const char *name, int *gdir, char **path)
{
	mode_t m = dirmode(ev_spool_getconf(sp)->mode);
	struct ev_buf b = { 0 };
	int top, gs;

	ev_buf_printf(&b, "%s/groups", ev_spool_path(sp));
	if ((top = open(ev_spool_path(sp), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		ev_warn("%s: cannot open spool:", ev_spool_path(sp));
		ev_buf_free(&b);
		return -1;
	}
	if (mkdirat(top, "groups", m) < 0 && errno != EEXIST) {
		ev_warn("%s: cannot create:", b.p);
		goto fail;
	}
	if ((gs = openat(top, "groups", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		ev_warn("%s: cannot open directory:", b.p);
		goto fail;
	}
	ev_buf_printf(&b, "/%s", name);
	if (mkdirat(gs, name, m) < 0 && errno != EEXIST) {
		ev_warn("%s: cannot create:", b.p);
		close(gs);
		goto fail;
	}
	*gdir = openat(gs, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	close(gs);
	if (*gdir < 0) {
		ev_warn("%s: cannot open directory:", b.p);
		goto fail;
	}
	close(top);
	*path = ev_strdup(b.p);
	ev_buf_free(&b);
	return 0;
fail:
	close(top);
	ev_buf_free(&b);
	return -1;
}

static void
gfree(struct ev_group *g)
{
	if (g->gdir >= 0)
		close(g->gdir);
	if (g->lockfd >= 0)
		close(g->lockfd);
	if (g->memfd >= 0)
		close(g->memfd);
	ev_spool_reader_free(g->r);
	free(g->lg.r);
	ev_buf_free(&g->text);
	free(g->name);
	free(g->path);
	free(g);
}

/* The member file, locked under a temporary name, then renamed: a member
 * file is never seen unlocked while its member lives (a sweep would delete
 * it). */
static int
addmember(struct ev_group *g, int64_t since)
{
	char buf[64], tmp[ID_MAX + 16];
	int len;

	snprintf(g->id, sizeof g->id, "%ld-%lld", (long)getpid(), (long long)since);
	membername(g->memname, sizeof g->memname, g->id);
	snprintf(tmp, sizeof tmp, ".%s.tmp", g->memname);
	if ((g->memfd = ev_lock_take(g->gdir, g->path, tmp, ev_spool_getconf(g->sp)->mode, 0,
	    NULL)) < 0) {
		if (errno == EBUSY)
			ev_warn("%s/%s: in use", g->path, tmp);
		return -1;
	}
	len = snprintf(buf, sizeof buf, "%ld %lld\n", (long)getpid(), (long long)since);
	if (pwrite(g->memfd, buf, (size_t)len, 0) != len) {
		ev_warn("%s/%s: cannot write:", g->path, tmp);
		goto fail;
	}
	if (renameat(g->gdir, tmp, g->gdir, g->memname) < 0) {
		ev_warn("%s/%s: cannot rename into place:", g->path, g->memname);
		goto fail;
	}
	return 0;
fail:
	unlinkat(g->gdir, tmp, 0);
	close(g->memfd);
	g->memfd = -1;
	return -1;
}

/* Under the lock: the ledger read, or made (a new group starts at the
 * oldest event, registered at once so that retention keeps what it has
 * not read); the claims of dead members freed. */
static int
firstlook(struct ev_group *g)
{
	int have = readstate(g->gdir, g->path, &g->lg, &g->text);

	if (have < 0)
		return -1;
	if (!have) {
		if (ev_spool_pos_start(g->sp, &g->lg.low) < 0)
			return -1;
		g->lg.next = g->lg.low;
		if (writestate(g, 1) < 0)
			return -1;
	} else if (reap(g) && writestate(g, 1) < 0) {
		return -1;
	}
	sweep(g);
	return 0;
}

struct ev_group *
ev_group_join(struct ev_spool *sp, const char *name, uint32_t max_deliveries,
    ev_group_bury_fn bury, void *arg)
{
	struct ev_group *g = ev_calloc(1, sizeof *g);

	g->gdir = g->lockfd = g->memfd = -1;
	g->sp = sp;
	g->max = max_deliveries;
	g->bury = bury;
	g->buryarg = arg;
	if (!ev_group_valid(name)) {
		ev_warn("'%s': not a valid group name (1-%d bytes, no '/', no '..', "
		    "not starting with '.')", name, EV_CURSOR_NAME_MAX);
		errno = EINVAL;
		goto fail;
	}
	g->name = ev_strdup(name);
	if (opendirs(sp, name, &g->gdir, &g->path) < 0 || addmember(g, ev_now_ms()) < 0)
		goto fail;
	if ((g->lockfd = openat(g->gdir, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK, ev_spool_getconf(sp)->mode)) < 0) {
		ev_warn("%s/lock: cannot open:", g->path);
		goto fail;
	}
	if (glock(g, LOCK_EX) < 0)
		goto fail;
	int r = firstlook(g);
	glock(g, LOCK_UN);
	if (r == 0)
		return g;
fail:
	if (g->memfd >= 0)
		unlinkat(g->gdir, g->memname, 0);
	gfree(g);
	return NULL;
}

const char *ev_group_dir(const struct ev_group *g) { return g->path; }
const struct ev_group_counters *ev_group_counters(const struct ev_group *g) { return &g->ctr; }

/* Put the reader at pos. */
static int
seek(struct ev_group *g, uint64_t pos)
{
	if (g->r && g->rpos == pos)
		return 0;
	ev_spool_reader_free(g->r);
	if (!(g->r = ev_spool_reader_new(g->sp, pos, 0)))
		return -1;
	g->rpos = pos;
	return 0;
}

/* Read lines from pos up to limit (or the end), at most max of them and
 * about BATCH_BYTES, into b. The number read, or -1. */
static int
readlines(struct ev_group *g, uint64_t pos, uint64_t limit, size_t max, struct ev_group_batch *b)
{
	struct ev_line l;
	size_t bytes = 0;
	int r;

	if (seek(g, pos) < 0)
		return -1;
	b->n = 0;
	b->start = pos;
	ev_buf_reset(&b->buf);
	while (b->n < max && g->rpos < limit && bytes < BATCH_BYTES) {
		if ((r = ev_spool_reader_next(g->r, &l)) < 0)
			return -1;
		if (r == 0)
			break;
		if (l.pos > limit) {
			ev_warn("%s: a range ends inside a line at %" PRIu64, g->path, limit);
			errno = EINVAL;
			return -1;
		}
		if (b->n == b->cap) {
			b->cap = b->cap ? 2 * b->cap : 64;
			b->line = ev_reallocarray(b->line, b->cap, sizeof *b->line);
		}
		b->line[b->n].off = b->buf.len;
		b->line[b->n].len = l.len;
		b->line[b->n].end = l.pos;
		b->n++;
		ev_buf_add(&b->buf, l.p, l.len);
		ev_buf_addc(&b->buf, '\0');
		bytes += l.len + 1;
		g->rpos = l.pos;
	}
	return (int)b->n;
}

/* Make range i (or its first part up to x) ours. */
static void
take(struct ev_group *g, size_t i, uint64_t x, uint32_t k)
{
	if (x < g->lg.r[i].b)
		split(&g->lg, i, x);
	g->lg.r[i].kind = R_CLAIMED;
	g->lg.r[i].k = k;
	memcpy(g->lg.r[i].id, g->id, sizeof g->id);
}

/* The first event of free range i, delivered as often as allowed: a dead
 * letter, marked done (the rest of the range is next). */
static int
burynext(struct ev_group *g, size_t i, const struct ev_group_batch *b)
{
	uint64_t x = b->line[0].end;

	if (!g->bury || g->bury(g->buryarg, b->buf.p + b->line[0].off, b->line[0].len,
	    g->lg.r[i].k) < 0)
		return -1;
	if (x < g->lg.r[i].b)
		split(&g->lg, i, x);
	g->lg.r[i].kind = R_DONE;
	g->lg.dead++;
	g->ctr.dead++;
	return 0;
}

/* A part of a free range: a batch of one never delivered, else its first
 * event alone as delivery K+1 (or a dead letter past the limit). 1 when b
 * holds a claim, 0 none, -1; *buried counts the dead letters. */
static int
claimfree(struct ev_group *g, size_t maxlines, struct ev_group_batch *b, int *buried)
{
	for (size_t i = 0; i < g->lg.n; i++) {
		struct range *r = &g->lg.r[i];
		if (r->kind != R_FREE)
			continue;
		uint32_t k = r->k;
		int n = readlines(g, r->a, r->b, k == 0 ? maxlines : 1, b);
		if (n < 0)
			return -1;
		if (n == 0) {
			ev_warn("%s: no event at %" PRIu64 " in a free range", g->path, r->a);
			errno = EINVAL;
			return -1;
		}
		if (k > 0 && g->max && k >= g->max) {
			if (*buried == BURY_MAX)
				return 0;
			if (burynext(g, i, b) < 0)
				return -1;
			++*buried;
			continue;
		}
		take(g, i, b->line[n - 1].end, k + 1);
		if (k > 0) {
			g->lg.redelivered++;
			g->ctr.redelivered++;
		}
		b->deliveries = k + 1;
		return 1;
	}
	return 0;
}

/* Up to maxlines fresh events from next: 1, 0 none, -1. */
static int
claimfresh(struct ev_group *g, size_t maxlines, struct ev_group_batch *b)
{
	uint64_t end;
	int n;

	if (ev_spool_pos_end(g->sp, &end) < 0)
		return -1;
	if (g->lg.next >= end)
		return 0;
	if ((n = readlines(g, g->lg.next, end, maxlines, b)) <= 0)
		return n;
	struct range *r = addrange(&g->lg, g->lg.n);
	r->a = g->lg.next;
	r->b = g->lg.next = b->line[n - 1].end;
	r->kind = R_CLAIMED;
	r->k = 1;
	memcpy(r->id, g->id, sizeof g->id);
	b->deliveries = 1;
	return 1;
}

int
ev_group_claim(struct ev_group *g, size_t maxlines, struct ev_group_batch *b)
{
	int changed, got = 0, buried = 0;

	if (maxlines == 0)
		maxlines = 1;
	if (glock(g, LOCK_EX) < 0)
		return -1;
	if (readstate(g->gdir, g->path, &g->lg, &g->text) <= 0)
		goto fail;
	changed = reap(g);
	if ((got = claimfree(g, maxlines, b, &buried)) == 0)
		got = claimfresh(g, maxlines, b);
	if (got < 0)
		goto fail;
	if ((got || changed || buried) && writestate(g, buried > 0) < 0)
		goto fail;
	glock(g, LOCK_UN);
	if (got)
		g->ctr.claims++;
	return got;
fail:
	glock(g, LOCK_UN);
	return -1;
}

/* Our claim that ends at end, or -1. */
static ssize_t
findclaim(struct ev_group *g, uint64_t end)
{
	for (size_t i = 0; i < g->lg.n; i++)
		if (g->lg.r[i].kind == R_CLAIMED && g->lg.r[i].b == end &&
		    strcmp(g->lg.r[i].id, g->id) == 0)
			return (ssize_t)i;
	return -1;
}

/* Mark [a, done) of claim i done; when leaving, [done, handed) becomes free
 * as delivered (redelivered to the others) and [handed, b) free as never
 * delivered. */
static void
settle(struct ev_group *g, size_t i, const struct ev_group_span *s, int leave)
{
	uint64_t a = g->lg.r[i].a, b = g->lg.r[i].b;
	uint64_t done = s->done < a ? a : s->done > b ? b : s->done;
	uint64_t handed = s->handed < done ? done : s->handed > b ? b : s->handed;

	if (done > a) {
		if (done < b)
			split(&g->lg, i, done);
		g->lg.r[i++].kind = R_DONE;
	}
	if (!leave || done == b)
		return;
	if (handed > done) {
		if (handed < b)
			split(&g->lg, i, handed);
		g->lg.r[i].kind = R_FREE;
		g->lg.r[i++].id[0] = '\0';
	}
	if (handed < b) {
		struct range *r = &g->lg.r[i];
		r->kind = R_FREE;
		r->id[0] = '\0';
		r->k = r->k > 0 ? r->k - 1 : 0;
	}
}

static int
update(struct ev_group *g, const struct ev_group_span *s, size_t n, int leave)
{
	if (glock(g, LOCK_EX) < 0)
		return -1;
	if (readstate(g->gdir, g->path, &g->lg, &g->text) <= 0) {
		glock(g, LOCK_UN);
		return -1;
	}
	reap(g);
	for (size_t j = 0; j < n; j++) {
		ssize_t i = findclaim(g, s[j].end);
		if (i >= 0)
			settle(g, (size_t)i, &s[j], leave);
	}
	if (leave) /* anything else still in our name (nothing, normally) */
		for (size_t i = 0; i < g->lg.n; i++)
			if (g->lg.r[i].kind == R_CLAIMED && strcmp(g->lg.r[i].id, g->id) == 0)
				g->lg.r[i].kind = R_FREE, g->lg.r[i].id[0] = '\0';
	int r = writestate(g, 1);
	glock(g, LOCK_UN);
	return r;
}

int
ev_group_commit(struct ev_group *g, const struct ev_group_span *s, size_t n)
{
	return n ? update(g, s, n, 0) : 0;
}

int
ev_group_leave(struct ev_group *g, const struct ev_group_span *s, size_t n)
{
	int r;

	if (!g)
		return 0;
	r = update(g, s, n, 1);
	if (unlinkat(g->gdir, g->memname, 0) < 0 && errno != ENOENT)
		ev_warn("%s/%s: cannot delete:", g->path, g->memname);
	gfree(g);
	return r;
}

/* --- status ------------------------------------------------------------------ */

static int
cmpname(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The group names of sp, sorted; 0 and *n = 0 when there are none. */
static int
listgroups(struct ev_spool *sp, int *gs, char ***names, size_t *n)
{
	int top = open(ev_spool_path(sp), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;
	struct dirent *e;
	char **v = NULL;
	size_t k = 0;

	*names = NULL;
	*n = 0;
	*gs = -1;
	if (top < 0) {
		ev_warn("%s: cannot open spool:", ev_spool_path(sp));
		return -1;
	}
	*gs = openat(top, "groups", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	close(top);
	if (*gs < 0) {
		if (errno == ENOENT)
			return 0;
		ev_warn("%s/groups: cannot open directory:", ev_spool_path(sp));
		return -1;
	}
	int fd = dup(*gs);
	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		ev_warn("%s/groups: cannot list:", ev_spool_path(sp));
		close(*gs);
		*gs = -1;
		return -1;
	}
	while ((e = readdir(d)))
		if (ev_group_valid(e->d_name)) {
			v = ev_reallocarray(v, k + 1, sizeof *v);
			v[k++] = ev_strdup(e->d_name);
		}
	closedir(d);
	if (k)
		qsort(v, k, sizeof *v, cmpname);
	*names = v;
	*n = k;
	return 0;
}

static void
freenames(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* The ledger of group name: 1, 0 when it has none, -1. */
static int
readgroup(struct ev_spool *sp, int gs, const char *name, int *gdir, char **path,
    struct ledger *lg, struct ev_buf *text)
{
	struct ev_buf p = { 0 };
	int r;

	ev_buf_printf(&p, "%s/groups/%s", ev_spool_path(sp), name);
	*path = ev_strdup(p.p);
	ev_buf_free(&p);
	if ((*gdir = openat(gs, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		ev_warn("%s: cannot open directory:", *path);
		return -1;
	}
	r = readstate(*gdir, *path, lg, text);
	return r;
}

typedef int (*visit_fn)(void *arg, struct ev_spool *sp, int gdir, const char *path,
    const char *name, const struct ledger *lg);

/* Call fn for each group of sp that has a ledger, in name order, stopping
 * at the first failure unless keepgoing: 0, 1 when a group could not be
 * read or fn failed, -1 when the groups cannot be listed. */
static int
eachgroup(struct ev_spool *sp, visit_fn fn, void *arg, int keepgoing)
{
	char **names;
	size_t n;
	int gs, err = 0;
	struct ledger lg = { 0 };
	struct ev_buf text = { 0 };

	if (listgroups(sp, &gs, &names, &n) < 0)
		return -1;
	for (size_t i = 0; i < n && (!err || keepgoing); i++) {
		int gdir;
		char *path;
		int r = readgroup(sp, gs, names[i], &gdir, &path, &lg, &text);
		if (r < 0 || (r > 0 && fn(arg, sp, gdir, path, names[i], &lg) < 0))
			err = 1;
		if (gdir >= 0)
			close(gdir);
		free(path);
	}
	if (gs >= 0)
		close(gs);
	freenames(names, n);
	free(lg.r);
	ev_buf_free(&text);
	return err;
}

struct lowest { uint64_t pos; int found; };

static int
lowest(void *arg, struct ev_spool *sp, int gdir, const char *path, const char *name,
    const struct ledger *lg)
{
	struct lowest *x = arg;

	(void)sp, (void)gdir, (void)path, (void)name;
	if (!x->found || lg->low < x->pos)
		x->pos = lg->low, x->found = 1;
	return 0;
}

int
ev_group_lowest(struct ev_spool *sp, uint64_t *pos)
{
	struct lowest x = { 0, 0 };
	int r = eachgroup(sp, lowest, &x, 1);

	if (r < 0)
		return -1;
	if (r > 0) {
		*pos = 0; /* an unreadable group holds retention back: keep everything */
		return 1;
	}
	if (x.found)
		*pos = x.pos;
	return x.found;
}

/* Lines in [a, b) of sp. */
static int
countlines(struct ev_spool *sp, uint64_t a, uint64_t b, uint64_t *n)
{
	struct ev_spool_reader *r;
	struct ev_line l;
	int got;

	if (a >= b)
		return 0;
	if (!(r = ev_spool_reader_new(sp, a, 1)))
		return -1;
	while ((got = ev_spool_reader_next(r, &l)) > 0 && l.pos <= b)
		++*n;
	ev_spool_reader_free(r);
	return got < 0 ? -1 : 0;
}

static void
members(int gdir, const char *path, struct ev_group_stat *st)
{
	DIR *d = ev_opendir_fd(gdir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "member.", 7) != 0 || ev_lock_held(gdir, path, e->d_name) != 1)
			continue;
		char buf[64];
		ssize_t k;
		int f = openat(gdir, e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
		long pid = 0;
		long long since = 0;
		if (f < 0)
			continue;
		k = read(f, buf, sizeof buf - 1);
		close(f);
		buf[k > 0 ? k : 0] = '\0';
		if (sscanf(buf, "%ld %lld", &pid, &since) < 1)
			continue;
		st->members = ev_reallocarray(st->members, st->nmembers + 1, sizeof *st->members);
		st->members[st->nmembers].id = ev_strdup(e->d_name + 7);
		st->members[st->nmembers].pid = (pid_t)pid;
		st->members[st->nmembers++].since_ms = since;
	}
	closedir(d);
}

/* Claimed (by live members) and pending events: the ranges not done,
 * counted by reading them (claims are a batch at most). */
static int
statranges(struct ev_spool *sp, int gdir, const char *path, const struct ledger *lg,
    struct ev_group_stat *s)
{
	for (size_t j = 0; j < lg->n; j++) {
		const struct range *x = &lg->r[j];
		char name[ID_MAX + 8];
		int live = 0;

		if (x->kind == R_DONE)
			continue;
		if (x->kind == R_CLAIMED) {
			membername(name, sizeof name, x->id);
			live = ev_lock_held(gdir, path, name) == 1;
		}
		if (live)
			s->claimed_bytes += x->b - x->a;
		else
			s->pending_bytes += x->b - x->a;
		if (countlines(sp, x->a, x->b, live ? &s->claimed : &s->pending) < 0)
			return -1;
	}
	return 0;
}

/* The status of one group from its ledger: the lag from the kept counts of
 * the spool's segments, not by reading the spool after low. */
static int
statgroup(struct ev_spool *sp, int gdir, const char *path, const char *name,
    const struct ledger *lg, struct ev_group_stat *s)
{
	uint64_t end;

	s->name = ev_strdup(name);
	s->low = lg->low;
	s->next = lg->next;
	s->redelivered = lg->redelivered;
	s->dead = lg->dead;
	members(gdir, path, s);
	if (statranges(sp, gdir, path, lg, s) < 0 || ev_spool_pos_end(sp, &end) < 0)
		return -1;
	if (end <= lg->low)
		return 0;
	s->lag_bytes = end - lg->low;
	return ev_spool_events_after(sp, lg->low, &s->lag_events);
}

struct stats { struct ev_group_stat *v; size_t n; };

static int
statone(void *arg, struct ev_spool *sp, int gdir, const char *path, const char *name,
    const struct ledger *lg)
{
	struct stats *x = arg;

	x->v = ev_reallocarray(x->v, x->n + 1, sizeof *x->v);
	memset(&x->v[x->n], 0, sizeof *x->v);
	return statgroup(sp, gdir, path, name, lg, &x->v[x->n++]);
}

int
ev_group_stat_all(struct ev_spool *sp, struct ev_group_stat **out, size_t *nout)
{
	struct stats x = { ev_calloc(1, sizeof *x.v), 0 };

	if (eachgroup(sp, statone, &x, 0) != 0) {
		ev_group_stat_free(x.v, x.n);
		*out = NULL;
		*nout = 0;
		return -1;
	}
	*out = x.v;
	*nout = x.n;
	return 0;
}

void
ev_group_stat_free(struct ev_group_stat *st, size_t n)
{
	if (!st)
		return;
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < st[i].nmembers; j++)
			free(st[i].members[j].id);
		free(st[i].members);
		free(st[i].name);
	}
	free(st);
}
