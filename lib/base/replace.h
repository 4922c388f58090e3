/* SPDX-License-Identifier: ISC */
/* replace.h — replace a small file atomically (cursors, a spool's SPOOL file). */
#ifndef EV_REPLACE_H
#define EV_REPLACE_H
#include <stddef.h>
#include <sys/types.h>

/* Write data as dirfd/name (dir names dirfd in messages): a temporary file
 * beside it, written, fsynced, renamed over name, then the directory
 * fsynced; with nosync, neither fsync. Readers see the old file or the new
 * one, never a mix, even after a crash. 0, or -1 with errno set after
 * reporting. */
int ev_replace(int dirfd, const char *dir, const char *name, const void *data, size_t len,
    mode_t mode, int nosync);

#endif
