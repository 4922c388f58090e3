/* SPDX-License-Identifier: ISC */
/* regex.h — jq 1.6's test(re; flags) for the fast path (json/pred.h): the
 * same engine (Oniguruma, which libjq links), the same syntax and options,
 * the regex compiled once instead of on every call. */
#ifndef EV_REGEX_H
#define EV_REGEX_H
#include <stddef.h>

#include "base/buf.h"

struct ev_regex;

/* The regex re (n bytes, decoded UTF-8, NULs allowed) with jq's modifier
 * string flags (NULL: test(re), or test(re; null)). NULL when jq would raise
 * an error for it: a modifier jq does not know, a regex Oniguruma rejects
 * (why says which, reset first). */
struct ev_regex *ev_regex_compile(const char *re, size_t n, const char *flags, size_t nflags,
    struct ev_buf *why);
void ev_regex_free(struct ev_regex *r);

/* Does the regex match somewhere in s (n bytes of valid UTF-8)? 1, 0, or -1
 * when Oniguruma gives up (a retry limit: jq raises an error there). No
 * allocation; safe from several threads on one regex. */
int ev_regex_test(const struct ev_regex *r, const char *s, size_t n);

#endif
