/* SPDX-License-Identifier: ISC */
/* uuid.h — UUIDv7 (RFC 9562): time-ordered, unique across processes. */
#ifndef EV_UUID_H
#define EV_UUID_H
#include <stdint.h>

/* Writes 36 characters and a NUL. Monotonic within a process. 0, or -1
 * when the system gave no random bytes (reported, errno set). */
int ev_uuid7(char out[37]);
/* The same, at a given Unix millisecond (for tests and --time). */
int ev_uuid7_at(int64_t ms, char out[37]);

#endif
