/* SPDX-License-Identifier: ISC */
/* source.c — consume from a broker with manual acks that follow the tool's
 * commits; a stream queue resumes after its last offset (see link.c). */
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
#include "base/time.h"
#include "base/err.h"
#include "base/opts.h"
#include "json/jq.h"
#include "json/jsonscan.h"
#include "base/buf.h"
#include "base/mem.h"
#include "amqp/link.h"
#include "amqp/props.h"

/* ---- the source ---- */

struct amqpsource {
	struct link l;
	int follow;
	int want;                  /* 0: a basic.deliver; 1: its header; 2: its body */
	uint64_t tag;              /* of the message being read */
	uint64_t bodyleft;
	uint64_t bodysize;         /* of the message being read */
	struct ev_buf line;        /* its first --max-event-size bytes */
	uintmax_t no;
	uint64_t held;             /* --no-follow: what the queue held at the start */
	int counted;
	uint64_t acked;            /* the last tag acked on this connection */
	int64_t nextoff;           /* a stream: where to resume after a reconnect */
	int haveoff;
	const amqp_basic_properties_t *props; /* of the message being read, and its */
	amqp_bytes_t rkey;                    /* routing key (in the channel's pool) */
	struct ev_buf ev;          /* the event made of a binary-mode or foreign message */
	struct ev_amqp_scratch scr;
	int64_t lastseen;          /* --no-follow: monotonic ms of the last delivery, ack
	                            * or consumer start; idle counts from here, not
	                            * from each call (evretry polls with timeout 0) */
};

static int
source_setup(void *owner)
{
	struct amqpsource *s = owner;
	struct ev_amqp_conf *c = &s->l.cf;
	amqp_table_entry_t off = { link_bytes("x-stream-offset"), { 0, { .i64 = 0 } } };
	amqp_table_t args = { 1, &off };

	/* --no-follow drains what a queue holds now, however slowly it comes;
	 * a stream's count says nothing about where its consumer starts. */
	if (s->follow == 0 && !s->counted && c->offkind == EV_AMQP_OFF_NONE &&
	    !(c->queue_type && strcmp(c->queue_type, "stream") == 0)) {
		amqp_queue_declare_ok_t *ok = amqp_queue_declare(s->l.conn, CHAN, link_bytes(c->queue),
		    1, 0, 0, 0, amqp_empty_table);
		if (link_rpcok(&s->l, "queue.declare") < 0)
			return -1;
		s->held = ok->message_count;
		s->counted = 1;
	}
	amqp_basic_qos(s->l.conn, CHAN, 0, (uint16_t)c->prefetch, 0);
	if (link_rpcok(&s->l, "basic.qos") < 0)
		return -1;
	if (s->haveoff) {
		off.value.kind = AMQP_FIELD_KIND_I64;
		off.value.value.i64 = s->nextoff;
	} else {
		switch (c->offkind) {
		case EV_AMQP_OFF_NONE:
			args.num_entries = 0;
			break;
		case EV_AMQP_OFF_FIRST: case EV_AMQP_OFF_LAST: case EV_AMQP_OFF_NEXT:
			off.value.kind = AMQP_FIELD_KIND_UTF8;
			off.value.value.bytes = link_bytes(c->offkind == EV_AMQP_OFF_FIRST ? "first" :
			    c->offkind == EV_AMQP_OFF_LAST ? "last" : "next");
			break;
		case EV_AMQP_OFF_NUM:
			off.value.kind = AMQP_FIELD_KIND_I64;
			off.value.value.i64 = c->offset;
			break;
		case EV_AMQP_OFF_TIME:
			off.value.kind = AMQP_FIELD_KIND_TIMESTAMP;
			off.value.value.u64 = (uint64_t)(c->offset / 1000);
			break;
		}
	}
	amqp_basic_consume(s->l.conn, CHAN, link_bytes(c->queue), amqp_empty_bytes, 0, 0, 0,
	    args.num_entries ? args : amqp_empty_table);
	if (link_rpcok(&s->l, "basic.consume") < 0) {
		if (args.num_entries && strstr(s->l.msg.p, "x-stream-offset"))
			ev_buf_adds(&s->l.msg, " (a start position needs a stream queue)");
		return -1;
	}
	s->want = 0;
	s->acked = 0;
	s->lastseen = ev_mono_ms();
	return 0;
}

/* A stream delivery says its offset: resume after it. */
static void
noteoffset(struct amqpsource *s, const amqp_basic_properties_t *p)
{
	if (!(p->_flags & AMQP_BASIC_HEADERS_FLAG))
		return;
	for (int i = 0; i < p->headers.num_entries; i++) {
		const amqp_table_entry_t *e = &p->headers.entries[i];
		if (e->key.len == 15 && memcmp(e->key.bytes, "x-stream-offset", 15) == 0 &&
		    e->value.kind == AMQP_FIELD_KIND_I64) {
			s->nextoff = e->value.value.i64 + 1;
			s->haveoff = 1;
		}
	}
}

/* Hand out the message just read: a structured event as it came (JSON
 * allows no raw newline inside a string, so a body's CR and LF are
 * whitespace: blanks keep it one line), any other message as the event its
 * properties and headers make of it (props.h). */
static int
deliver(struct amqpsource *s, struct ev_line *out)
{
	struct ev_amqp_delivery d = { s->props, s->rkey, s->l.cf.queue };
	int made = 0;

	if (s->bodysize <= ev_max_event) {
		ev_buf_reset(&s->ev);
		made = ev_amqp_event(&d, s->line.p ? s->line.p : "", s->line.len, ev_now_ms(),
		    &s->ev, &s->scr);
	}
	amqp_maybe_release_buffers_on_channel(s->l.conn, CHAN);
	s->props = NULL;
	s->rkey = amqp_empty_bytes;
	for (size_t i = 0; !made && i < s->line.len; i++)
		if (s->line.p[i] == '\n' || s->line.p[i] == '\r')
			s->line.p[i] = ' ';
	s->want = 0;
	s->lastseen = ev_mono_ms();
	out->p = made ? s->ev.p : s->line.p ? s->line.p : "";
	out->len = made ? s->ev.len : s->line.len;
	out->toolong = s->bodysize > ev_max_event ? s->bodysize : 0;
	out->no = ++s->no;
	out->pos = (uint64_t)(s->l.gen & 0xffff) << GENSHIFT | s->tag;
	out->partial = 0;
	return EV_SRC_LINE;
}

/* One frame of the delivery being read. 1: a complete message; 0: more to
 * read; -1: the link broke. */
static int
frame(struct amqpsource *s, amqp_frame_t *f)
{
	if (f->frame_type == AMQP_FRAME_METHOD) {
		if (f->payload.method.id != AMQP_BASIC_DELIVER_METHOD)
			return link_othermethod(&s->l, f);
		amqp_basic_deliver_t *d = f->payload.method.decoded;
		s->tag = d->delivery_tag;
		s->rkey = d->routing_key;
		s->want = 1;
		return 0;
	}
	if (f->frame_type == AMQP_FRAME_HEADER && s->want == 1) {
		s->bodyleft = s->bodysize = f->payload.properties.body_size;
		noteoffset(s, f->payload.properties.decoded);
		s->props = f->payload.properties.decoded;
		ev_buf_reset(&s->line);
		s->want = 2;
		return s->bodyleft == 0;
	}
	if (f->frame_type == AMQP_FRAME_BODY && s->want == 2) {
		amqp_bytes_t b = f->payload.body_fragment;
		if (b.len > s->bodyleft) {
			ev_buf_reset(&s->l.msg);
			ev_buf_adds(&s->l.msg, "a message body longer than its header said");
			link_setfail(&s->l, 1, EPROTO);
			return -1;
		}
		/* past --max-event-size the body is read and dropped, never held */
		if (s->line.len < ev_max_event)
			ev_buf_add(&s->line, b.bytes,
			    b.len < ev_max_event - s->line.len ? b.len : ev_max_event - s->line.len);
		s->bodyleft -= b.len;
		return s->bodyleft == 0;
	}
	return 0;
}

static int
amqpsource_next(void *impl, struct ev_line *out, int timeout_ms)
{
	struct amqpsource *s = impl;
	amqp_frame_t f;

	for (;;) {
		if (!s->l.conn && link_up(&s->l) < 0)
			return EV_SRC_ERR;
		int64_t wait = timeout_ms;
		int ending = 0;
		if (s->follow == 0 && s->want == 0) {
			/* Short of the count, wait longer (another consumer may take some). */
			int64_t idle = s->no >= s->held || s->l.cf.idle_ms >= HELD_IDLE_MS ?
			    s->l.cf.idle_ms : HELD_IDLE_MS;
			int64_t left = idle - (ev_mono_ms() - s->lastseen);
			if (left < 0)
				left = 0;
			if (wait < 0 || left <= wait) {
				wait = left;
				ending = 1;
			}
		}
		/* Inside a message the rest is on its way: wait for it. */
		if (s->want != 0)
			wait = -1;
		struct timeval tv = { (time_t)(wait / 1000), (suseconds_t)(wait % 1000) * 1000 };
		errno = 0;
		int st = amqp_simple_wait_frame_noblock(s->l.conn, &f, wait < 0 ? NULL : &tv);
		if (st == AMQP_STATUS_TIMEOUT)
			return ending ? EV_SRC_END : EV_SRC_IDLE;
		int r = -1;
		if (st != AMQP_STATUS_OK)
			link_libfail(&s->l, "reading from the broker", st, errno);
		else
			r = frame(s, &f);
		if (r > 0)
			return deliver(s, out);
		if (r < 0) {
			link_lost(&s->l);
			if (!s->l.temp) {
				ev_warn("%s: %s", s->l.cf.name, s->l.msg.p);
				errno = s->l.err;
				return EV_SRC_ERR;
			}
		}
	}
}

static int
amqpsource_commit(void *impl, uint64_t pos)
{
	struct amqpsource *s = impl;
	uint64_t tag = pos & (((uint64_t)1 << GENSHIFT) - 1);

	if (!s->l.conn || pos >> GENSHIFT != (s->l.gen & 0xffff) || tag <= s->acked)
		return 0;
	errno = 0;
	int st = amqp_basic_ack(s->l.conn, CHAN, tag, 1);
	if (st != AMQP_STATUS_OK) {
		/* Not a loss: the broker delivers them again, to us or another consumer. */
		link_libfail(&s->l, "ack", st, errno);
		link_lost(&s->l);
		return 0;
	}
	s->acked = tag;
	/* a full prefetch window is refilled only now: idle counts from here too */
	s->lastseen = ev_mono_ms();
	return 0;
}

static int
amqpsource_close(void *impl)
{
	struct amqpsource *s = impl;

	link_close(&s->l);
	ev_buf_free(&s->line);
	ev_buf_free(&s->ev);
	ev_amqp_scratch_free(&s->scr);
	free(s);
	return 0;
}

static const struct ev_source_ops amqpsource_ops = {
	.next = amqpsource_next, .commit = amqpsource_commit, .close = amqpsource_close,
	.acks = 1
};

/* A tool's start position (evtail --from-start, --since, -n 0) is a stream
 * offset; a queue that is not a stream has no history, and the broker says
 * so when the consumer starts. */
static int
startat(struct ev_amqp_conf *cf, const struct ev_source_conf *c)
{
	enum ev_amqp_offkind k;

	switch (c->start) {
	case EV_START_BEGIN: k = EV_AMQP_OFF_FIRST; break;
	case EV_START_END: k = EV_AMQP_OFF_NEXT; break;
	case EV_START_TIME: k = EV_AMQP_OFF_TIME; break;
	case EV_START_LAST:
		if (c->lastdefault)
			return 0; /* a queue hands out what it holds */
		if (c->last == 0) {
			k = EV_AMQP_OFF_NEXT;
			break;
		}
		ev_warn("%s: a broker cannot hand out the last %ju events; "
		    "start a stream at first, at a time or at the next event", cf->name, (uintmax_t)c->last);
		return -1;
	default:
		return 0;
	}
	if (cf->offkind != EV_AMQP_OFF_NONE) {
		ev_warn("%s: stream_offset and the tool's start position exclude each other", cf->name);
		return -1;
	}
	cf->offkind = k;
	cf->offset = k == EV_AMQP_OFF_TIME ? c->since_ms : 0;
	return 0;
}

void *
ev_amqp_source_open(const char *url, const struct ev_source_conf *c,
    const struct ev_source_ops **ops)
{
	if (c->cursor || c->group) {
		char *name = ev_amqp_redact(url);
		ev_warn("%s: --%s needs a spool directory as input "
		    "(a queue keeps its own place: what was acknowledged)", name,
		    c->cursor ? "cursor" : "group");
		free(name);
		errno = EINVAL;
		return NULL;
	}
	struct amqpsource *s = ev_calloc(1, sizeof *s);

	s->follow = c->follow;
	if (link_init(&s->l, url, 0, source_setup, s) < 0) {
		free(s);
		return NULL;
	}
	if (startat(&s->l.cf, c) < 0) {
		amqpsource_close(s);
		errno = EINVAL;
		return NULL;
	}
	if (link_up(&s->l) < 0) {
		int e = errno;
		amqpsource_close(s);
		errno = e;
		return NULL;
	}
	*ops = &amqpsource_ops;
	return s;
}
