/* SPDX-License-Identifier: ISC */
/* size.h — sizes in bytes as the tools' options take them ("4096", "64M", "1G"). */
#ifndef EV_SIZE_H
#define EV_SIZE_H
#include <stdint.h>

/* Decimal bytes with an optional binary suffix K, M, G or T (either case,
 * optionally followed by B). 0, or -1 for anything else or an overflow. */
int ev_size_parse(const char *s, uint64_t *bytes);

#endif
