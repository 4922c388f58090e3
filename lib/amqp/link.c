/* SPDX-License-Identifier: ISC */
/* link.c — a RabbitMQ broker as a source and a sink (AMQP 0-9-1, librabbitmq):
 * the connection, remade on demand. sink.c publishes, source.c consumes.
 *
 * The wire, as evkit uses it (ev-amqp(7) says the same to users):
 *
 * Publishing (sink). Channel 1 is put in confirm mode. Every event is one
 * message: persistent (delivery mode 2), mandatory, content type
 * application/cloudevents+json (the CloudEvents AMQP binding, structured
 * mode: the body is the event's JSON, unchanged; or with mode=binary the
 * binary mode), with properties made of its attributes (props.h, which also
 * says how a delivered message becomes an event). It is kept in a window
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
#include "amqp/link.h"

void
link_setfail(struct link *l, int temp, int err)
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
	link_setfail(l, tempcode(code), codeerrno(code));
}

void
link_libfail(struct link *l, const char *what, int st, int syserr)
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
		link_setfail(l, 0, EPROTO);
		break;
	case AMQP_STATUS_TIMEOUT:
	case AMQP_STATUS_HEARTBEAT_TIMEOUT:
		link_setfail(l, 1, ETIMEDOUT);
		break;
	default:
		link_setfail(l, 1, syserr == ECONNREFUSED || syserr == EHOSTUNREACH ||
		    syserr == ENETUNREACH ? syserr : ECONNRESET);
	}
}

/* Describe a failed RPC (what: "login", "queue.declare", ...). */
void
link_rpcfail(struct link *l, const char *what, amqp_rpc_reply_t r)
{
	int syserr = errno;

	if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION) {
		link_libfail(l, what, r.library_error, syserr);
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
		link_setfail(l, 1, ECONNRESET);
	}
}

int
link_rpcok(struct link *l, const char *what)
{
	amqp_rpc_reply_t r = amqp_get_rpc_reply(l->conn);

	if (r.reply_type == AMQP_RESPONSE_NORMAL)
		return 0;
	link_rpcfail(l, what, r);
	return -1;
}

amqp_bytes_t
link_bytes(const char *s)
{
	return amqp_cstring_bytes(s);
}

/* exchange.declare, queue.declare and queue.bind, as the location asks. */
static int
declare(struct link *l)
{
	struct ev_amqp_conf *c = &l->cf;
	amqp_table_entry_t qt[2];
	amqp_table_t qargs = { 0, qt };

	if (!c->declare) {
		/* Say now, and clearly, that a named exchange is missing. */
		if (*c->exchange && strncmp(c->exchange, "amq.", 4) != 0) {
			amqp_exchange_declare(l->conn, CHAN, link_bytes(c->exchange), link_bytes(c->exchange_type),
			    1, 0, 0, 0, amqp_empty_table);
			return link_rpcok(l, "exchange");
		}
		return 0;
	}
	if (*c->exchange && strncmp(c->exchange, "amq.", 4) != 0) {
		amqp_exchange_declare(l->conn, CHAN, link_bytes(c->exchange), link_bytes(c->exchange_type),
		    0, 1, 0, 0, amqp_empty_table);
		if (link_rpcok(l, "exchange.declare") < 0)
			return -1;
	}
	if (c->queue) {
		if (c->queue_type) {
			qt[qargs.num_entries].key = link_bytes("x-queue-type");
			qt[qargs.num_entries].value.kind = AMQP_FIELD_KIND_UTF8;
			qt[qargs.num_entries++].value.value.bytes = link_bytes(c->queue_type);
		}
		if (c->max_priority) {
			qt[qargs.num_entries].key = link_bytes("x-max-priority");
			qt[qargs.num_entries].value.kind = AMQP_FIELD_KIND_I32;
			qt[qargs.num_entries++].value.value.i32 = (int32_t)c->max_priority;
		}
		amqp_queue_declare(l->conn, CHAN, link_bytes(c->queue), 0, 1, 0, 0,
		    qargs.num_entries ? qargs : amqp_empty_table);
		if (link_rpcok(l, "queue.declare") < 0)
			return -1;
	}
	for (size_t i = 0; i < c->nbindings; i++) {
		amqp_queue_bind(l->conn, CHAN, link_bytes(c->queue), link_bytes(c->exchange),
		    link_bytes(c->bindings[i]), amqp_empty_table);
		if (link_rpcok(l, "queue.bind") < 0)
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

/* The TLS socket, its CA, and the client key; NULL (l->msg says why). */
static amqp_socket_t *
tlssocket(struct link *l, const char *where)
{
	struct ev_amqp_conf *c = &l->cf;
	const char *ca = c->cacertfile ? c->cacertfile :
	    access(DEFAULT_CA, R_OK) == 0 ? DEFAULT_CA : NULL;
	amqp_socket_t *s;

	if (!(s = amqp_ssl_socket_new(l->conn))) {
		link_libfail(l, where, AMQP_STATUS_SSL_ERROR, 0);
		return NULL;
	}
	amqp_ssl_socket_set_verify_peer(s, c->verify);
	amqp_ssl_socket_set_verify_hostname(s, c->verify);
	if (ca && amqp_ssl_socket_set_cacert(s, ca) != AMQP_STATUS_OK) {
		ev_buf_reset(&l->msg);
		ev_buf_printf(&l->msg, "cacertfile %s: cannot load the certificates", ca);
		link_setfail(l, 0, EINVAL);
		return NULL;
	}
	if (c->certfile && amqp_ssl_socket_set_key(s, c->certfile, c->keyfile) != AMQP_STATUS_OK) {
		ev_buf_reset(&l->msg);
		ev_buf_printf(&l->msg, "certfile %s, keyfile %s: cannot load the client key",
		    c->certfile, c->keyfile);
		link_setfail(l, 0, EINVAL);
		return NULL;
	}
	return s;
}

/* Log in, telling the broker who we are and what we understand. */
static int
login(struct link *l)
{
	struct ev_amqp_conf *c = &l->cf;
	amqp_table_entry_t caps[] = {
		{ link_bytes("authentication_failure_close"), { AMQP_FIELD_KIND_BOOLEAN, { .boolean = 1 } } },
		{ link_bytes("consumer_cancel_notify"), { AMQP_FIELD_KIND_BOOLEAN, { .boolean = 1 } } },
	};
	amqp_table_entry_t props[] = {
		{ link_bytes("connection_name"), { AMQP_FIELD_KIND_UTF8, { .bytes = link_bytes(ev_prog()) } } },
		{ link_bytes("capabilities"), { AMQP_FIELD_KIND_TABLE, { .table = { 2, caps } } } },
	};
	amqp_table_t proptable = { 2, props };
	amqp_rpc_reply_t r;
	char where[300];

	r = amqp_login_with_properties(l->conn, c->vhost, 0, AMQP_DEFAULT_FRAME_SIZE, c->heartbeat,
	    &proptable, AMQP_SASL_METHOD_PLAIN, c->user, c->password);
	if (r.reply_type == AMQP_RESPONSE_NORMAL)
		return 0;
	snprintf(where, sizeof where, "login to vhost '%s' as '%s'", c->vhost, c->user);
	link_rpcfail(l, where, r);
	/* A broker that drops the connection during login refused it. */
	if (r.reply_type != AMQP_RESPONSE_SERVER_EXCEPTION &&
	    r.library_error == AMQP_STATUS_CONNECTION_CLOSED)
		link_setfail(l, 0, EACCES);
	return -1;
}

static int
link_connect(struct link *l)
{
	struct ev_amqp_conf *c = &l->cf;
	struct timeval tv = { (time_t)(c->connect_ms / 1000), (suseconds_t)(c->connect_ms % 1000) * 1000 };
	struct timeval rpc = { RPC_TIMEOUT_S, 0 };
	amqp_socket_t *s;
	char where[300];
	int st;

	snprintf(where, sizeof where, "cannot connect to %s:%d", c->host, c->port);
	l->conn = amqp_new_connection();
	if (c->tls) {
		if (!(s = tlssocket(l, where)))
			goto fail;
	} else if (!(s = amqp_tcp_socket_new(l->conn))) {
		link_libfail(l, where, AMQP_STATUS_NO_MEMORY, 0);
		goto fail;
	}
	if ((st = amqp_socket_open_noblock(s, c->host, c->port, &tv)) != AMQP_STATUS_OK) {
		link_libfail(l, where, st, st == AMQP_STATUS_SOCKET_ERROR ?
		    connecterrno(c->host, c->port, c->connect_ms) : 0);
		goto fail;
	}
	amqp_set_handshake_timeout(l->conn, &tv);
	amqp_set_rpc_timeout(l->conn, &rpc);
	if (login(l) < 0)
		goto fail;
	amqp_channel_open(l->conn, CHAN);
	if (link_rpcok(l, "channel.open") < 0 || declare(l) < 0 || l->setup(l->owner) < 0)
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

/* The connection failed (l->msg says why): drop it; link_up reconnects. */
void
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
int
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
				ev_dur_format(ev_mono_ms() - l->downsince, d, sizeof d);
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
			ev_dur_format(l->cf.retry_ms, d, sizeof d);
			if (l->reported)
				ev_warn("%s: %s; gave up after retrying for %s", l->cf.name, l->msg.p, d);
			else
				ev_warn("%s: %s", l->cf.name, l->msg.p);
			errno = l->err;
			return -1;
		}
		if (!l->reported) {
			if (l->cf.retry_ms >= 0)
				ev_dur_format(l->cf.retry_ms, d, sizeof d);
			if (l->lost.len)
				ev_warn("%s: connection lost (%s); %s; retrying for up to %s", l->cf.name,
				    l->lost.p, l->msg.p, l->cf.retry_ms >= 0 ? d : "ever");
			else
				ev_warn("%s: %s; retrying for up to %s", l->cf.name, l->msg.p,
				    l->cf.retry_ms >= 0 ? d : "ever");
			l->reported = 1;
		}
		sleepms(ev_backoff_next(&delay, BACKOFF_MAX_MS, ev_mono_ms()));
	}
}

/* Close politely (the broker requeues what was not acked), then free. */
void
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

int
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
int
link_othermethod(struct link *l, amqp_frame_t *f)
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
		link_setfail(l, 1, ECONNRESET);
		return -1;
	default:
		return 0;
	}
}
