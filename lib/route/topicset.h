/* SPDX-License-Identifier: ISC */
/* topicset.h — many topic patterns (topic.h) matched at once, through a
 * trie of words as a topic exchange does, so that a topic costs about the
 * same against a thousand patterns as against one.
 *
 * Each pattern is added with an id (a rule's number); a match gives the ids
 * of every pattern that matches, in ascending order, each once, exactly as
 * ev_topic_match on each pattern would (tests/unit/topic.c checks it).
 */
#ifndef EV_TOPICSET_H
#define EV_TOPICSET_H
#include <stddef.h>

#include "route/topic.h"

struct ev_topicset;

struct ev_topicset *ev_topicset_new(void);
/* t stays the caller's and must live as long as the set. */
void ev_topicset_add(struct ev_topicset *s, const struct ev_topic *t, size_t id);
size_t ev_topicset_count(const struct ev_topicset *s);
/* The ids of the patterns topic (n bytes) matches, ascending, into ids
 * (room for ev_topicset_count of them); their number. A NULL topic is one
 * that is absent (not a string): only the patterns that match everything
 * match it (ev_topic_matchall). No allocation. */
size_t ev_topicset_match(struct ev_topicset *s, const char *topic, size_t n, size_t *ids);
void ev_topicset_free(struct ev_topicset *s);

#endif
