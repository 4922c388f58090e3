/* SPDX-License-Identifier: ISC */
/* reply.h — evretry's replies (--stdout reply): what a handler answers to a
 * request (an event with a replyto attribute) goes back to the requester
 * as an event with the request's correlation id.
 *
 *   reply: the handler's standard output (spawn mode), or the text after
 *     "ok " (co-process mode). A JSON object with a "type" is the reply
 *     event itself, completed as evemit -f completes it; anything else is
 *     the data (JSON, else a string) of an event of type TYPE.reply, TYPE
 *     being the request's. Its correlationid is the request's correlationid,
 *     else the request's id.
 *   where: replyto, the path of a spool that exists; or, when evretry
 *     reads a broker, a bare name (a queue, or the address RabbitMQ gives
 *     for direct reply-to) on that broker, by the default exchange. Nothing
 *     else: a request must not make evretry run a command, write a file of
 *     its choosing or log in to a broker of its choosing.
 */
#ifndef EV_RETRY_REPLY_H
#define EV_RETRY_REPLY_H
#include <stddef.h>

struct ev_reply;

/* input: evretry's input location (a broker's replies go back through
 * it); source: the source of the replies it makes. */
struct ev_reply *ev_reply_new(const char *input, const char *source);
/* Send the reply out[0..n) to the request req (an event line). 0: sent, or
 * the event asks for no reply; -1: it could not be sent (reported). */
int ev_reply_send(struct ev_reply *r, const char *req, size_t reqlen, const char *out, size_t n);
void ev_reply_free(struct ev_reply *r);

#endif
