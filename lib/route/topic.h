/* SPDX-License-Identifier: ISC */
/* topic.h — AMQP topic patterns, matched as a RabbitMQ topic exchange does.
 *
 * A topic (an event's type) is a list of words separated by '.'; words may
 * be empty ("a..b" has three words, "a." two) and the empty string has no
 * words at all. In a pattern, a word that is exactly '*' matches one word
 * and a word that is exactly '#' matches zero or more words; every other
 * word matches itself, byte for byte.
 *
 *   order.*        order.placed            not order, not order.a.b
 *   order.#        order, order.placed, order.a.b
 *   #.done         done, a.done, a.b.done
 *   order.#.done   order.done, order.x.done, order.x.y.done
 *   *.*            a.b, a. (two words, the second empty)
 *   #              everything, the empty string too
 */
#ifndef EV_TOPIC_H
#define EV_TOPIC_H
#include <stddef.h>

#include "base/buf.h"
#include "base/mem.h"

struct ev_topic;

/* NULL when a word mixes a wildcard with other characters ("order.*x",
 * "a#"): RabbitMQ would read such a word literally, which is almost never
 * what was meant. err gets the message and *col the 0-based offset. */
struct ev_topic *ev_topic_compile(const char *pattern, size_t len, struct ev_buf *err,
    size_t *col);
/* Does topic s (n bytes, need not be NUL-terminated) match? No allocation. */
int ev_topic_match(const struct ev_topic *t, const char *s, size_t n);
/* Does the pattern match every topic ("#", "#.#", ...)? */
int ev_topic_matchall(const struct ev_topic *t);
void ev_topic_free(struct ev_topic *t);

/* A compiled pattern's words, for an index of many patterns (topicset.h):
 * word i's kind, and for a literal its bytes. */
enum ev_topic_word { EV_TOPIC_LIT, EV_TOPIC_STAR, EV_TOPIC_HASH };
size_t ev_topic_nwords(const struct ev_topic *t);
enum ev_topic_word ev_topic_word(const struct ev_topic *t, size_t i, const char **p, size_t *len);

#endif
