/* SPDX-License-Identifier: ISC */
/* props.h — AMQP message properties and headers to and from event
 * attributes: the CloudEvents AMQP protocol binding (binary and structured
 * content modes) and the common AMQP 0-9-1 basic properties. Pure, no I/O:
 * this is the mapping table of ev-amqp(7), tested in tests/unit/amqp.c.
 *
 *   attribute                 AMQP, publishing          AMQP, consuming
 *   id                        message_id                message_id
 *   type                      type                      type, else the routing key
 *   time                      timestamp (s)             timestamp
 *   source                    app_id                    app_id, else /amqp/QUEUE
 *   expirytime                expiration (ms from now)  timestamp (else now) + expiration
 *   evpriority, else priority priority (0-255)          priority -> evpriority
 *   correlationid             correlation_id            correlation_id
 *   replyto                   reply_to                  reply_to
 *   every attribute (binary)  cloudEvents_NAME header   cloudEvents_ / cloudEvents: /
 *                                                       ce_ / ce- / ce: NAME header
 *   extension                 -                         other header, not x-*: its name
 *                                                       lowercased, [a-z0-9] kept, 20 at most
 *
 * Consuming, the message's content type says the mode: application/
 * cloudevents... is structured (the body is the event, as it stands);
 * anything else is binary: the body is the data, the attributes come from
 * cloudEvents_* headers, and what they lack from the properties and the
 * other headers, then as evemit -f completes an event (specversion, id,
 * time). A body that is a JSON object with a "specversion" member and no
 * cloudEvents_ header is taken for a structured event sent without its
 * content type, and completed the same way.
 */
#ifndef EV_AMQP_PROPS_H
#define EV_AMQP_PROPS_H
#include <amqp.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

#define EV_AMQP_CE_CTYPE "application/cloudevents+json; charset=utf-8"
#define EV_AMQP_CE_PREFIX "cloudEvents_"

/* One message to publish, made from one event line; reused from event to
 * event (its memory is kept). */
struct ev_amqp_msg {
	amqp_basic_properties_t props;
	amqp_bytes_t body;
	/* private */
	struct ev_jpath **paths;
	struct ev_buf strs, data;
	amqp_table_entry_t *hdr;
	size_t caphdr;
};

/* Make m from the event line. Structured (binary 0): the body is the line,
 * the properties come from the attributes; a line that is not a JSON object
 * goes as it is with the content type alone. Binary: the body is the data,
 * every other attribute a cloudEvents_ header. now: wall-clock ms (for the
 * expiration). 0; -1 (binary mode only) when the line is not a JSON object. */
int ev_amqp_msg_make(struct ev_amqp_msg *m, const char *line, size_t len, int binary,
    int64_t now);
/* An upper bound of the size of m's encoded properties. */
size_t ev_amqp_msg_propsize(const struct ev_amqp_msg *m);
void ev_amqp_msg_free(struct ev_amqp_msg *m);

/* What a delivery says besides its body. */
struct ev_amqp_delivery {
	const amqp_basic_properties_t *props;  /* NULL: none */
	amqp_bytes_t routing_key;
	const char *queue;                     /* for the default source, or NULL */
};

/* Scratch memory for ev_amqp_event, reused. */
struct ev_amqp_scratch {
	struct ev_buf obj, vals, env;
};

/* The event a delivered message carries. 0: the body is the event as it
 * stands (structured mode; or a body whose content type says JSON but that
 * is not, which the tool then reports as bad input): nothing appended. 1:
 * the event, one line without its newline, appended to out. now: wall ms. */
int ev_amqp_event(const struct ev_amqp_delivery *d, const char *body, size_t len, int64_t now,
    struct ev_buf *out, struct ev_amqp_scratch *s);
void ev_amqp_scratch_free(struct ev_amqp_scratch *s);

#endif
