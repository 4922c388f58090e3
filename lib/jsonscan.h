/* jsonscan.h — a validating, allocation-free JSON scanner for one line.
 *
 * ev_json_scan() checks that a text is exactly one JSON value (RFC 8259,
 * strict: what JSONTestSuite's n_ cases reject, it rejects) and, in the
 * same pass, finds the values at a few paths without building a tree.
 * This is how the tools read .type, .id, .time and simple predicates
 * without libjq.
 */
#ifndef EV_JSONSCAN_H
#define EV_JSONSCAN_H
#include <stddef.h>
#include <stdint.h>

#include "mem.h"

enum ev_jtype {
	EV_J_MISSING = 0, /* the path leads nowhere (jq would say null) */
	EV_J_NULL, EV_J_FALSE, EV_J_TRUE, EV_J_NUMBER, EV_J_STRING, EV_J_ARRAY, EV_J_OBJECT
};

/* A value found in the text: its raw bytes (a string with its quotes). */
struct ev_jval {
	enum ev_jtype type;
	const char *p;
	size_t len;
	int escaped; /* a string holding a backslash escape */
};

struct ev_jerr {
	size_t off;      /* byte offset of the problem */
	const char *msg; /* static text */
};

/* A compiled path: ".a", ".a.b", ".items[0].sku", ".\"odd key\"", ".[\"k\"]". */
struct ev_jpath;

/* NULL if the text is not a path of that form (message in err). */
struct ev_jpath *ev_jpath_compile(const char *path, struct ev_buf *err);
void ev_jpath_free(struct ev_jpath *p);

/* Validate the whole text and fill vals[i] for paths[i]. 0: valid; -1: not
 * one JSON value (err says where and why; err may be NULL). */
int ev_json_scan(const char *p, size_t n, struct ev_jpath *const *paths, size_t npaths,
    struct ev_jval *vals, struct ev_jerr *err);
/* Only validate. */
int ev_json_valid(const char *p, size_t n, struct ev_jerr *err);

/* The decoded bytes of a string value, appended to out (escapes resolved). */
void ev_jval_str(const struct ev_jval *v, struct ev_buf *out);
/* Does a string value equal s (decoded comparison, no allocation)? */
int ev_jval_streq(const struct ev_jval *v, const char *s, size_t n);
/* A number value as a double (jq's own precision). */
double ev_jval_num(const struct ev_jval *v);

#endif
