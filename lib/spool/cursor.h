/* SPDX-License-Identifier: ISC */
/* cursor.h — a consumer's committed position in a spool (see ev-spool(5)).
 *
 * The file cursors/NAME holds one decimal byte offset and a newline. It is
 * replaced by write-temp + fsync + rename + fsync of the directory, so a
 * crash leaves the old position or the new one, never a mix. Each function
 * reports its failures, naming dir (the cursors directory, for messages)
 * and the operation.
 */
#ifndef EV_CURSOR_H
#define EV_CURSOR_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define EV_CURSOR_NAME_MAX 200

/* 1 if name may name a cursor (or a spool): no '/', no "..", not starting
 * with '.', no control characters, 1 to EV_CURSOR_NAME_MAX bytes. */
int ev_cursor_valid(const char *name);
/* Reports an invalid name and returns -1 (errno EINVAL); else 0. */
int ev_cursor_check(const char *name);
/* 1: found (*pos set); 0: no such cursor; -1: error. */
int ev_cursor_get(int dirfd, const char *dir, const char *name, uint64_t *pos);
/* Write atomically with file mode `mode`; fsyncs unless nosync. */
int ev_cursor_set(int dirfd, const char *dir, const char *name, uint64_t pos, mode_t mode,
    int nosync);
/* 0, or -1 (errno ENOENT when there is none; not reported then). */
int ev_cursor_delete(int dirfd, const char *dir, const char *name);
/* The names of all cursors, sorted; *names is a NULL-terminated array to
 * free with ev_cursor_list_free. -1 on error. */
int ev_cursor_list(int dirfd, const char *dir, char ***names, size_t *n);
void ev_cursor_list_free(char **names);

#endif
