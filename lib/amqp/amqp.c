/* SPDX-License-Identifier: ISC */
/* amqp.c — a RabbitMQ broker as a source and a sink (AMQP 0-9-1, librabbitmq).
 *
 * The wire, as evkit uses it (ev-amqp(7) says the same to users):
 *
 * Publishing (sink). Channel 1 is put in confirm mode. Every event is one
 * message: persistent (delivery mode 2), mandatory, content type
 * application/cloudevents+json (the CloudEvents AMQP binding, structured
 * mode: the body is the event's JSON, unchanged). It is kept in a window
 * until the broker settles it:
 *   basic.ack                 it is safe in every queue it was routed to;
 *   basic.return + basic.ack  no queue took it ("unroutable");
 *   basic.nack                the broker could not take it.
 * The last two are "refused": handed back through ev_sink_refused(), so the
 * read loop puts them in --rejects (or stops without committing its input).
 * Commit waits until the whole window is settled. When the connection or
 * the channel fails, the link reconnects with backoff and publishes every
 * unsettled event again, in order: at-least-once, never lost.
 *
 * Consuming (source). basic.qos sets the prefetch window; basic.consume
 * reads with manual acks. A line's position is (connection generation << 48)
 * | delivery tag, and commit(pos) acks everything up to it with one
 * basic.ack(multiple): acks follow the tool's commits, which follow its
 * output's durability. Acks for a connection that died are moot: the broker
 * redelivers whatever was not acked. A stream queue's consumer resumes after
 * the last offset it handed out (the x-stream-offset header of deliveries).
 *
 * Faults. A failure is temporary (connection refused or lost, broker
 * shutting down, heartbeat timeout) or permanent (login refused, no such
 * vhost, queue or exchange, TLS verification): temporary ones are retried
 * with exponential backoff for `retry` (default 60 s) and then end the tool
 * with 111; permanent ones are reported at once (exit 2).
 */
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
#include "json/jq.h"
#include "json/jsonscan.h"
#include "base/buf.h"
#include "base/mem.h"

#define CHAN 1
#define CONTENT_TYPE "application/cloudevents+json; charset=utf-8"
#define DEFAULT_CA "/etc/ssl/certs/ca-certificates.crt"
#define WINDOW_MSGS 16384         /* unsettled events before write waits */
#define WINDOW_BYTES (16 << 20)
#define PUMP_EVERY 256            /* writes between looks at the broker's replies */
#define OUTBUF (64 * 1024)        /* frames sent in one write */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define RPC_TIMEOUT_S 30
#define GENSHIFT 48
#define HELD_IDLE_MS 30000        /* --no-follow, short of what the queue held */

/* One connection with channel CHAN open, remade on demand. */
struct link {
	struct ev_amqp_conf cf;
	amqp_connection_state_t conn;   /* NULL while down */
	unsigned gen;                   /* connections made so far */
	int (*setup)(void *owner);      /* declare, confirm.select or qos + consume */
	void *owner;
	int64_t downsince;              /* monotonic ms when the outage began, or 0 */
	int reported;                   /* the outage has been reported */
	int temp, err;                  /* the last failure: temporary? its errno */
	struct ev_buf msg;              /* the last failure, for reports */
	struct ev_buf lost;             /* why the connection went away */
};

static void
setfail(struct link *l, int temp, int err)
{
	l->temp = temp;
	l->err = err;
}

static int
tempcode(int code)
{
	/* CONNECTION_FORCED (broker shutdown), RESOURCE_LOCKED, RESOURCE_ERROR, INTERNAL_ERROR */
	return code == 320 || code == 405 || code == 506 || code == 541;
}

static int
codeerrno(int code)
{
	switch (code) {
	case 403: case 530: return EACCES;
	case 404: return ENOENT;
	default: return tempcode(code) ? ECONNRESET : EPROTO;
	}
}

/* The broker closed the channel or the connection with code and text. */
static void
closefail(struct link *l, const char *what, int code, amqp_bytes_t text)
{
	ev_buf_reset(&l->msg);
	ev_buf_printf(&l->msg, "%s: %.*s", what, (int)text.len, (const char *)text.bytes);
	if (code == 403 && strncmp(what, "login", 5) == 0)
		ev_buf_printf(&l->msg, " (user '%s': wrong password?)", l->cf.user);
	setfail(l, tempcode(code), codeerrno(code));
}

static void
libfail(struct link *l, const char *what, int st, int syserr)
{
	ev_buf_reset(&l->msg);
	ev_buf_printf(&l->msg, "%s: %s", what, st == AMQP_STATUS_SOCKET_ERROR && syserr ?
	    strerror(syserr) : amqp_error_string2(st));
	if (st == AMQP_STATUS_HOSTNAME_RESOLUTION_FAILED)
		syserr = EHOSTUNREACH;
	switch (st) {
	case AMQP_STATUS_SSL_HOSTNAME_VERIFY_FAILED:
	case AMQP_STATUS_SSL_PEER_VERIFY_FAILED:
	case AMQP_STATUS_SSL_CONNECTION_FAILED:
	case AMQP_STATUS_SSL_SET_ENGINE_FAILED:
	case AMQP_STATUS_SSL_ERROR:
	case AMQP_STATUS_BAD_URL:
	case AMQP_STATUS_INVALID_PARAMETER:
	case AMQP_STATUS_UNSUPPORTED:
	case AMQP_STATUS_BROKER_UNSUPPORTED_SASL_METHOD:
	case AMQP_STATUS_INCOMPATIBLE_AMQP_VERSION:
	case AMQP_STATUS_TABLE_TOO_BIG:
		setfail(l, 0, EPROTO);
		break;
	case AMQP_STATUS_TIMEOUT:
	case AMQP_STATUS_HEARTBEAT_TIMEOUT:
		setfail(l, 1, ETIMEDOUT);
		break;
	default:
		setfail(l, 1, syserr == ECONNREFUSED || syserr == EHOSTUNREACH ||
		    syserr == ENETUNREACH ? syserr : ECONNRESET);
	}
}

/* Describe a failed RPC (what: "login", "queue.declare", ...). */
static void
rpcfail(struct link *l, const char *what, amqp_rpc_reply_t r)
{
	int syserr = errno;

	if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION) {
		libfail(l, what, r.library_error, syserr);
	} else if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION &&
	    r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
		amqp_connection_close_t *m = r.reply.decoded;
		closefail(l, what, m->reply_code, m->reply_text);
	} else if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION &&
	    r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
		amqp_channel_close_t *m = r.reply.decoded;
		closefail(l, what, m->reply_code, m->reply_text);
	} else {
		ev_buf_reset(&l->msg);
		ev_buf_printf(&l->msg, "%s: the broker answered %s", what,
		    r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION ?
		    amqp_method_name(r.reply.id) : "nothing");
		setfail(l, 1, ECONNRESET);
	}
}

static int
rpcok(struct link *l, const char *what)
{
	amqp_rpc_reply_t r = amqp_get_rpc_reply(l->conn);

	if (r.reply_type == AMQP_RESPONSE_NORMAL)
		return 0;
	rpcfail(l, what, r);
	return -1;
}

static amqp_bytes_t
bytes(const char *s)
{
	return amqp_cstring_bytes(s);
}

/* exchange.declare, queue.declare and queue.bind, as the location asks. */
static int
declare(struct link *l)
{
	struct ev_amqp_conf *c = &l->cf;
	amqp_table_entry_t qt = { bytes("x-queue-type"),
		{ AMQP_FIELD_KIND_UTF8, { .bytes = { 0, NULL } } } };
	amqp_table_t qargs = { 0, &qt };

	if (!c->declare) {
		/* Say now, and clearly, that a named exchange is missing. */
		if (*c->exchange && strncmp(c->exchange, "amq.", 4) != 0) {
			amqp_exchange_declare(l->conn, CHAN, bytes(c->exchange), bytes(c->exchange_type),
			    1, 0, 0, 0, amqp_empty_table);
			return rpcok(l, "exchange");
		}
		return 0;
	}
	if (*c->exchange && strncmp(c->exchange, "amq.", 4) != 0) {
		amqp_exchange_declare(l->conn, CHAN, bytes(c->exchange), bytes(c->exchange_type),
		    0, 1, 0, 0, amqp_empty_table);
		if (rpcok(l, "exchange.declare") < 0)
			return -1;
	}
	if (c->queue) {
		if (c->queue_type) {
			qt.value.value.bytes = bytes(c->queue_type);
			qargs.num_entries = 1;
		}
		amqp_queue_declare(l->conn, CHAN, bytes(c->queue), 0, 1, 0, 0,
		    qargs.num_entries ? qargs : amqp_empty_table);
		if (rpcok(l, "queue.declare") < 0)
			return -1;
	}
	for (size_t i = 0; i < c->nbindings; i++) {
		amqp_queue_bind(l->conn, CHAN, bytes(c->queue), bytes(c->exchange),
		    bytes(c->bindings[i]), amqp_empty_table);
		if (rpcok(l, "queue.bind") < 0)
			return -1;
	}
	return 0;
}

/* librabbitmq says only "a socket error occurred": find out which, by
 * trying the connection once more (on this error path only). */
static int
connecterrno(const char *host, int port, int64_t ms)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai, *a;
	char portstr[16];
	int err = 0;

	snprintf(portstr, sizeof portstr, "%d", port);
	if (getaddrinfo(host, portstr, &hints, &ai) != 0)
		return EHOSTUNREACH;
	for (a = ai; a; a = a->ai_next) {
		int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		err = 0;
		if (connect(fd, a->ai_addr, a->ai_addrlen) < 0) {
			err = errno;
			if (err == EINPROGRESS) {
				struct pollfd p = { .fd = fd, .events = POLLOUT };
				socklen_t len = sizeof err;
				if (poll(&p, 1, (int)ms) <= 0)
					err = ETIMEDOUT;
				else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
					err = errno;
			}
		}
		close(fd);
		if (!err)
			break;
	}
	freeaddrinfo(ai);
	return err;
}

static int
link_connect(struct link *l)
{
	struct ev_amqp_conf *c = &l->cf;
	struct timeval tv = { (time_t)(c->connect_ms / 1000), (suseconds_t)(c->connect_ms % 1000) * 1000 };
	struct timeval rpc = { RPC_TIMEOUT_S, 0 };
	amqp_table_entry_t caps[] = {
		{ bytes("authentication_failure_close"), { AMQP_FIELD_KIND_BOOLEAN, { .boolean = 1 } } },
		{ bytes("consumer_cancel_notify"), { AMQP_FIELD_KIND_BOOLEAN, { .boolean = 1 } } },
	};
	amqp_table_entry_t props[] = {
		{ bytes("connection_name"), { AMQP_FIELD_KIND_UTF8, { .bytes = bytes(ev_prog()) } } },
		{ bytes("capabilities"), { AMQP_FIELD_KIND_TABLE, { .table = { 2, caps } } } },
	};
	amqp_table_t proptable = { 2, props };
	amqp_socket_t *s;
	amqp_rpc_reply_t r;
	char where[300];
	int st;

	snprintf(where, sizeof where, "cannot connect to %s:%d", c->host, c->port);
	l->conn = amqp_new_connection();
	if (c->tls) {
		const char *ca = c->cacertfile ? c->cacertfile :
		    access(DEFAULT_CA, R_OK) == 0 ? DEFAULT_CA : NULL;
		if (!(s = amqp_ssl_socket_new(l->conn))) {
			libfail(l, where, AMQP_STATUS_SSL_ERROR, 0);
			goto fail;
		}
		amqp_ssl_socket_set_verify_peer(s, c->verify);
		amqp_ssl_socket_set_verify_hostname(s, c->verify);
		if (ca && (st = amqp_ssl_socket_set_cacert(s, ca)) != AMQP_STATUS_OK) {
			ev_buf_reset(&l->msg);
			ev_buf_printf(&l->msg, "cacertfile %s: cannot load the certificates", ca);
			setfail(l, 0, EINVAL);
			goto fail;
		}
		if (c->certfile && (st = amqp_ssl_socket_set_key(s, c->certfile, c->keyfile)) != AMQP_STATUS_OK) {
			ev_buf_reset(&l->msg);
			ev_buf_printf(&l->msg, "certfile %s, keyfile %s: cannot load the client key",
			    c->certfile, c->keyfile);
			setfail(l, 0, EINVAL);
			goto fail;
		}
	} else if (!(s = amqp_tcp_socket_new(l->conn))) {
		libfail(l, where, AMQP_STATUS_NO_MEMORY, 0);
		goto fail;
	}
	if ((st = amqp_socket_open_noblock(s, c->host, c->port, &tv)) != AMQP_STATUS_OK) {
		libfail(l, where, st, st == AMQP_STATUS_SOCKET_ERROR ?
		    connecterrno(c->host, c->port, c->connect_ms) : 0);
		goto fail;
	}
	amqp_set_handshake_timeout(l->conn, &tv);
	amqp_set_rpc_timeout(l->conn, &rpc);
	r = amqp_login_with_properties(l->conn, c->vhost, 0, AMQP_DEFAULT_FRAME_SIZE, c->heartbeat,
	    &proptable, AMQP_SASL_METHOD_PLAIN, c->user, c->password);
	if (r.reply_type != AMQP_RESPONSE_NORMAL) {
		snprintf(where, sizeof where, "login to vhost '%s' as '%s'", c->vhost, c->user);
		rpcfail(l, where, r);
		if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION)
			goto fail;
		/* A broker that drops the connection during login refused it. */
		if (r.library_error == AMQP_STATUS_CONNECTION_CLOSED)
			setfail(l, 0, EACCES);
		goto fail;
	}
	amqp_channel_open(l->conn, CHAN);
	if (rpcok(l, "channel.open") < 0 || declare(l) < 0 || l->setup(l->owner) < 0)
		goto fail;
	l->gen++;
	return 0;
fail:
	amqp_destroy_connection(l->conn);
	l->conn = NULL;
	return -1;
}

static void
sleepms(int64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void
fmtdur(int64_t ms, char *buf, size_t n)
{
	if (ms % 1000)
		snprintf(buf, n, "%.1f s", (double)ms / 1000);
	else
		snprintf(buf, n, "%lld s", (long long)(ms / 1000));
}

/* The connection failed (l->msg says why): drop it; link_up reconnects. */
static void
link_lost(struct link *l)
{
	if (l->conn)
		amqp_destroy_connection(l->conn);
	l->conn = NULL;
	if (!l->downsince) {
		l->downsince = ev_mono_ms();
		ev_buf_reset(&l->lost);
		ev_buf_adds(&l->lost, l->msg.p ? l->msg.p : "connection lost");
	}
}

/* Connect, with backoff while failures are temporary and `retry` lasts.
 * 0, or -1 reported, errno set (temporary: 111; permanent: 2). */
static int
link_up(struct link *l)
{
	int64_t delay = BACKOFF_MIN_MS;
	char d[32];

	if (l->conn)
		return 0;
	if (!l->downsince)
		l->downsince = ev_mono_ms();
	for (;;) {
		if (link_connect(l) == 0) {
			if (l->reported) {
				fmtdur(ev_mono_ms() - l->downsince, d, sizeof d);
				ev_warn("%s: connected again after %s", l->cf.name, d);
			}
			l->downsince = 0;
			l->reported = 0;
			ev_buf_reset(&l->lost);
			return 0;
		}
		if (!l->temp) {
			ev_warn("%s: %s", l->cf.name, l->msg.p);
			errno = l->err;
			return -1;
		}
		int64_t spent = ev_mono_ms() - l->downsince;
		if (l->cf.retry_ms >= 0 && spent + delay > l->cf.retry_ms) {
			fmtdur(l->cf.retry_ms, d, sizeof d);
			if (l->reported)
				ev_warn("%s: %s; gave up after retrying for %s", l->cf.name, l->msg.p, d);
			else
				ev_warn("%s: %s", l->cf.name, l->msg.p);
			errno = l->err;
			return -1;
		}
		if (!l->reported) {
			if (l->cf.retry_ms >= 0)
				fmtdur(l->cf.retry_ms, d, sizeof d);
			if (l->lost.len)
				ev_warn("%s: connection lost (%s); %s; retrying for up to %s", l->cf.name,
				    l->lost.p, l->msg.p, l->cf.retry_ms >= 0 ? d : "ever");
			else
				ev_warn("%s: %s; retrying for up to %s", l->cf.name, l->msg.p,
				    l->cf.retry_ms >= 0 ? d : "ever");
			l->reported = 1;
		}
		/* jitter: 75% to 125% of the delay, so clients do not come back in step */
		sleepms(delay * 3 / 4 + (int64_t)((uint64_t)ev_mono_ms() * 2654435761u % (uint64_t)(delay / 2 + 1)));
		delay = delay * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : delay * 2;
	}
}

/* Close politely (the broker requeues what was not acked), then free. */
static void
link_close(struct link *l)
{
	if (l->conn) {
		amqp_channel_close(l->conn, CHAN, AMQP_REPLY_SUCCESS);
		amqp_connection_close(l->conn, AMQP_REPLY_SUCCESS);
		amqp_destroy_connection(l->conn);
		l->conn = NULL;
	}
	ev_amqp_conf_free(&l->cf);
	ev_buf_free(&l->msg);
	ev_buf_free(&l->lost);
}

static int
link_init(struct link *l, const char *url, int sink, int (*setup)(void *), void *owner)
{
	struct ev_buf err = { 0 };

	memset(l, 0, sizeof *l);
	l->setup = setup;
	l->owner = owner;
	if (ev_amqp_parse(url, sink, &l->cf, &err) < 0) {
		ev_warn("%s: %s", l->cf.name ? l->cf.name : url, err.p);
		ev_buf_free(&err);
		ev_amqp_conf_free(&l->cf);
		errno = EINVAL;
		return -1;
	}
	ev_buf_free(&err);
	return 0;
}

/* A method frame that is not the one we read for: the broker closing the
 * channel or the connection, or cancelling our consumer. -1: the link is
 * broken (l->msg says why); 0: nothing to do. */
static int
othermethod(struct link *l, amqp_frame_t *f)
{
	switch (f->payload.method.id) {
	case AMQP_CONNECTION_CLOSE_METHOD: {
		amqp_connection_close_t *m = f->payload.method.decoded;
		amqp_connection_close_ok_t ok = { 0 };
		closefail(l, "the broker closed the connection", m->reply_code, m->reply_text);
		amqp_send_method(l->conn, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
		return -1;
	}
	case AMQP_CHANNEL_CLOSE_METHOD: {
		amqp_channel_close_t *m = f->payload.method.decoded;
		closefail(l, "the broker closed the channel", m->reply_code, m->reply_text);
		return -1;
	}
	case AMQP_BASIC_CANCEL_METHOD:
		ev_buf_reset(&l->msg);
		ev_buf_adds(&l->msg, "the broker cancelled the consumer (queue deleted?)");
		setfail(l, 1, ECONNRESET);
		return -1;
	default:
		return 0;
	}
}

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
	struct ev_jq *keyq;        /* the routing key's jq expression, or NULL */
	struct ev_jpath *typepath; /* the default key, the event's .type: read by the scanner */
	struct ev_buf keyout, jqerr, why;
	struct ev_buf arena;       /* the window's bodies and keys */
	struct rec *recs;
	size_t nrec, caprec, nsettled, low;
	uint64_t base;             /* the delivery tag of recs[0] on this connection */
	struct ev_buf refused;     /* refused events: u32 len, body, NUL, reason, NUL; ... */
	size_t refpos;
	int fd;                    /* plain TCP: frames are batched in out and written here */
	struct ev_buf out;
	size_t framemax;
	unsigned sincepump;
	int failed;                /* errno of a failure that ended the sink */
};

static void
addrefused(struct amqpsink *k, const char *p, size_t n, const char *why)
{
	uint32_t len = (uint32_t)n;

	ev_buf_add(&k->refused, &len, sizeof len);
	ev_buf_add(&k->refused, p, n);
	ev_buf_addc(&k->refused, '\0');
	ev_buf_adds(&k->refused, why);
	ev_buf_addc(&k->refused, '\0');
}

static void
settle1(struct amqpsink *k, size_t i, int ok)
{
	struct rec *r = &k->recs[i];

	if (r->state != R_OPEN)
		return;
	r->state = ok ? R_ACKED : R_NACKED;
	k->nsettled++;
	if (!ok)
		addrefused(k, k->arena.p + r->off, r->len,
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

static const amqp_basic_properties_t props = {
	._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG,
	.content_type = { sizeof CONTENT_TYPE - 1, CONTENT_TYPE },
	.delivery_mode = AMQP_DELIVERY_PERSISTENT,
};

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
		setfail(&k->l, 1, errno);
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

/* basic.publish, its content header and its body frames, encoded by
 * librabbitmq's encoders into the batch (AMQP 0-9-1 section 4.2). */
static int
encode(struct amqpsink *k, amqp_bytes_t key, amqp_bytes_t body)
{
	amqp_basic_publish_t m = { 0, bytes(k->l.cf.exchange), key, k->l.cf.mandatory, 0 };
	size_t room = 4 + 2 + 2 * 256 + 1, maxbody = k->framemax - 8;
	unsigned char *p = frame_begin(&k->out, AMQP_FRAME_METHOD, room);
	int n;

	put32(p, AMQP_BASIC_PUBLISH_METHOD);
	if ((n = amqp_encode_method(AMQP_BASIC_PUBLISH_METHOD, &m,
	    (amqp_bytes_t){ room - 4, p + 4 })) < 0)
		return n;
	frame_end(&k->out, 4 + (size_t)n);
	room = 12 + 2 + 1 + sizeof CONTENT_TYPE + 1;
	p = frame_begin(&k->out, AMQP_FRAME_HEADER, room);
	put16(p, AMQP_BASIC_CLASS);
	put16(p + 2, 0);
	put32(p + 4, (uint32_t)((uint64_t)body.len >> 32));
	put32(p + 8, (uint32_t)body.len);
	if ((n = amqp_encode_properties(AMQP_BASIC_CLASS, (void *)&props,
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
	amqp_bytes_t body = { r->len, k->arena.p + r->off };
	amqp_bytes_t key = { r->keylen, k->arena.p + r->off + r->len };
	int st;

	if (k->fd >= 0) {
		if ((st = encode(k, key, body)) != AMQP_STATUS_OK) {
			libfail(&k->l, "publish", st, 0);
			return -1;
		}
		return k->out.len >= OUTBUF ? flush(k) : 0;
	}
	errno = 0;
	st = amqp_basic_publish(k->l.conn, CHAN, bytes(k->l.cf.exchange), key,
	    k->l.cf.mandatory, 0, &props, body);
	if (st != AMQP_STATUS_OK) {
		libfail(&k->l, "publish", st, errno);
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
		rpcfail(&k->l, "reading a returned message", r);
		return -1;
	}
	addrefused(k, msg.body.bytes, msg.body.len, k->why.p);
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
			libfail(&k->l, "reading from the broker", st, errno);
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
			if (othermethod(&k->l, &f) < 0)
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
	if (rpcok(&k->l, "confirm.select") < 0)
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

/* The routing key for one event, in k->keyout; -1 refuses the event (why in k->why). */
static int
routingkey(struct amqpsink *k, const char *line, size_t len)
{
	ev_buf_reset(&k->keyout);
	if (k->typepath) {
		struct ev_jval v;
		struct ev_jerr jerr;
		if (ev_json_scan(line, len, &k->typepath, 1, &v, &jerr) < 0) {
			ev_buf_reset(&k->why);
			ev_buf_printf(&k->why, "no routing key: not one JSON value");
			return -1;
		}
		if (v.type == EV_J_MISSING && v.jqerr) {
			ev_buf_reset(&k->why);
			ev_buf_printf(&k->why, "no routing key: the event is not an object");
			return -1;
		}
		if (v.type == EV_J_STRING)
			ev_jval_str(&v, &k->keyout);
		else if (v.type != EV_J_MISSING && v.type != EV_J_NULL)
			ev_jq_compact(v.p, v.len, &k->keyout); /* as jq would print it */
		goto check;
	}
	if (!k->keyq) {
		ev_buf_adds(&k->keyout, k->l.cf.routing_key ? k->l.cf.routing_key :
		    k->l.cf.queue && !*k->l.cf.exchange ? k->l.cf.queue : "");
		return 0;
	}
	int n = ev_jq_run(k->keyq, line, len, EV_JQ_KEY, &k->keyout, &k->jqerr);
	if (n < 0) {
		ev_buf_reset(&k->why);
		ev_buf_printf(&k->why, "no routing key: %s", n == EV_JQ_BADINPUT ?
		    "not one JSON value" : k->jqerr.p);
		return -1;
	}
	if (n == 0 || strcmp(k->keyout.p, "null") == 0) {
		ev_buf_reset(&k->keyout);
		return 0;
	}
	/* A string result is the key itself; a number or other value, its JSON text. */
	if (k->keyout.len >= 2 && k->keyout.p[0] == '"') {
		memmove(k->keyout.p, k->keyout.p + 1, k->keyout.len - 2);
		k->keyout.len -= 2;
		k->keyout.p[k->keyout.len] = '\0';
	}
check:
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
		addrefused(k, line, len, k->why.p);
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
	uint32_t len;

	if (k->refpos >= k->refused.len) {
		ev_buf_reset(&k->refused);
		k->refpos = 0;
		return 0;
	}
	memcpy(&len, k->refused.p + k->refpos, sizeof len);
	l->p = k->refused.p + k->refpos + sizeof len;
	l->len = len;
	l->no = 0;
	l->pos = 0;
	l->partial = 0;
	*why = l->p + len + 1;
	k->refpos += sizeof len + len + 1 + strlen(*why) + 1;
	return 1;
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
	ev_jq_free(k->keyq);
	ev_jpath_free(k->typepath);
	ev_buf_free(&k->keyout);
	ev_buf_free(&k->jqerr);
	ev_buf_free(&k->why);
	ev_buf_free(&k->arena);
	ev_buf_free(&k->refused);
	ev_buf_free(&k->out);
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
		if (!k->l.cf.routing_key_jq)
			k->typepath = ev_jpath_compile(".type", &err);
		else if (!(k->keyq = ev_jq_compile(k->l.cf.routing_key_jq, NULL, &err))) {
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

/* ---- the source ---- */

struct amqpsource {
	struct link l;
	int follow;
	int want;                  /* 0: a basic.deliver; 1: its header; 2: its body */
	uint64_t tag;              /* of the message being read */
	uint64_t bodyleft;
	struct ev_buf line;
	uintmax_t no;
	uint64_t held;             /* --no-follow: what the queue held at the start */
	int counted;
	uint64_t acked;            /* the last tag acked on this connection */
	int64_t nextoff;           /* a stream: where to resume after a reconnect */
	int haveoff;
};

static int
source_setup(void *owner)
{
	struct amqpsource *s = owner;
	struct ev_amqp_conf *c = &s->l.cf;
	amqp_table_entry_t off = { bytes("x-stream-offset"), { 0, { .i64 = 0 } } };
	amqp_table_t args = { 1, &off };

	/* --no-follow drains what a queue holds now, however slowly it comes;
	 * a stream's count says nothing about where its consumer starts. */
	if (s->follow == 0 && !s->counted && c->offkind == EV_AMQP_OFF_NONE &&
	    !(c->queue_type && strcmp(c->queue_type, "stream") == 0)) {
		amqp_queue_declare_ok_t *ok = amqp_queue_declare(s->l.conn, CHAN, bytes(c->queue),
		    1, 0, 0, 0, amqp_empty_table);
		if (rpcok(&s->l, "queue.declare") < 0)
			return -1;
		s->held = ok->message_count;
		s->counted = 1;
	}
	amqp_basic_qos(s->l.conn, CHAN, 0, (uint16_t)c->prefetch, 0);
	if (rpcok(&s->l, "basic.qos") < 0)
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
			off.value.value.bytes = bytes(c->offkind == EV_AMQP_OFF_FIRST ? "first" :
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
	amqp_basic_consume(s->l.conn, CHAN, bytes(c->queue), amqp_empty_bytes, 0, 0, 0,
	    args.num_entries ? args : amqp_empty_table);
	if (rpcok(&s->l, "basic.consume") < 0) {
		if (args.num_entries && strstr(s->l.msg.p, "x-stream-offset"))
			ev_buf_adds(&s->l.msg, " (a start position needs a stream queue)");
		return -1;
	}
	s->want = 0;
	s->acked = 0;
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

/* Hand out the message just read. JSON allows no raw newline inside a
 * string, so a body's CR and LF are whitespace: blanks keep it one line. */
static int
deliver(struct amqpsource *s, struct ev_line *out)
{
	amqp_maybe_release_buffers_on_channel(s->l.conn, CHAN);
	for (size_t i = 0; i < s->line.len; i++)
		if (s->line.p[i] == '\n' || s->line.p[i] == '\r')
			s->line.p[i] = ' ';
	s->want = 0;
	out->p = s->line.p ? s->line.p : "";
	out->len = s->line.len;
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
			return othermethod(&s->l, f);
		amqp_basic_deliver_t *d = f->payload.method.decoded;
		s->tag = d->delivery_tag;
		s->want = 1;
		return 0;
	}
	if (f->frame_type == AMQP_FRAME_HEADER && s->want == 1) {
		s->bodyleft = f->payload.properties.body_size;
		noteoffset(s, f->payload.properties.decoded);
		ev_buf_reset(&s->line);
		s->want = 2;
		return s->bodyleft == 0;
	}
	if (f->frame_type == AMQP_FRAME_BODY && s->want == 2) {
		amqp_bytes_t b = f->payload.body_fragment;
		if (b.len > s->bodyleft) {
			ev_buf_reset(&s->l.msg);
			ev_buf_adds(&s->l.msg, "a message body longer than its header said");
			setfail(&s->l, 1, EPROTO);
			return -1;
		}
		ev_buf_add(&s->line, b.bytes, b.len);
		s->bodyleft -= b.len;
		return s->bodyleft == 0;
	}
	return 0;
}

static int
amqpsource_next(void *impl, struct ev_line *out, int timeout_ms)
{
	struct amqpsource *s = impl;
	int64_t start = ev_mono_ms();
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
			int64_t left = idle - (ev_mono_ms() - start);
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
			libfail(&s->l, "reading from the broker", st, errno);
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
		libfail(&s->l, "ack", st, errno);
		link_lost(&s->l);
		return 0;
	}
	s->acked = tag;
	return 0;
}

static int
amqpsource_close(void *impl)
{
	struct amqpsource *s = impl;

	link_close(&s->l);
	ev_buf_free(&s->line);
	free(s);
	return 0;
}

static const struct ev_source_ops amqpsource_ops = {
	.next = amqpsource_next, .commit = amqpsource_commit, .close = amqpsource_close
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
