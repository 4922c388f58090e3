/* SPDX-License-Identifier: ISC */
/* watch.c — the one file that knows the platform's change notification.
 *
 * Linux: one inotify watch on the directory reports creation, deletion and
 * renames of its entries and modification of the files in it, so appends to
 * any segment of a spool, a roll-over and a rotated log all wake us.
 * BSD/macOS: kqueue EVFILT_VNODE on the directory (entries) and on the file
 * being read (writes, truncation, deletion).
 * Elsewhere, when the kernel refuses (e.g. out of inotify instances), or
 * when EVKIT_WATCH=poll asks for it (a network file system, where another
 * host's writes raise no notification): a timed sleep of EV_WATCH_POLL_MS,
 * so following still works, only with more latency.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/err.h"
#include "base/mem.h"
#include "base/sig.h"
#include "io/watch.h"

#if defined(__linux__)
#include <sys/inotify.h>
#define EV_INOTIFY 1
#elif defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__) || \
    defined(__NetBSD__) || defined(__DragonFly__)
#include <sys/event.h>
#include <sys/time.h>
#define EV_KQUEUE 1
#endif

struct ev_watch {
	int fd;      /* inotify or kqueue descriptor; -1: polling */
	int dirfd;   /* kqueue: the watched directory */
	int filefd;  /* kqueue: the watched file (not ours to close) */
};

int
ev_watch_polling(void)
{
	const char *e = getenv("EVKIT_WATCH");

	return e && strcmp(e, "poll") == 0;
}

struct ev_watch *
ev_watch_new(const char *dir)
{
	struct ev_watch *w = ev_malloc(sizeof *w);

	w->fd = w->dirfd = w->filefd = -1;
	if (ev_watch_polling())
		return w;
#if defined(EV_INOTIFY)
	if ((w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) >= 0 &&
	    inotify_add_watch(w->fd, dir, IN_MODIFY | IN_CREATE | IN_DELETE | IN_MOVED_FROM |
	    IN_MOVED_TO | IN_ATTRIB | IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF) < 0) {
		if (errno != ENOSPC) { /* ENOSPC: out of watches; poll instead */
			ev_warn("%s: cannot watch for changes:", dir);
			close(w->fd);
			free(w);
			return NULL;
		}
		close(w->fd);
		w->fd = -1;
	}
#elif defined(EV_KQUEUE)
	struct kevent ev;

	if ((w->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		ev_warn("%s: cannot watch for changes:", dir);
		free(w);
		return NULL;
	}
	if ((w->fd = kqueue()) >= 0) {
		EV_SET(&ev, w->dirfd, EVFILT_VNODE, EV_ADD | EV_CLEAR,
		    NOTE_WRITE | NOTE_EXTEND | NOTE_DELETE | NOTE_RENAME, 0, NULL);
		if (kevent(w->fd, &ev, 1, NULL, 0, NULL) < 0) {
			close(w->fd);
			w->fd = -1;
		}
	}
#else
	(void)dir;
#endif
	return w;
}

int
ev_watch_add(struct ev_watch *w, const char *dir)
{
	if (w->fd < 0)
		return 0;
#if defined(EV_INOTIFY)
	if (inotify_add_watch(w->fd, dir, IN_MODIFY | IN_CREATE | IN_DELETE | IN_MOVED_FROM |
	    IN_MOVED_TO | IN_ATTRIB | IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF) < 0) {
		ev_warn("%s: cannot watch for changes:", dir);
		return -1;
	}
	return 1;
#else
	(void)dir;
	return 0;
#endif
}

void
ev_watch_file(struct ev_watch *w, int fd)
{
#if defined(EV_KQUEUE)
	struct kevent ev;

	if (w->fd < 0 || fd == w->filefd)
		return;
	if (w->filefd >= 0) {
		EV_SET(&ev, w->filefd, EVFILT_VNODE, EV_DELETE, 0, 0, NULL);
		kevent(w->fd, &ev, 1, NULL, 0, NULL); /* it may be closed already */
	}
	EV_SET(&ev, fd, EVFILT_VNODE, EV_ADD | EV_CLEAR,
	    NOTE_WRITE | NOTE_EXTEND | NOTE_DELETE | NOTE_RENAME | NOTE_ATTRIB, 0, NULL);
	w->filefd = kevent(w->fd, &ev, 1, NULL, 0, NULL) == 0 ? fd : -1;
#else
	(void)w, (void)fd;
#endif
}

/* A signal the tool answers (sig.h) ends a wait early, as a timeout would. */
static int
sleepms(int timeout_ms)
{
	int t = timeout_ms < 0 || timeout_ms > EV_WATCH_POLL_MS ? EV_WATCH_POLL_MS : timeout_ms;
	struct pollfd p = { .fd = ev_sig_fd(), .events = POLLIN };

	if (poll(&p, 1, t) > 0 || ev_sig_pending)
		return 0;
	return timeout_ms < 0 || t < timeout_ms ? 1 : 0;
}

int
ev_watch_wait(struct ev_watch *w, int timeout_ms)
{
	if (w->fd < 0)
		return sleepms(timeout_ms);
#if defined(EV_INOTIFY)
	struct pollfd p[2] = { { .fd = w->fd, .events = POLLIN },
		{ .fd = ev_sig_fd(), .events = POLLIN } };
	char buf[4096];
	int n;

	while ((n = poll(p, 2, timeout_ms)) < 0)
		if (errno != EINTR)
			return -1;
	if (n == 0 || !p[0].revents)
		return 0;
	while (read(w->fd, buf, sizeof buf) > 0)
		; /* the events themselves do not matter: the caller looks again */
	return 1;
#elif defined(EV_KQUEUE)
	struct kevent ev[8];
	struct timespec ts = { timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000 };
	int n;

	while ((n = kevent(w->fd, NULL, 0, ev, 8, timeout_ms < 0 ? NULL : &ts)) < 0)
		if (errno != EINTR)
			return -1;
	return n > 0;
#else
	return sleepms(timeout_ms);
#endif
}

void
ev_watch_free(struct ev_watch *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	if (w->dirfd >= 0)
		close(w->dirfd);
	free(w);
}
