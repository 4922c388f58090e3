/* SPDX-License-Identifier: ISC */
/* jqname.h — what jq 1.6 could read as a defined name, known without
 * starting libjq (which takes tens of milliseconds to compile anything). */
#ifndef EV_JQNAME_H
#define EV_JQNAME_H
#include <stddef.h>

/* Could name (n bytes) be a keyword of jq 1.6 or a function it defines
 * with no arguments? 1 for those, and for any name starting with '_'
 * (jq's own helpers); 0 for anything else. */
int ev_jqname_known(const char *name, size_t n);

/* Text t (n bytes) stands right after a binary operator of a jq program
 * that defines, includes and imports nothing. 0: that program cannot
 * compile, whatever came before the operator: t starts with a byte no
 * expression starts with ('/', '|'), is a lone '-', or starts (after any
 * "./" or "../") with a name that is not ev_jqname_known, a call of an
 * undefined function. 1: it might; ask libjq. */
int ev_jqname_maybe_operand(const char *t, size_t n);

#endif
