/* SPDX-License-Identifier: ISC */
/* lock.h — who holds a cursor or a group membership: an flock(2) on a file
 * in the spool, which dies with its holder (a SIGKILLed reader never blocks
 * the next one). See the top of lock.c and ev-spool(5).
 */
#ifndef EV_SPOOL_LOCK_H
#define EV_SPOOL_LOCK_H
#include <sys/types.h>

/* Open (creating it with mode) dirfd/name, a regular file, and lock it
 * exclusively; then write our pid into it. Waits for the holder when wait
 * is set; else a lock held by another process fails at once with errno
 * EBUSY, and *holder (when not NULL) is the pid the holder wrote (0 when
 * unknown). Returns the descriptor that holds the lock (close it to let
 * go), or -1; dir is the directory's path, for messages, and only a
 * failure other than EBUSY is reported here. */
int ev_lock_take(int dirfd, const char *dir, const char *name, mode_t mode, int wait,
    pid_t *holder);
/* Is dirfd/name locked by a live process? 1 yes, 0 no (or no such file),
 * -1 error (reported). Takes and drops the lock to find out. */
int ev_lock_held(int dirfd, const char *dir, const char *name);
/* The pid written into dirfd/name by its holder, or 0. */
pid_t ev_lock_pid(int dirfd, const char *name);

/* The name of cursor NAME's lock file in cursors/: ".NAME.lock" (a cursor
 * name never starts with '.', so lock files are never taken for cursors). */
void ev_lock_cursorname(char *buf, size_t size, const char *cursor);

#endif
