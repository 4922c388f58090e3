/* SPDX-License-Identifier: ISC */
/* jcs.h — the JSON Canonicalization Scheme (RFC 8785): the one byte form of
 * a JSON value that signatures are made over (sign.h).
 *
 * The form, as RFC 8785 defines it:
 *  - no whitespace between tokens;
 *  - object members sorted by their names compared as UTF-16 code units;
 *  - strings with only '"', '\\' and U+0000..U+001F escaped: \b \t \n \f \r
 *    by name, the others as \u00xx (lowercase hex); everything else as raw
 *    UTF-8 (no \/, no \u for non-ASCII);
 *  - numbers as IEEE 754 doubles printed as ECMAScript's Number.toString
 *    prints them: the shortest digits that read back to the same double,
 *    an exponent only below 1e-6 or from 1e21 on ("1e+21"), -0 as 0;
 *  - literals true, false, null.
 * What it refuses (I-JSON, RFC 7493, which RFC 8785 builds on): a member
 * name twice in one object, a lone surrogate (escaped or not), invalid
 * UTF-8, a number beyond the range of a double, and anything that is not
 * JSON. Nesting deeper than EV_JSON_MAXDEPTH is refused as well, counted as
 * json/jsonscan.h counts it (an object two levels), so that whatever has a
 * canonical form is a line every reader accepts.
 */
#ifndef EV_JCS_H
#define EV_JCS_H
#include <stddef.h>

#include "base/buf.h"

struct ev_jcs; /* scratch space, reused from one call to the next */

struct ev_jcs *ev_jcs_new(void);
void ev_jcs_free(struct ev_jcs *j);

/* Append the canonical form of the JSON text p[0..n) to out. With skip,
 * the top-level value must be an object and its member of that name (if
 * any) is left out (the signature itself). 0; -1 with the reason in *why
 * (static text), out then holds a partial form. */
int ev_jcs(struct ev_jcs *j, struct ev_buf *out, const char *p, size_t n, const char *skip,
    const char **why);

#endif
