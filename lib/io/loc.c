/* SPDX-License-Identifier: ISC */
/* loc.c — choose the backend for a location and dispatch to it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "amqp/url.h"
#include "http/url.h"
#include "io/backend.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/mem.h"
#include "base/time.h"
#include "sign/sign.h"

struct ev_sink {
	const struct ev_sink_ops *ops;
	void *impl;
	char *name;
	struct ev_signer *sign; /* --sign-key: what is written is signed */
	struct ev_buf signed_;
};

struct ev_source {
	const struct ev_source_ops *ops;
	void *impl;
	char *name;
	int seeks_time; /* the location's own, under --hold's wrapper */
};

static int
isdir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The rule for an output that does not exist yet (evkit(7), LOCATIONS): it
 * is made as a file only when its name has an extension. A bare name such
 * as "ordres" is what spools are called, so one that names nothing is a
 * spool mistyped or not made yet: appending to a new file of that name
 * would swallow every event while the spool stays empty. 1 (reported, errno
 * set) when dest is such a name. */
static int
notyetaspool(const char *dest)
{
	struct stat st;
	const char *base = strrchr(dest, '/'), *dot;

	if (lstat(dest, &st) == 0 || errno != ENOENT)
		return 0;
	base = base ? base + 1 : dest;
	dot = strrchr(base, '.');
	if (dot && dot != base && dot[1] != '\0')
		return 0;
	ev_warn("%s: no such spool (evspool init %s makes one); a new file needs a name "
	    "with an extension, such as %s.ndjson", dest, dest, dest);
	errno = ENOENT;
	return 1;
}

struct ev_sink *
ev_sink_open(const char *dest, enum ev_sync sync)
{
	const struct ev_sink_ops *ops = NULL;
	void *impl;

	if (ev_amqp_is(dest))
		impl = ev_amqp_sink_open(dest, sync, &ops);
	else if (dest[0] == '|' || strcmp(dest, "-") == 0)
		impl = ev_fd_sink_open(dest, sync, &ops);
	else if (ev_http_is(dest))
		impl = ev_http_sink_open(dest, sync, &ops);
	else if (isdir(dest))
		impl = ev_spool_sink_open(dest, sync, &ops);
	else if (notyetaspool(dest))
		return NULL;
	else
		impl = ev_fd_sink_open(dest, sync, &ops);
	if (!impl)
		return NULL;
	struct ev_sink *s = ev_malloc(sizeof *s);
	s->ops = ops;
	s->impl = impl;
	s->name = strcmp(dest, "-") == 0 ? ev_strdup("<stdout>") : ev_amqp_redact(dest);
	s->sign = ev_sign_default;
	s->signed_ = (struct ev_buf){ 0 };
	return s;
}

void
ev_sink_nosign(struct ev_sink *s)
{
	if (s)
		s->sign = NULL;
}

int
ev_sink_write(struct ev_sink *s, const char *l, size_t n)
{
	const char *why;

	if (s->sign) {
		ev_buf_reset(&s->signed_);
		if (ev_sign_line(s->sign, &s->signed_, l, n, &why) == 0)
			return s->ops->write(s->impl, s->signed_.p, s->signed_.len);
		if (!ev_quiet)
			ev_warn("%s: cannot sign an event (%s): written unsigned", s->name, why);
	}
	return s->ops->write(s->impl, l, n);
}

int ev_sink_commit(struct ev_sink *s) { return s->ops->commit(s->impl); }
int ev_sink_push(struct ev_sink *s) { return s->ops->push ? s->ops->push(s->impl) : 0; }
const char *ev_sink_name(const struct ev_sink *s) { return s->name; }

int
ev_sink_refused(struct ev_sink *s, struct ev_line *l, const char **why)
{
	return s->ops->refused ? s->ops->refused(s->impl, l, why) : 0;
}

void
ev_sink_counts(const struct ev_sink *s, struct ev_loc_counts *add)
{
	if (s && s->ops->counts)
		s->ops->counts(s->impl, add);
}

void
ev_source_counts(const struct ev_source *s, struct ev_loc_counts *add)
{
	if (s && s->ops->counts)
		s->ops->counts(s->impl, add);
}

void
ev_sink_durable(struct ev_sink *s)
{
	if (s->ops->durable)
		s->ops->durable(s->impl);
}

int
ev_sink_close(struct ev_sink *s)
{
	int r;

	if (!s)
		return 0;
	r = s->ops->close(s->impl);
	ev_buf_free(&s->signed_);
	free(s->name);
	free(s);
	return r;
}

/* The source around a location's state; name is taken. */
static struct ev_source *
newsource(const struct ev_source_ops *ops, void *impl, char *name, int seeks_time)
{
	struct ev_source *s = ev_malloc(sizeof *s);

	s->ops = ops;
	s->impl = impl;
	s->name = name;
	s->seeks_time = seeks_time;
	return s;
}

struct ev_source *
ev_source_open(const char *loc, const struct ev_source_conf *c)
{
	const struct ev_source_ops *ops = NULL;
	void *impl;

	if (ev_amqp_is(loc)) {
		impl = ev_amqp_source_open(loc, c, &ops);
	} else if (ev_http_is(loc)) {
		ev_warn("%s: an HTTP location is an output only (evhttp(1) receives)", loc);
		errno = EINVAL;
		return NULL;
	} else if (strcmp(loc, "-") != 0 && isdir(loc)) {
		impl = ev_spool_source_open(loc, c, &ops);
	} else {
		if (c->cursor || c->group) {
			struct stat st;
			/* a spool we may not look at is not "not a spool" */
			if (strcmp(loc, "-") != 0 && stat(loc, &st) < 0) {
				ev_warn("%s: cannot open:", loc);
				return NULL;
			}
			ev_warn("%s: --%s needs a spool directory as input", loc,
			    c->cursor ? "cursor" : "group");
			errno = EINVAL;
			return NULL;
		}
		impl = ev_fd_source_open(loc, c, &ops);
	}
	if (!impl)
		return NULL;
	int seeks_time = ops->seeks_time;
	if (c->hold || c->expire) {
		const struct ev_source_ops *inner = ops;
		int spool = strcmp(loc, "-") != 0 && !ev_amqp_is(loc) && isdir(loc);
		void *t = ev_timed_source_open(spool ? loc : NULL, spool && (c->cursor || c->group),
		    c, &ops, impl, inner);
		if (!t) {
			inner->close(impl);
			return NULL;
		}
		impl = t;
	}
	return newsource(ops, impl, strcmp(loc, "-") == 0 ? ev_strdup("<stdin>") :
	    ev_amqp_redact(loc), seeks_time);
}

int
ev_source_isspool(const char *loc)
{
	return strcmp(loc, "-") != 0 && !ev_amqp_is(loc) && !ev_http_is(loc) && isdir(loc);
}

int
ev_sink_replies_direct(const char *dest)
{
	return ev_amqp_is(dest);
}

struct ev_source *
ev_source_open_many(char *const *locs, int n, const struct ev_source_conf *c, int priority)
{
	const struct ev_source_ops *ops = NULL;
	void *impl;
	struct ev_buf name = { 0 };

	if (!(impl = ev_fanin_source_open(locs, n, c, priority, &ops)))
		return NULL;
	for (int i = 0; i < n; i++)
		ev_buf_printf(&name, "%s%s", i ? "+" : "", locs[i]);
	return newsource(ops, impl, name.p, ops->seeks_time);
}

int
ev_source_next(struct ev_source *s, struct ev_line *l, int t)
{
	l->toolong = 0; /* for the sources whose lines are bounded by other means */
	return s->ops->next(s->impl, l, t);
}

int
ev_source_waitleft(int timeout_ms, int64_t deadline)
{
	if (timeout_ms <= 0)
		return timeout_ms;
	int64_t left = deadline - ev_mono_ms();
	return left > 0 ? (int)left : 0;
}

int ev_source_acks(const struct ev_source *s) { return s->ops->acks; }
int ev_source_seeks_time(const struct ev_source *s) { return s->seeks_time; }
int ev_source_commit(struct ev_source *s, uint64_t pos) { return s->ops->commit(s->impl, pos); }

int
ev_source_pollfd(const struct ev_source *s)
{
	return s->ops->pollfd ? s->ops->pollfd(s->impl) : -1;
}

int
ev_source_close(struct ev_source *s)
{
	int r;

	if (!s)
		return 0;
	r = s->ops->close(s->impl);
	free(s->name);
	free(s);
	return r;
}
