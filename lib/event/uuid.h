/* SPDX-License-Identifier: ISC */
/* uuid.h — UUIDv7 (RFC 9562): time-ordered, unique across processes. */
#ifndef EV_UUID_H
#define EV_UUID_H
#include <stdint.h>

/* Writes 36 characters and a NUL. Monotonic within a process. */
void ev_uuid7(char out[37]);
/* The same, at a given Unix millisecond (for tests and --time). */
void ev_uuid7_at(int64_t ms, char out[37]);

#endif
