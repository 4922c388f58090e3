/* SPDX-License-Identifier: ISC */
/* request.h — request/reply over a broker: a requester that publishes one
 * event and waits for its reply on RabbitMQ's direct reply-to, and a
 * replier that publishes replies to the queue (or reply-to address) an
 * event names. The shape, which evemit(1) and evretry(1) document:
 *
 *   requester: consume amq.rabbitmq.reply-to (no ack) on channel 1, then
 *     publish the request there with reply_to "amq.rabbitmq.reply-to" and
 *     correlation_id = its id (the broker gives the consumer a reply_to of
 *     amq.rabbitmq.reply-to.SOMETHING, which routes back to this channel);
 *     the first delivery whose correlation id is the request's is the reply.
 *   replier: publish the reply through the default exchange with the
 *     request's replyto as the routing key and its correlation id.
 */
#ifndef EV_AMQP_REQUEST_H
#define EV_AMQP_REQUEST_H
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

#define EV_AMQP_DIRECT_REPLY "amq.rabbitmq.reply-to"

/* Publish the event line (which carries replyto and correlationid) to the
 * location url and wait up to timeout_ms for the reply, appended to reply
 * as an event line. 0: a reply; 1: none in time; -1: a failure, reported,
 * with errno set. */
int ev_amqp_request(const char *url, const char *line, size_t len, const char *corrid,
    int64_t timeout_ms, struct ev_buf *reply);

struct ev_amqp_replier;
/* A connection to the broker of url (its query is ignored). NULL: reported. */
struct ev_amqp_replier *ev_amqp_replier_open(const char *url);
/* Publish the reply line to the queue or reply-to address `to`. 0, or -1
 * reported. */
int ev_amqp_reply(struct ev_amqp_replier *r, const char *to, const char *line, size_t len);
void ev_amqp_replier_close(struct ev_amqp_replier *r);

#endif
