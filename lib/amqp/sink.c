/* SPDX-License-Identifier: ISC */
/* sink.c — publish to a broker with confirms: a window of unsettled events,
 * resent in order after a reconnect (the wire is described in link.c). */
#include <amqp.h>
#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "amqp/url.h"
#include "io/backend.h"
#include "io/refused.h"
#include "base/time.h"
#include "base/err.h"
#include "json/jq.h"
#include "json/jsonscan.h"
#include "json/key.h"
#include "base/buf.h"
#include "base/mem.h"
#include "amqp/link.h"
#include "amqp/props.h"

/* ---- the sink ---- */

enum { R_OPEN, R_ACKED, R_NACKED };

struct rec {
	size_t off;          /* body at arena + off, then the routing key */
	uint32_t len, keylen;
	unsigned char state;
};

struct amqpsink {
	struct link l;
	enum ev_sync sync;
	struct ev_key *key;        /* the routing key: routing_key_jq, .type, or NULL */
	struct ev_buf keyout, jqerr, why;
	struct ev_buf arena;       /* the window's bodies and keys */
	struct rec *recs;
	size_t nrec, caprec, nsettled, low;
	uint64_t base;             /* the delivery tag of recs[0] on this connection */
	struct ev_refused refused;  /* events refused, for ev_sink_refused */
	int fd;                    /* plain TCP: frames are batched in out and written here */
	struct ev_buf out;
	size_t framemax;
	unsigned sincepump;
	int failed;                /* errno of a failure that ended the sink */
	struct ev_amqp_msg msg;    /* the message being published */
	struct ev_amqp_scratch scr;/* a returned message made an event again */
	struct ev_buf ev;
};

static void
settle1(struct amqpsink *k, size_t i, int ok)
{
	struct rec *r = &k->recs[i];

	if (r->state != R_OPEN)
		return;
	r->state = ok ? R_ACKED : R_NACKED;
	k->nsettled++;
	if (!ok)
		ev_refused_add(&k->refused, k->arena.p + r->off, r->len,
		    "refused by the broker (basic.nack: a queue is full or failing)");
}

static void
settle(struct amqpsink *k, uint64_t tag, int multiple, int ok)
{
	if (tag < k->base || tag - k->base >= k->nrec)
		return;
	size_t i = (size_t)(tag - k->base);
	if (multiple)
		for (size_t j = k->low; j <= i; j++)
			settle1(k, j, ok);
	else
		settle1(k, i, ok);
	while (k->low < k->nrec && k->recs[k->low].state != R_OPEN)
		k->low++;
}

/* Write the batched frames. librabbitmq writes only inside its own calls,
 * and every one of them comes after a flush, so frames never interleave. */
static int
flush(struct amqpsink *k)
{
	size_t off = 0;

	while (off < k->out.len) {
		ssize_t n = send(k->fd, k->out.p + off, k->out.len - off, MSG_NOSIGNAL);
		if (n >= 0) {
			off += (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			/* A broker that takes nothing for two heartbeats is gone. */
			struct pollfd p = { .fd = k->fd, .events = POLLOUT };
			int r = poll(&p, 1, (k->l.cf.heartbeat ? k->l.cf.heartbeat : 60) * 2000);
			if (r > 0 || (r < 0 && errno == EINTR))
				continue;
			if (r == 0)
				errno = ETIMEDOUT;
		}
		ev_buf_reset(&k->l.msg);
		ev_buf_printf(&k->l.msg, "sending to the broker: %s", strerror(errno));
		link_setfail(&k->l, 1, errno);
		ev_buf_reset(&k->out);
		return -1;
	}
	ev_buf_reset(&k->out);
	return 0;
}

static void
put16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

static void
put32(unsigned char *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* Append one frame's header and return where its payload goes. */
static unsigned char *
frame_begin(struct ev_buf *o, int type, size_t maxpayload)
{
	ev_buf_grow(o, 7 + maxpayload + 1);
	unsigned char *f = (unsigned char *)o->p + o->len;
	f[0] = (unsigned char)type;
	put16(f + 1, CHAN);
	return f + 7;
}

static void
frame_end(struct ev_buf *o, size_t payload)
{
	unsigned char *f = (unsigned char *)o->p + o->len;
	put32(f + 3, (uint32_t)payload);
	f[7 + payload] = AMQP_FRAME_END;
	o->len += 7 + payload + 1;
}

/* basic.publish, its content header and its body frames (k->msg), encoded
 * by librabbitmq's encoders into the batch (AMQP 0-9-1 section 4.2). */
static int
encode(struct amqpsink *k, amqp_bytes_t key)
{
	amqp_bytes_t body = k->msg.body;
	amqp_basic_publish_t m = { 0, link_bytes(k->l.cf.exchange), key, k->l.cf.mandatory, 0 };
	size_t room = 4 + 2 + 2 * 256 + 1, maxbody = k->framemax - 8;
	unsigned char *p = frame_begin(&k->out, AMQP_FRAME_METHOD, room);
	int n;

	put32(p, AMQP_BASIC_PUBLISH_METHOD);
	if ((n = amqp_encode_method(AMQP_BASIC_PUBLISH_METHOD, &m,
	    (amqp_bytes_t){ room - 4, p + 4 })) < 0)
		return n;
	frame_end(&k->out, 4 + (size_t)n);
	room = 12 + ev_amqp_msg_propsize(&k->msg);
	p = frame_begin(&k->out, AMQP_FRAME_HEADER, room);
	put16(p, AMQP_BASIC_CLASS);
	put16(p + 2, 0);
	put32(p + 4, (uint32_t)((uint64_t)body.len >> 32));
	put32(p + 8, (uint32_t)body.len);
	if ((n = amqp_encode_properties(AMQP_BASIC_CLASS, &k->msg.props,
	    (amqp_bytes_t){ room - 12, p + 12 })) < 0)
		return n;
	frame_end(&k->out, 12 + (size_t)n);
	for (size_t off = 0; off < body.len; off += maxbody) {
		size_t len = body.len - off < maxbody ? body.len - off : maxbody;
		p = frame_begin(&k->out, AMQP_FRAME_BODY, len);
		memcpy(p, (char *)body.bytes + off, len);
		frame_end(&k->out, len);
	}
	return AMQP_STATUS_OK;
}

static int
publish(struct amqpsink *k, const struct rec *r)
{
	amqp_bytes_t key = { r->keylen, k->arena.p + r->off + r->len };
	int st;

	/* refused at write when binary mode cannot make a message of it */
	ev_amqp_msg_make(&k->msg, k->arena.p + r->off, r->len, k->l.cf.binary, ev_now_ms());
	if (k->fd >= 0) {
		if ((st = encode(k, key)) != AMQP_STATUS_OK) {
			link_libfail(&k->l, "publish", st, 0);
			return -1;
		}
		return k->out.len >= OUTBUF ? flush(k) : 0;
	}
	errno = 0;
	st = amqp_basic_publish(k->l.conn, CHAN, link_bytes(k->l.cf.exchange), key,
	    k->l.cf.mandatory, 0, &k->msg.props, k->msg.body);
	if (st != AMQP_STATUS_OK) {
		link_libfail(&k->l, "publish", st, errno);
		return -1;
	}
	return 0;
}

/* A basic.return: the message that follows comes back to us, refused. */
static int
returned(struct amqpsink *k, amqp_basic_return_t *m)
{
	amqp_message_t msg;
	amqp_rpc_reply_t r;

	ev_buf_reset(&k->why);
	ev_buf_printf(&k->why, "returned by the broker: %u %.*s (exchange '%.*s', routing key '%.*s')",
	    m->reply_code, (int)m->reply_text.len, (char *)m->reply_text.bytes,
	    (int)m->exchange.len, (char *)m->exchange.bytes,
	    (int)m->routing_key.len, (char *)m->routing_key.bytes);
	r = amqp_read_message(k->l.conn, CHAN, &msg, 0);
	if (r.reply_type != AMQP_RESPONSE_NORMAL) {
		link_rpcfail(&k->l, "reading a returned message", r);
		return -1;
	}
	/* in binary mode the body is the data alone: the event is made again */
	struct ev_amqp_delivery d = { &msg.properties, m->routing_key, NULL };
	ev_buf_reset(&k->ev);
	if (k->l.cf.binary && ev_amqp_event(&d, msg.body.bytes, msg.body.len, ev_now_ms(),
	    &k->ev, &k->scr) == 1)
		ev_refused_add(&k->refused, k->ev.p, k->ev.len, k->why.p);
	else
		ev_refused_add(&k->refused, msg.body.bytes, msg.body.len, k->why.p);
	amqp_destroy_message(&msg);
	return 0;
}

/* Read the broker's replies: wait up to wait_ms (-1: until one comes) for
 * the first, then take whatever else is already here. -1: the link broke. */
static int
pump(struct amqpsink *k, int wait_ms)
{
	amqp_frame_t f;
	struct timeval tv = { wait_ms / 1000, (wait_ms % 1000) * 1000 };
	int st;

	if (k->fd >= 0 && flush(k) < 0)
		return -1;
	for (int first = 1;; first = 0) {
		if (!first && !amqp_frames_enqueued(k->l.conn) && !amqp_data_in_buffer(k->l.conn))
			break;
		if (!first)
			tv.tv_sec = tv.tv_usec = 0;
		errno = 0;
		st = amqp_simple_wait_frame_noblock(k->l.conn, &f, first && wait_ms < 0 ? NULL : &tv);
		if (st == AMQP_STATUS_TIMEOUT)
			break;
		if (st != AMQP_STATUS_OK) {
			link_libfail(&k->l, "reading from the broker", st, errno);
			return -1;
		}
		if (f.frame_type != AMQP_FRAME_METHOD)
			continue;
		switch (f.payload.method.id) {
		case AMQP_BASIC_ACK_METHOD: {
			amqp_basic_ack_t *a = f.payload.method.decoded;
			settle(k, a->delivery_tag, a->multiple, 1);
			break;
		}
		case AMQP_BASIC_NACK_METHOD: {
			amqp_basic_nack_t *a = f.payload.method.decoded;
			settle(k, a->delivery_tag, a->multiple, 0);
			break;
		}
		case AMQP_BASIC_RETURN_METHOD:
			if (returned(k, f.payload.method.decoded) < 0)
				return -1;
			break;
		default:
			if (link_othermethod(&k->l, &f) < 0)
				return -1;
		}
	}
	amqp_maybe_release_buffers(k->l.conn);
	return 0;
}

static int
sink_setup(void *owner)
{
	struct amqpsink *k = owner;

	amqp_confirm_select(k->l.conn, CHAN);
	if (link_rpcok(&k->l, "confirm.select") < 0)
		return -1;
	k->base = 1;
	k->fd = k->l.cf.tls ? -1 : amqp_get_sockfd(k->l.conn);
	k->framemax = (size_t)amqp_get_frame_max(k->l.conn);
	ev_buf_reset(&k->out);
	return 0;
}

/* Reconnect and publish every unsettled event again, in order. */
static int
recover(struct amqpsink *k)
{
	for (;;) {
		if (!k->l.temp) {
			ev_warn("%s: %s", k->l.cf.name, k->l.msg.p);
			k->failed = k->l.err;
			link_lost(&k->l);
			return -1;
		}
		link_lost(&k->l);
		if (link_up(&k->l) < 0) {
			k->failed = errno;
			return -1;
		}
		size_t n = 0;
		for (size_t i = k->low; i < k->nrec; i++)
			if (k->recs[i].state == R_OPEN)
				k->recs[n++] = k->recs[i];
		k->nrec = n;
		k->nsettled = k->low = 0;
		size_t i;
		for (i = 0; i < n && publish(k, &k->recs[i]) == 0; i++)
			;
		if (i == n && (k->fd < 0 || flush(k) == 0))
			return 0;
	}
}

static int
sinkfail(struct amqpsink *k)
{
	errno = k->failed;
	return -1;
}

/* Wait until the broker has settled every event in the window. */
static int
settleall(struct amqpsink *k)
{
	while (k->nsettled < k->nrec)
		if (pump(k, -1) < 0 && recover(k) < 0)
			return sinkfail(k);
	k->base += k->nrec; /* delivery tags go on counting on this channel */
	k->nrec = k->nsettled = k->low = 0;
	ev_buf_reset(&k->arena);
	return 0;
}

/* The routing key for one event, in k->keyout: a string as its text, any
 * other value as its JSON text, the same whether the scanner or jq finds
 * it; -1 refuses the event (why in k->why). */
static int
routingkey(struct amqpsink *k, const char *line, size_t len)
{
	struct ev_jval v, *vp = NULL;
	struct ev_jerr jerr;

	ev_buf_reset(&k->keyout);
	if (!k->key) {
		ev_buf_adds(&k->keyout, k->l.cf.routing_key ? k->l.cf.routing_key :
		    k->l.cf.queue && !*k->l.cf.exchange ? k->l.cf.queue : "");
		return 0;
	}
	struct ev_jpath *path = ev_key_path(k->key);
	if (path) {
		vp = &v;
		if (ev_json_scan(line, len, &path, 1, &v, &jerr) < 0) {
			ev_buf_reset(&k->why);
			ev_buf_printf(&k->why, "no routing key: not one JSON value");
			return -1;
		}
		if (v.type == EV_J_MISSING && v.jqerr && !k->l.cf.routing_key_jq) {
			ev_buf_reset(&k->why);
			ev_buf_printf(&k->why, "no routing key: the event is not an object");
			return -1;
		}
	}
	int n = ev_key_get(k->key, vp, line, len, EV_KEY_TEXT, &k->keyout, &k->jqerr);
	if (n < 0) {
		ev_buf_reset(&k->why);
		ev_buf_printf(&k->why, "no routing key: %s", n == EV_JQ_BADINPUT ?
		    "not one JSON value" : k->jqerr.p);
		return -1;
	}
	if (k->keyout.len > 255) {
		ev_buf_reset(&k->why);
		ev_buf_printf(&k->why, "the routing key is longer than 255 bytes");
		return -1;
	}
	return 0;
}

static int
amqpsink_commit(void *impl)
{
	struct amqpsink *k = impl;

	if (k->failed)
		return sinkfail(k);
	if (k->sync == EV_SYNC_NONE) {
		if (k->nrec && pump(k, 0) < 0 && recover(k) < 0)
			return sinkfail(k);
		return 0;
	}
	return settleall(k);
}

static int
amqpsink_write(void *impl, const char *line, size_t len)
{
	struct amqpsink *k = impl;
	struct rec *r;

	if (k->failed)
		return sinkfail(k);
	if (routingkey(k, line, len) < 0) {
		ev_refused_add(&k->refused, line, len, k->why.p);
		return 0;
	}
	if (k->l.cf.binary && ev_amqp_msg_make(&k->msg, line, len, 1, 0) < 0) {
		ev_refused_add(&k->refused, line, len, "binary mode: the event is not a JSON object");
		return 0;
	}
	if ((k->nrec >= WINDOW_MSGS || k->arena.len >= WINDOW_BYTES) && settleall(k) < 0)
		return -1;
	if (k->nrec == k->caprec) {
		k->caprec = k->caprec ? k->caprec * 2 : 1024;
		k->recs = ev_reallocarray(k->recs, k->caprec, sizeof *k->recs);
	}
	r = &k->recs[k->nrec++];
	r->off = k->arena.len;
	r->len = (uint32_t)len;
	r->keylen = (uint32_t)k->keyout.len;
	r->state = R_OPEN;
	ev_buf_add(&k->arena, line, len);
	ev_buf_add(&k->arena, k->keyout.p, k->keyout.len);
	if (publish(k, r) < 0 && recover(k) < 0)
		return sinkfail(k);
	if (++k->sincepump >= PUMP_EVERY) {
		k->sincepump = 0;
		if (pump(k, 0) < 0 && recover(k) < 0)
			return sinkfail(k);
	}
	return k->sync == EV_SYNC_ALWAYS ? amqpsink_commit(k) : 0;
}

static int
amqpsink_refused(void *impl, struct ev_line *l, const char **why)
{
	struct amqpsink *k = impl;

	return ev_refused_next(&k->refused, l, why);
}

static int
amqpsink_close(void *impl)
{
	struct amqpsink *k = impl;
	struct ev_line l;
	const char *why;
	int r = amqpsink_commit(k), err = errno;

	/* Nobody is left to take these: say so, event and all. */
	while (amqpsink_refused(k, &l, &why) > 0) {
		ev_warn("%s: %s; not kept: %.*s", k->l.cf.name, why, (int)l.len, l.p);
		r = -1;
		err = EPROTO;
	}
	link_close(&k->l);
	ev_key_free(k->key);
	ev_buf_free(&k->keyout);
	ev_buf_free(&k->jqerr);
	ev_buf_free(&k->why);
	ev_buf_free(&k->arena);
	ev_refused_free(&k->refused);
	ev_buf_free(&k->out);
	ev_buf_free(&k->ev);
	ev_amqp_msg_free(&k->msg);
	ev_amqp_scratch_free(&k->scr);
	free(k->recs);
	free(k);
	errno = err;
	return r;
}

static const struct ev_sink_ops amqpsink_ops = {
	.write = amqpsink_write, .commit = amqpsink_commit, .close = amqpsink_close,
	.refused = amqpsink_refused
};

void *
ev_amqp_sink_open(const char *url, enum ev_sync sync, const struct ev_sink_ops **ops)
{
	struct amqpsink *k = ev_calloc(1, sizeof *k);
	struct ev_buf err = { 0 };

	k->sync = sync;
	k->fd = -1;
	if (link_init(&k->l, url, 1, sink_setup, k) < 0) {
		free(k);
		return NULL;
	}
	if (k->l.cf.routing_key_jq || (!k->l.cf.routing_key && !(k->l.cf.queue && !*k->l.cf.exchange))) {
		/* by default the event's type */
		const char *expr = k->l.cf.routing_key_jq ? k->l.cf.routing_key_jq : ".type";
		if (!(k->key = ev_key_compile(expr, &err))) {
			ev_warn("%s: routing_key_jq: %s", k->l.cf.name, err.p);
			ev_buf_free(&err);
			link_close(&k->l);
			free(k);
			errno = EINVAL;
			return NULL;
		}
	}
	ev_buf_free(&err);
	if (link_up(&k->l) < 0) {
		int e = errno;
		amqpsink_close(k);
		errno = e;
		return NULL;
	}
	*ops = &amqpsink_ops;
	return k;
}
