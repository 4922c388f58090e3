/* SPDX-License-Identifier: ISC */
/* key.h — the key of an event (evdedupe -k, evfold -k, evretry --key, an
 * AMQP sink's routing_key_jq): a jq expression, read by the scanner when it
 * is a plain path (.data.order_id), else run by libjq.
 *
 * A caller that scans the line for other paths anyway adds ev_key_path()'s
 * path to its own scan and hands the value found to ev_key_get(); a caller
 * that does not passes NULL and ev_key_get() runs jq. */
#ifndef EV_KEY_H
#define EV_KEY_H
#include <stddef.h>
#include "base/buf.h"
#include "json/jq.h"
#include "json/jsonscan.h"

struct ev_key;

/* NULL when libjq cannot compile expr (jq's message in err, reset first). */
struct ev_key *ev_key_compile(const char *expr, struct ev_buf *err);
void ev_key_free(struct ev_key *k);
/* The path the expression is, for the caller's scan; NULL when it is not
 * a plain path (then ev_key_get always runs jq). */
struct ev_jpath *ev_key_path(const struct ev_key *k);

enum ev_keyform {
	EV_KEY_JSON, /* the key's JSON text as jq -c prints it ("a", 1, {"b":2}) */
	EV_KEY_TEXT  /* a string decoded (a), any other value as EV_KEY_JSON */
};
/* The key of one event, appended to out (reset first). v is the value the
 * caller's scan found at ev_key_path(), or NULL to run jq. 1: a key; 0: the
 * event has none (null, a missing path, no output; out is then empty);
 * EV_JQ_BADINPUT or EV_JQ_RUNERR (json/jq.h) with jq's message in err. */
int ev_key_get(struct ev_key *k, const struct ev_jval *v, const char *line, size_t len,
    enum ev_keyform form, struct ev_buf *out, struct ev_buf *err);
/* The key CloudEvents identify an event by, its source and id (values the
 * caller's scan found at .source and .id), into out (reset first): each a
 * type tag, a 4-byte length and the decoded string or raw JSON, the source
 * first (tagged 'p') when there is one. 1, or 0 when there is no id. The
 * bytes are evdedupe's default key: its --state files hash them. */
int ev_key_sourceid(const struct ev_jval *source, const struct ev_jval *id, struct ev_buf *out);

#endif
