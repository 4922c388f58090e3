/* SPDX-License-Identifier: ISC */
/* link.h — one broker connection with its channel, shared by the AMQP sink and
 * source (private to lib/amqp). */
#ifndef EV_AMQP_LINK_H
#define EV_AMQP_LINK_H
#include <amqp.h>
#include <stdint.h>

#include "amqp/url.h"
#include "base/buf.h"

#define CHAN 1
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

void link_setfail(struct link *l, int temp, int err);
void link_libfail(struct link *l, const char *what, int st, int syserr);
/* Describe a failed RPC (what: "login", "queue.declare", ...). */
void link_rpcfail(struct link *l, const char *what, amqp_rpc_reply_t r);
int link_rpcok(struct link *l, const char *what);
amqp_bytes_t link_bytes(const char *s);
/* The connection failed (l->msg says why): drop it; link_up reconnects. */
void link_lost(struct link *l);
/* Connect, with backoff while failures are temporary and `retry` lasts.
 * 0, or -1 reported, errno set (temporary: 111; permanent: 2). */
int link_up(struct link *l);
/* Close politely (the broker requeues what was not acked), then free. */
void link_close(struct link *l);
int link_init(struct link *l, const char *url, int sink, int (*setup)(void *), void *owner);
/* A method frame that is not the one we read for: the broker closing the
 * channel or the connection, or cancelling our consumer. -1: the link is
 * broken (l->msg says why); 0: nothing to do. */
int link_othermethod(struct link *l, amqp_frame_t *f);

#endif
