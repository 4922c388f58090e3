/* SPDX-License-Identifier: ISC */
/* url.h — RabbitMQ locations: what an amqp:// or amqps:// location says.
 *
 *   amqp[s]://[user@]host[:port][/vhost][?name=value&...]
 *
 * The query names the exchange, queue, routing and binding keys and the
 * rest (ev-amqp(7) lists them). The password never comes from the command
 * line: EVKIT_AMQP_PASSWORD, or the file named by EVKIT_AMQP_PASSWORD_FILE;
 * one written in the location is refused unless EVKIT_AMQP_ALLOW_URL_PASSWORD=1.
 * The backend itself is link.c (the connection), sink.c (publish with
 * confirms) and source.c (consume with acks).
 */
#ifndef EV_AMQP_URL_H
#define EV_AMQP_URL_H
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/mem.h"

/* Where a stream consumer starts (x-stream-offset). */
enum ev_amqp_offkind { EV_AMQP_OFF_NONE, EV_AMQP_OFF_FIRST, EV_AMQP_OFF_LAST,
	EV_AMQP_OFF_NEXT, EV_AMQP_OFF_NUM, EV_AMQP_OFF_TIME };

struct ev_amqp_conf {
	char *name;            /* the location with any password hidden, for messages */
	char *host, *user, *vhost, *password;
	int port, tls;
	char *exchange, *exchange_type, *queue, *queue_type;
	char *routing_key, *routing_key_jq;
	char **bindings;
	size_t nbindings;
	int declare, mandatory, verify;
	char *cacertfile, *certfile, *keyfile;
	unsigned prefetch;
	int heartbeat;         /* seconds; 0 off */
	int64_t connect_ms;    /* one connection attempt */
	int64_t retry_ms;      /* how long to keep reconnecting; -1 forever */
	int64_t idle_ms;       /* --no-follow: this long without a message is the end */
	enum ev_amqp_offkind offkind;
	int64_t offset;        /* EV_AMQP_OFF_NUM: the offset; _TIME: Unix ms */
	int binary;            /* publish in the binary content mode (mode=binary) */
	unsigned max_priority; /* declare: x-max-priority, or 0 */
};

/* Is loc a broker location (amqp:// or amqps://)? */
int ev_amqp_is(const char *loc);
/* Parse a location for reading (sink 0) or publishing (sink 1), password
 * included. 0, or -1 with the reason in err (the caller names the location). */
int ev_amqp_parse(const char *url, int sink, struct ev_amqp_conf *c, struct ev_buf *err);
void ev_amqp_conf_free(struct ev_amqp_conf *c);
/* A copy of url with the password (if any) replaced by "****". */
char *ev_amqp_redact(const char *url);

#endif
