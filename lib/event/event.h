/* SPDX-License-Identifier: ISC */
/* event.h — CloudEvents 1.0 envelopes, and edits of an event line that keep
 * its bytes: attributes are spliced in before the final '}', never by
 * parsing and re-serialising the event.
 *
 * The line functions expect one valid JSON text (check it first); on
 * anything else they fail cleanly rather than read out of bounds.
 */
#ifndef EV_EVENT_H
#define EV_EVENT_H
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/mem.h"
#include "json/jsonscan.h"

/* An extension attribute: its name and its value as JSON text. */
struct ev_attr {
	const char *name;
	const char *json;
	size_t len;
};

/* The envelope of the events to make. NULL members are left out, except id
 * (a new UUIDv7 for each event) and time (now, RFC 3339 UTC with ms). */
struct ev_envelope {
	const char *id, *source, *type, *subject, *time, *datacontenttype, *dataschema;
	const struct ev_attr *ext;
	size_t next;
};

/* A member of an object: the key as it stands between its quotes (escapes
 * and all), and the value's JSON text. */
struct ev_member {
	const char *k, *v;
	size_t klen, vlen;
};
/* Walk an object's top-level members: ev_event_members gives the start (NULL
 * when line is not an object); each ev_event_nextmember call gives 1 and the
 * next member, 0 at the end, -1 on a text that is not an object. */
const char *ev_event_members(const char *line, size_t len);
/* The source of events this tool makes: $EVKIT_SOURCE, else
 * "//HOSTNAME/PROG", a URI reference naming this host and tool. */
const char *ev_event_defsource(void);
int ev_event_nextmember(const char **pp, const char *end, struct ev_member *m);

/* Is name fit for an extension attribute: 1-20 lowercase ASCII letters or
 * digits, and not a name the spec reserves (id, data, ...)? 0, or -1 with
 * the reason in err. */
/* An event's time (.time, .expirytime, ...) from its scanned value: an RFC
 * 3339 string, as Unix ms in *ms: 0, or -1 when it is not one. tmp holds
 * the string when it has escapes. */
int ev_event_time(const struct ev_jval *v, struct ev_buf *tmp, int64_t *ms);
int ev_event_extname(const char *name, struct ev_buf *err);

/* Append one event (no newline): the envelope and, unless data is NULL,
 * "data": the JSON text data as it is. 0, or -1 when e has no id and none
 * could be made (event/uuid.h: reported, errno set; nothing appended). */
int ev_event_build(struct ev_buf *out, const struct ev_envelope *e, const char *data,
    size_t len);

/* Append line with the envelope attributes it lacks filled in from e
 * (specversion "1.0", id and time made as in ev_event_build). 0; -1 when
 * the line is not a JSON object or has no type and e gives none, or no id
 * could be made (*why says which). */
int ev_event_fill(struct ev_buf *out, const char *line, size_t len, const struct ev_envelope *e,
    const char **why);

/* The value of the top-level member name: 1 and its JSON text in *v, *vlen;
 * 0 when the object has no such member; -1 when line is not an object. */
int ev_event_getattr(const char *line, size_t len, const char *name, const char **v,
    size_t *vlen);
/* Append line with "name":json (json: a JSON text) added as its last member;
 * the caller makes sure it has none of that name. -1 when line is not an
 * object (nothing appended). */
int ev_event_addattr(struct ev_buf *out, const char *line, size_t len, const char *name,
    const char *json);
/* The same, but the value of a member of that name is replaced instead. */
int ev_event_setattr(struct ev_buf *out, const char *line, size_t len, const char *name,
    const char *json);

#endif
