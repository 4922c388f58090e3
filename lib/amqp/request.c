/* SPDX-License-Identifier: ISC */
/* request.c — request/reply over a broker: direct reply-to for the
 * requester, a publisher by routing key for the replier (see request.h). */
#include <amqp.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "amqp/link.h"
#include "amqp/props.h"
#include "amqp/request.h"
#include "amqp/url.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/mem.h"
#include "base/time.h"
#include "event/event.h"

static int
nosetup(void *owner)
{
	(void)owner;
	return 0;
}

static int
replysetup(void *owner)
{
	struct link *l = owner;

	amqp_basic_consume(l->conn, CHAN, link_bytes(EV_AMQP_DIRECT_REPLY), amqp_empty_bytes,
	    0, 1, 0, amqp_empty_table);
	return link_rpcok(l, "basic.consume " EV_AMQP_DIRECT_REPLY);
}

/* Where the request goes: the location's routing key, else its queue
 * through the default exchange, else the event's type. */
static void
routingkey(const struct ev_amqp_conf *c, const char *line, size_t len, struct ev_buf *out)
{
	const char *v;
	size_t n;

	ev_buf_reset(out);
	if (c->routing_key)
		ev_buf_adds(out, c->routing_key);
	else if (c->queue && !*c->exchange)
		ev_buf_adds(out, c->queue);
	else if (ev_event_getattr(line, len, "type", &v, &n) == 1 && n >= 2 && *v == '"')
		ev_buf_add(out, v + 1, n - 2);
}

/* Is this delivery the reply to corrid? */
static int
isreply(const amqp_basic_properties_t *p, const char *ev, size_t len, const char *corrid)
{
	const char *v;
	size_t n, cl = strlen(corrid);

	if (p->_flags & AMQP_BASIC_CORRELATION_ID_FLAG)
		return p->correlation_id.len == cl && !memcmp(p->correlation_id.bytes, corrid, cl);
	return ev_event_getattr(ev, len, "correlationid", &v, &n) == 1 && n == cl + 2 &&
	    !memcmp(v + 1, corrid, cl);
}

static int
fail(struct link *l)
{
	ev_warn("%s: %s", l->cf.name, l->msg.p);
	errno = l->err ? l->err : EPROTO;
	return -1;
}

/* A delivery: the reply into reply when it is ours (1; its line ends made
 * spaces), else 0; -1 on a failure (reported). */
static int
readreply(struct link *l, const char *corrid, struct ev_buf *reply, struct ev_amqp_scratch *scr)
{
	amqp_message_t msg;
	amqp_rpc_reply_t rr = amqp_read_message(l->conn, CHAN, &msg, 0);

	if (rr.reply_type != AMQP_RESPONSE_NORMAL) {
		link_rpcfail(l, "reading the reply", rr);
		return fail(l);
	}
	struct ev_amqp_delivery d = { &msg.properties, amqp_empty_bytes, NULL };
	ev_buf_reset(reply);
	if (ev_amqp_event(&d, msg.body.bytes, msg.body.len, ev_now_ms(), reply, scr) == 0)
		ev_buf_add(reply, msg.body.bytes, msg.body.len);
	int mine = isreply(&msg.properties, reply->p, reply->len, corrid);
	amqp_destroy_message(&msg);
	amqp_maybe_release_buffers(l->conn);
	if (!mine)
		return 0;
	for (size_t i = 0; i < reply->len; i++)
		if (reply->p[i] == '\n' || reply->p[i] == '\r')
			reply->p[i] = ' ';
	return 1;
}

/* Wait until end (monotonic ms) for the reply to corrid: 0 with it in
 * reply, 1 when none came in time, -1 (reported, errno set). */
static int
awaitreply(struct link *l, int64_t end, const struct ev_buf *key, const char *corrid,
    struct ev_buf *reply, struct ev_amqp_scratch *scr)
{
	for (;;) {
		int64_t left = end - ev_mono_ms();
		if (left <= 0)
			return 1;
		struct timeval tv = { (time_t)(left / 1000), (suseconds_t)(left % 1000) * 1000 };
		amqp_frame_t f;
		int st = amqp_simple_wait_frame_noblock(l->conn, &f, &tv), r;
		if (st == AMQP_STATUS_TIMEOUT)
			continue;
		if (st != AMQP_STATUS_OK) {
			link_libfail(l, "reading from the broker", st, errno);
			return fail(l);
		}
		if (f.frame_type != AMQP_FRAME_METHOD)
			continue;
		if (f.payload.method.id == AMQP_BASIC_RETURN_METHOD) {
			amqp_basic_return_t *ret = f.payload.method.decoded;
			ev_warn("%s: the request was returned by the broker: %u %.*s (routing key '%s')",
			    l->cf.name, ret->reply_code, (int)ret->reply_text.len,
			    (char *)ret->reply_text.bytes, key->p ? key->p : "");
			errno = ENOENT;
			return -1;
		}
		if (f.payload.method.id != AMQP_BASIC_DELIVER_METHOD) {
			if (link_othermethod(l, &f) < 0)
				return fail(l);
			continue;
		}
		if ((r = readreply(l, corrid, reply, scr)) != 0)
			return r < 0 ? -1 : 0;
	}
}

int
ev_amqp_request(const char *url, const char *line, size_t len, const char *corrid,
    int64_t timeout_ms, struct ev_buf *reply)
{
	struct link l;
	struct ev_amqp_msg m = { 0 };
	struct ev_amqp_scratch scr = { 0 };
	struct ev_buf key = { 0 };
	int64_t end = ev_mono_ms() + timeout_ms;
	int r;

	if (link_init(&l, url, 1, replysetup, &l) < 0)
		return -1;
	if (l.cf.routing_key_jq) {
		ev_warn("%s: routing_key_jq: a request names its routing key (routing_key=)", l.cf.name);
		link_close(&l);
		errno = EINVAL;
		return -1;
	}
	l.owner = &l;
	if (link_up(&l) < 0) {
		int e = errno;
		link_close(&l);
		errno = e;
		return -1;
	}
	ev_amqp_msg_make(&m, line, len, l.cf.binary, ev_now_ms());
	routingkey(&l.cf, line, len, &key);
	int st = amqp_basic_publish(l.conn, CHAN, link_bytes(l.cf.exchange),
	    (amqp_bytes_t){ key.len, key.p }, 1, 0, &m.props, m.body);
	if (st != AMQP_STATUS_OK) {
		link_libfail(&l, "publish", st, errno);
		r = fail(&l);
	} else {
		r = awaitreply(&l, end, &key, corrid, reply, &scr);
	}
	int e = errno;
	ev_amqp_msg_free(&m);
	ev_amqp_scratch_free(&scr);
	ev_buf_free(&key);
	link_close(&l);
	errno = e;
	return r;
}

struct ev_amqp_replier {
	struct link l;
	struct ev_amqp_msg m;
};

struct ev_amqp_replier *
ev_amqp_replier_open(const char *url)
{
	struct ev_amqp_replier *r = ev_calloc(1, sizeof *r);
	struct ev_buf base = { 0 };

	/* the broker of url: its query names what the tool reads, not where replies go */
	ev_buf_add(&base, url, strcspn(url, "?#"));
	if (link_init(&r->l, base.p, 1, nosetup, r) < 0) {
		ev_buf_free(&base);
		free(r);
		return NULL;
	}
	if (link_up(&r->l) < 0) {
		ev_buf_free(&base);
		ev_amqp_replier_close(r);
		return NULL;
	}
	ev_buf_free(&base);
	return r;
}

int
ev_amqp_reply(struct ev_amqp_replier *r, const char *to, const char *line, size_t len)
{
	if (strlen(to) > 255) {
		ev_warn("%s: reply-to '%.20s...' is longer than 255 bytes", r->l.cf.name, to);
		return -1;
	}
	for (int tries = 0; tries < 2; tries++) {
		if (!r->l.conn && link_up(&r->l) < 0)
			return -1;
		ev_amqp_msg_make(&r->m, line, len, 0, ev_now_ms());
		int st = amqp_basic_publish(r->l.conn, CHAN, amqp_empty_bytes, link_bytes(to), 0, 0,
		    &r->m.props, r->m.body);
		if (st == AMQP_STATUS_OK)
			return 0;
		link_libfail(&r->l, "publish", st, errno);
		link_lost(&r->l);
	}
	ev_warn("%s: %s", r->l.cf.name, r->l.msg.p);
	return -1;
}

void
ev_amqp_replier_close(struct ev_amqp_replier *r)
{
	if (!r)
		return;
	link_close(&r->l);
	ev_amqp_msg_free(&r->m);
	free(r);
}
