/* SPDX-License-Identifier: ISC */
/* watch.h — wait until a directory or a file in it changes, without busy waiting.
 *
 * inotify on Linux, kqueue on the BSDs and macOS, and elsewhere (or when
 * EVKIT_WATCH=poll) a polling fallback that wakes every EV_WATCH_POLL_MS.
 * A wake-up means "look again":
 * callers re-read and re-stat, so a spurious one costs only a read(2).
 */
#ifndef EV_WATCH_H
#define EV_WATCH_H

#define EV_WATCH_POLL_MS 50

struct ev_watch;

/* 1 when the environment asks for polling (EVKIT_WATCH=poll). */
int ev_watch_polling(void);

/* Watch the entries of directory dir (created, deleted, renamed) and, where
 * the platform can, writes to the files in it. NULL after reporting why. */
struct ev_watch *ev_watch_new(const char *dir);
/* Also watch directory dir's entries (Linux: and the closing of files in it
 * that were open for writing, which is how a member's death shows). On
 * platforms where that cannot be watched, returns 0 and the caller waits
 * with a timeout of at most EV_WATCH_POLL_MS instead; 1 when watched; -1
 * error (reported). */
int ev_watch_add(struct ev_watch *w, const char *dir);
/* Also watch the contents of this open file (kqueue needs it per file;
 * inotify sees it through the directory). Replaces the previous one. */
void ev_watch_file(struct ev_watch *w, int fd);
/* 1: something may have changed; 0: timeout_ms passed (-1 waits for ever);
 * -1: error (errno). Pending notifications are consumed. */
int ev_watch_wait(struct ev_watch *w, int timeout_ms);
void ev_watch_free(struct ev_watch *w);

#endif
