/* event.h — editing one event line without re-serialising it. */
#ifndef EV_EVENT_H
#define EV_EVENT_H
#include <stddef.h>

#include "mem.h"

/* Append to buf the JSON object in line with "name":json_value (JSON text:
 * "\"expired\"", "3") added as its last member; every other byte is kept as
 * it came. 0, or -1 when line is not one JSON object (buf is left as it was). */
int ev_event_addattr(struct ev_buf *buf, const char *line, size_t len, const char *name,
    const char *json_value);
/* The same, but the value of an existing top-level member of that name is
 * replaced where it stands. */
int ev_event_setattr(struct ev_buf *buf, const char *line, size_t len, const char *name,
    const char *json_value);

#endif
