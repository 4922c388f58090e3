/* SPDX-License-Identifier: ISC */
/* reply.c — evretry's replies to requests, routed by replyto with the
 * request's correlation id (the shape is in reply.h and evretry(1)). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "amqp/request.h"
#include "amqp/url.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/mem.h"
#include "event/event.h"
#include "io/loc.h"
#include "json/jsonscan.h"
#include "retry/reply.h"

#define NSINKS 8 /* reply locations kept open */

struct ev_reply {
	char *input, *source;
	struct ev_amqp_replier *amqp;  /* the input's broker, opened at the first reply */
	struct {
		char *loc;
		struct ev_sink *sink;
	} sinks[NSINKS];
	size_t next;                   /* the slot to reuse when all are taken */
	struct ev_buf to, corr, type, ev, data, tmp;
};

struct ev_reply *
ev_reply_new(const char *input, const char *source)
{
	struct ev_reply *r = ev_calloc(1, sizeof *r);

	r->input = input ? ev_strdup(input) : NULL;
	r->source = ev_strdup(source);
	return r;
}

/* A string attribute of line, decoded into out: 1, or 0 when it has none. */
static int
strattr(const char *line, size_t len, const char *name, struct ev_buf *out)
{
	const char *v;
	size_t n;

	ev_buf_reset(out);
	if (ev_event_getattr(line, len, name, &v, &n) != 1 || n < 2 || *v != '"')
		return 0;
	struct ev_jval j = { EV_J_STRING, v, n, memchr(v, '\\', n) != NULL, 0 };
	ev_jval_str(&j, out);
	return out->len > 0;
}

static struct ev_sink *
sinkfor(struct ev_reply *r, const char *loc)
{
	size_t i;

	for (i = 0; i < NSINKS; i++)
		if (r->sinks[i].loc && strcmp(r->sinks[i].loc, loc) == 0)
			return r->sinks[i].sink;
	i = r->next++ % NSINKS;
	if (r->sinks[i].sink) {
		ev_sink_close(r->sinks[i].sink);
		free(r->sinks[i].loc);
		r->sinks[i].loc = NULL;
	}
	if (!(r->sinks[i].sink = ev_sink_open(loc, EV_SYNC_BATCH)))
		return NULL;
	r->sinks[i].loc = ev_strdup(loc);
	return r->sinks[i].sink;
}

static int
isspool(const char *path, struct ev_buf *tmp)
{
	struct stat st;

	if (*path != '/' && *path != '.')
		return 0;
	ev_buf_reset(tmp);
	ev_buf_adds(tmp, path);
	ev_buf_adds(tmp, "/SPOOL");
	return stat(tmp->p, &st) == 0 && S_ISREG(st.st_mode);
}

/* The reply event, in r->ev; -1 when none could be made (reported). */
static int
makereply(struct ev_reply *r, const char *out, size_t n)
{
	struct ev_attr corr = { "correlationid", NULL, 0 };
	struct ev_envelope e = { .source = r->source, .ext = &corr, .next = 1 };
	const char *why, *v;
	size_t vlen;

	while (n > 0 && strchr(" \t\r\n", out[n - 1]))
		n--;
	ev_buf_reset(&r->tmp);
	ev_buf_addjstr(&r->tmp, r->corr.p, r->corr.len);
	corr.json = r->tmp.p;
	corr.len = r->tmp.len;
	ev_buf_reset(&r->ev);
	if (n && ev_json_valid(out, n, NULL) == 0 &&
	    ev_event_getattr(out, n, "type", &v, &vlen) == 1) {
		ev_buf_reset(&r->data);
		ev_buf_add(&r->data, out, n);
		for (size_t i = 0; i < r->data.len; i++)
			if (r->data.p[i] == '\n' || r->data.p[i] == '\r')
				r->data.p[i] = ' ';
		if (ev_event_fill(&r->ev, r->data.p, r->data.len, &e, &why) == 0)
			return 0;
		ev_buf_reset(&r->ev);
	}
	ev_buf_add(&r->type, ".reply", 6);
	e.type = r->type.p;
	ev_buf_reset(&r->data);
	if (n && ev_json_valid(out, n, NULL) == 0) {
		ev_buf_add(&r->data, out, n);
		for (size_t i = 0; i < r->data.len; i++)
			if (r->data.p[i] == '\n' || r->data.p[i] == '\r')
				r->data.p[i] = ' ';
	} else if (n) {
		ev_buf_addjstr(&r->data, out, n);
	}
	return ev_event_build(&r->ev, &e, r->data.len ? r->data.p : NULL, r->data.len);
}

int
ev_reply_send(struct ev_reply *r, const char *req, size_t reqlen, const char *out, size_t n)
{
	struct ev_sink *s;

	if (!strattr(req, reqlen, "replyto", &r->to))
		return 0;
	if (!strattr(req, reqlen, "correlationid", &r->corr) && !strattr(req, reqlen, "id", &r->corr)) {
		ev_warn("a request with a replyto but no correlationid or id: no reply");
		return -1;
	}
	if (!strattr(req, reqlen, "type", &r->type))
		ev_buf_adds(&r->type, "evkit");
	if (makereply(r, out, n) < 0)
		return -1;
	/* a name that is not a path is a queue or a reply-to address on the
	 * input's broker (a direct reply-to address may hold a '/') */
	if (r->input && ev_amqp_is(r->input) && *r->to.p != '/' && *r->to.p != '.') {
		if (!r->amqp && !(r->amqp = ev_amqp_replier_open(r->input)))
			return -1;
		return ev_amqp_reply(r->amqp, r->to.p, r->ev.p, r->ev.len);
	}
	/* A request must not make evretry run a command, write a file of its
	 * choosing or send the broker's password to another host: a reply goes
	 * to a spool that exists, and nowhere else. */
	if (!isspool(r->to.p, &r->tmp)) {
		ev_warn("replyto '%s' (request %s): not a spool%s; no reply", r->to.p, r->corr.p,
		    r->input && ev_amqp_is(r->input) ? " or a name on the input's broker" : "");
		return -1;
	}
	if (!(s = sinkfor(r, r->to.p)))
		return -1;
	if (ev_sink_write(s, r->ev.p, r->ev.len) < 0 || ev_sink_commit(s) < 0) {
		ev_warn("%s: the reply to %s was not delivered:", r->to.p, r->corr.p);
		return -1;
	}
	return 0;
}

void
ev_reply_free(struct ev_reply *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < NSINKS; i++)
		if (r->sinks[i].sink) {
			ev_sink_close(r->sinks[i].sink);
			free(r->sinks[i].loc);
		}
	ev_amqp_replier_close(r->amqp);
	free(r->input);
	free(r->source);
	ev_buf_free(&r->to);
	ev_buf_free(&r->corr);
	ev_buf_free(&r->type);
	ev_buf_free(&r->ev);
	ev_buf_free(&r->data);
	ev_buf_free(&r->tmp);
	free(r);
}
