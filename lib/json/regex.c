/* SPDX-License-Identifier: ISC */
/* regex.c — jq 1.6's regex test on Oniguruma (see regex.h).
 *
 * jq 1.6 (src/builtin.c, f_match) compiles each regex with onig_new, UTF-8,
 * ONIG_SYNTAX_PERL_NG and ONIG_OPTION_CAPTURE_GROUP, plus one option per
 * modifier letter: g (global: no effect on a test), i IGNORECASE, x EXTEND,
 * m MULTILINE, s SINGLELINE, p MULTILINE|SINGLELINE, l FIND_LONGEST, n
 * FIND_NOT_EMPTY; any other letter is an error. test() is true when the
 * first onig_search over the whole string finds a match. We do the same.
 */
#include <oniguruma.h>
#include <stdlib.h>

#include "base/mem.h"
#include "json/regex.h"

struct ev_regex {
	regex_t *re;
};

struct ev_regex *
ev_regex_compile(const char *re, size_t n, const char *flags, size_t nflags,
    struct ev_buf *why)
{
	OnigOptionType opt = ONIG_OPTION_CAPTURE_GROUP;
	OnigErrorInfo einfo;
	regex_t *reg;

	ev_buf_reset(why);
	for (size_t i = 0; flags && i < nflags; i++) {
		switch (flags[i]) {
		case 'g': break;
		case 'i': opt |= ONIG_OPTION_IGNORECASE; break;
		case 'x': opt |= ONIG_OPTION_EXTEND; break;
		case 'm': opt |= ONIG_OPTION_MULTILINE; break;
		case 's': opt |= ONIG_OPTION_SINGLELINE; break;
		case 'p': opt |= ONIG_OPTION_MULTILINE | ONIG_OPTION_SINGLELINE; break;
		case 'l': opt |= ONIG_OPTION_FIND_LONGEST; break;
		case 'n': opt |= ONIG_OPTION_FIND_NOT_EMPTY; break;
		default:
			ev_buf_adds(why, "a modifier jq does not know");
			return NULL;
		}
	}
	int r = onig_new(&reg, (const UChar *)re, (const UChar *)re + n, opt, ONIG_ENCODING_UTF8,
	    ONIG_SYNTAX_PERL_NG, &einfo);
	if (r != ONIG_NORMAL) {
		UChar msg[ONIG_MAX_ERROR_MESSAGE_LEN];
		onig_error_code_to_str(msg, r, &einfo);
		ev_buf_printf(why, "a regex Oniguruma rejects (%s)", (const char *)msg);
		return NULL;
	}
	struct ev_regex *x = ev_calloc(1, sizeof *x);
	x->re = reg;
	return x;
}

void
ev_regex_free(struct ev_regex *r)
{
	if (!r)
		return;
	onig_free(r->re);
	free(r);
}

int
ev_regex_test(const struct ev_regex *r, const char *s, size_t n)
{
	const UChar *b = (const UChar *)s, *e = b + n;
	int m = onig_search(r->re, b, e, b, e, NULL, ONIG_OPTION_NONE);
	if (m >= 0)
		return 1;
	return m == ONIG_MISMATCH ? 0 : -1;
}
